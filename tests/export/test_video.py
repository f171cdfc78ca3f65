import numpy as np
import pytest
import torch

from head360.errors import Head360Error
from head360.export.video import read_video_frame_count, turntable_frames, write_video
from tests.model.conftest import codes


def _frames(n, size=(48, 64)):
    for i in range(n):
        f = np.zeros((*size, 3), np.uint8)
        f[:, : (i + 1) * 4] = (255, 120, 30)
        yield f


@pytest.mark.parametrize("suffix", [".mp4", ".gif"])
def test_video_reads_back_with_the_requested_frames(tmp_path, suffix):
    out = tmp_path / f"turn{suffix}"
    assert write_video(_frames(9), out, fps=12) == 9
    n, size = read_video_frame_count(out)
    assert n == 9 and tuple(size) == (64, 48)


def test_failed_write_leaves_nothing_and_bad_names_are_refused(tmp_path):
    def broken():
        yield from _frames(3)
        raise RuntimeError("render failed")

    out = tmp_path / "turn.mp4"
    with pytest.raises(RuntimeError):
        write_video(broken(), out)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(Head360Error, match="videos can be"):
        write_video(_frames(2), tmp_path / "turn.avi")


def test_turntable_of_a_head(generator, tmp_path):
    t, s, b = codes(generator)
    with torch.no_grad():
        planes = generator.planes(t, s, b, "short")
    seen = []
    frames = list(turntable_frames(generator, planes, frames=5, resolution=32, progress=seen.append))
    assert len(frames) == 5 and frames[0].shape == (32, 32, 3) and sum(seen) == 5
    assert np.abs(frames[0].astype(int) - frames[2].astype(int)).mean() > 0.5  # the head turned
    assert write_video(iter(frames), tmp_path / "t.mp4", fps=5) == 5


def test_gif_plays_at_the_asked_frame_rate(tmp_path):
    from PIL import Image, ImageSequence

    out = tmp_path / "turn.gif"
    assert write_video(_frames(12), out, fps=12) == 12
    with Image.open(out) as im:
        durations = [frame.info["duration"] for frame in ImageSequence.Iterator(im)]
    assert len(durations) == 12 and sum(durations) == 1000  # 12 frames at 12 fps last one second
    assert all(d % 10 == 0 for d in durations)  # GIF delays are whole hundredths


@pytest.mark.parametrize("name, fps", [("a.mp4", 1e-9), ("a.mp4", float("nan")), ("a.gif", 60.0), ("a.mp4", 1e4)])
def test_rates_a_format_cannot_carry_are_refused(tmp_path, name, fps):
    with pytest.raises(Head360Error, match="--fps must be between"):
        write_video(_frames(3), tmp_path / name, fps=fps)
    assert list(tmp_path.iterdir()) == []


def test_an_encoder_that_writes_nothing_leaves_no_file(tmp_path, monkeypatch):
    import imageio_ffmpeg

    def silent_ffmpeg(*args, **kwargs):  # accepts every frame, writes no byte (as ffmpeg does on a bad rate)
        while True:
            yield

    monkeypatch.setattr(imageio_ffmpeg, "write_frames", silent_ffmpeg)
    with pytest.raises(Head360Error, match="ffmpeg wrote nothing"):
        write_video(_frames(3), tmp_path / "a.mp4", fps=12)
    assert list(tmp_path.iterdir()) == []


def _ffprobe(path, *args) -> dict:
    import json
    import shutil
    import subprocess

    if shutil.which("ffprobe") is None:
        pytest.fail("ffprobe is not installed: run `make system-deps` (Debian's ffmpeg package)")
    proc = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", *args, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_mp4_reads_in_ffprobe_as_h264_at_the_asked_rate_and_streams(tmp_path):
    out = tmp_path / "turn.mp4"
    assert write_video(_frames(24, size=(48, 64)), out, fps=12) == 24
    info = _ffprobe(out, "-count_frames", "-show_streams", "-show_format")
    (stream,) = info["streams"]
    assert stream["codec_name"] == "h264" and stream["pix_fmt"] == "yuv420p"
    assert (stream["width"], stream["height"]) == (64, 48)
    assert stream["avg_frame_rate"] == "12/1" and int(stream["nb_read_frames"]) == 24
    assert float(info["format"]["duration"]) == pytest.approx(2.0, abs=0.01)
    data = out.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat"), "the index (moov) must come first for streaming"
