"""`python main.py animate`: conversions, renders and one-line errors."""

from __future__ import annotations

import numpy as np
import pytest

from head360.anim.arkit_io import read_track, write_csv, write_json
from head360.anim.timeline import CameraKey, Keyframe, Timeline
from head360.arkit import index_of
from head360.export.video import read_video_frame_count
from main import main
from tests.anim.conftest import jaw_track


def _run(capsys, *argv):
    code = main(["animate", *map(str, argv)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_convert_live_link_csv_to_json_and_back(tmp_path, capsys):
    track = jaw_track(frames=6, fps=30.0)
    write_csv(track, tmp_path / "take.csv")
    code, out, _ = _run(capsys, "--weights", tmp_path / "take.csv", "--out", tmp_path / "take.json")
    assert code == 0 and "6 frames" in out
    back, report = read_track(tmp_path / "take.json")
    assert report.clean
    np.testing.assert_allclose(back.weights, track.weights, atol=1e-6)
    np.testing.assert_allclose(back.head_rotation, track.head_rotation, atol=1e-3)
    code, _, _ = _run(capsys, "--weights", tmp_path / "take.json", "--out", tmp_path / "again.csv")
    again, _ = read_track(tmp_path / "again.csv")
    np.testing.assert_allclose(again.weights, track.weights, atol=1e-6)
    code, _, _ = _run(capsys, "--weights", tmp_path / "take.csv", "--out", tmp_path / "60.json", "--fps", "60")
    faster, _ = read_track(tmp_path / "60.json")
    assert code == 0 and faster.fps == 60 and len(faster) == 11  # 5 intervals of 1/30 s at 60 fps


def test_import_problems_are_reported(tmp_path, capsys):
    (tmp_path / "x.csv").write_text(
        "Timecode,BlendShapeCount,JawOpen,Wobble\n00:00:00:00.000,2,1.5,0\n00:00:00:02.000,2,nan,0\n"
    )
    code, _, err = _run(capsys, "--weights", tmp_path / "x.csv", "--out", tmp_path / "x.json")
    assert code == 0
    assert "Wobble" in err and "51 blendshape(s) missing" in err and "clamped 1" in err and "NaN" in err


def test_render_weights_to_mp4(tiny_checkpoint, tmp_path, capsys):
    write_json(jaw_track(frames=4, fps=8.0), tmp_path / "w.json")
    out = tmp_path / "anim.mp4"
    code, text, err = _run(
        capsys, "--weights", tmp_path / "w.json", "--out", out, "--checkpoint", tiny_checkpoint,
        "--subject", "1", "--resolution", "32", "--quality", "preview", "--orbit",
    )  # fmt: skip
    assert code == 0, err
    assert read_video_frame_count(out) == (4, (32, 32)) and "4 frames" in text


def test_render_and_bake_a_timeline(tiny_checkpoint, tmp_path, capsys):
    tl = Timeline(duration=0.5, fps=6, loop=True)
    w = np.zeros(52, np.float32)
    w[index_of("jawOpen")] = 1.0
    tl.add(Keyframe(0.0, weights=np.zeros(52), camera=CameraKey(yaw=-30)))
    tl.add(Keyframe(0.2, weights=w, camera=CameraKey(yaw=30), hairstyle="none"))
    tl.save(tmp_path / "a.json")
    code, _, err = _run(
        capsys, "--animation", tmp_path / "a.json", "--out", tmp_path / "a.gif", "--checkpoint", tiny_checkpoint,
        "--subject", "1", "--resolution", "24", "--quality", "preview",
    )  # fmt: skip
    assert code == 0, err
    assert read_video_frame_count(tmp_path / "a.gif") == (3, (24, 24))
    code, _, _ = _run(capsys, "--animation", tmp_path / "a.json", "--out", tmp_path / "a.csv", "--fps", "12")
    baked, _ = read_track(tmp_path / "a.csv")
    assert len(baked) == 6 and baked.weight("jawOpen").max() > 0.9 and baked.weight("jawOpen")[0] == 0


@pytest.mark.parametrize(
    "args, message",
    [
        (["--weights", "{d}/w.json", "--out", "{d}/a.mp4", "--checkpoint", "{d}/none.safetensors"], "not found"),
        (["--weights", "{d}/w.json", "--out", "{d}/a.avi"], "must end in"),
        (["--weights", "{d}/missing.csv", "--out", "{d}/w.json"], "not found"),
        (["--weights", "{d}/bad.csv", "--out", "{d}/w.json"], "not a Live Link Face CSV"),
        (["--animation", "{d}/w.json", "--out", "{d}/a.csv"], "not a Head360 animation"),
        (["--video", "{d}/bad.mp4", "--out", "{d}/w.json"], "not a readable video"),
        (["--weights", "{d}/w.json", "--out", "{d}/a.mp4", "--checkpoint", "{d}/w.json"], "checkpoint"),
        (["--weights", "{d}/w.json", "--out", "{d}/a.mp4", "--checkpoint", "{ckpt}", "--hairstyle", "mohawk-x"],
         "unknown hairstyle"),
        (["--weights", "{d}/w.json", "--out", "{d}/a.mp4", "--fps", "0"], "--fps"),
    ],
)  # fmt: skip
def test_bad_input_gives_one_line_and_a_nonzero_exit(tmp_path, capsys, tiny_checkpoint, args, message):
    write_json(jaw_track(frames=3), tmp_path / "w.json")
    (tmp_path / "bad.csv").write_text("frame,jaw\n0,1\n")
    (tmp_path / "bad.mp4").write_bytes(b"this is not a video")
    argv = [a.format(d=tmp_path, ckpt=tiny_checkpoint) for a in args]
    code, _, err = _run(capsys, *argv)
    assert code == 1
    lines = [ln for ln in err.strip().splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and message in lines[0], err
    assert "Traceback" not in err
    assert not (tmp_path / "a.mp4").exists()
