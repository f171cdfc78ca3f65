"""The studio's Timeline tab under Xvfb: keyframes drive the viewport (expression and camera), scrubbing
interpolates, playback advances, ARKit CSV export / import round-trips, an animation file reopens, and
the animation video is written in the background with the right frame count."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.gui

REPO = Path(__file__).resolve().parents[2]

RUNNER = r"""
import json, sys, time, traceback
from pathlib import Path
import numpy as np

checkpoint, export_dir, report_path = sys.argv[1:4]
report = {}


def frames(n):
    for _ in range(n):
        yield


def wait_until(pred, timeout=120.0, what="condition"):
    end = time.time() + timeout
    while not pred():
        if time.time() > end:
            raise TimeoutError(f"timed out waiting for {what}")
        yield


def drive(studio):
    import dearpygui.dearpygui as dpg
    from head360.arkit import INDEX
    from head360.anim.arkit_io import read_track
    from head360.export.video import read_video_frame_count

    tl = studio.timeline
    jaw = INDEX["jawOpen"]
    yield from wait_until(lambda: studio.last_result is not None, what="first frame")
    studio.show_tab("Timeline")
    yield from frames(2)
    # key 0: neutral, front camera
    dpg.set_value("tl_ch_camera", True)
    studio.set_blend_weights({"jawOpen": 0.0})
    studio.view.yaw = 0.0
    tl._on_add()
    # key at 1 s: jaw open, camera at the subject's left side
    tl._on_scrub("tl_time", 1.0)
    studio.set_blend_weights({"jawOpen": 1.0})
    studio.view.yaw = 90.0
    tl._on_add()
    report["keys"] = dpg.get_item_configuration("tl_keys")["items"]
    # scrub half way: interpolated expression and camera, slider shows it
    tl._on_scrub("tl_time", 0.5)
    yield from frames(2)
    report["mid_jaw"] = float(studio.head.blend_weights[jaw])
    report["mid_slider"] = float(dpg.get_value("blend_jawOpen"))
    report["mid_yaw"] = float(studio.view.yaw)
    # play: time advances and the head follows
    tl._on_scrub("tl_time", 0.0)
    t_before = tl.time
    tl._on_play()
    seen = set()
    end = time.time() + 1.5
    while time.time() < end:
        seen.add(round(float(studio.head.blend_weights[jaw]), 3))
        yield
    tl._on_play()  # pause
    report["played_time"] = tl.time - t_before
    report["distinct_jaw_values_while_playing"] = len(seen)
    report["playing_after_pause"] = tl.playing
    # ARKit CSV out and back in
    tl._on_export_arkit("tl_export_csv", None, "csv")
    csv_path = Path(dpg.get_value("tl_last_path"))
    track, _ = read_track(csv_path)
    report["csv_frames"] = len(track)
    report["csv_jaw_max"] = float(track.weight("jawOpen").max())
    report["frame_count"] = tl.timeline.frame_count
    tl._on_save()
    anim_path = Path(dpg.get_value("tl_last_path"))
    studio.open_path(csv_path)  # a dropped Live Link Face CSV lands on the timeline
    report["keys_after_csv_import"] = len(tl.timeline.keys)
    studio.open_path(anim_path)  # the saved animation reopens
    report["keys_after_reopen"] = len(tl.timeline.keys)
    # export the animation video in the background
    dpg.set_value("tl_video_resolution", 48)
    dpg.set_value("tl_video_format", "mp4")
    studio.set_quality("preview")
    tl._on_export_video()
    yield from wait_until(lambda: tl.job is not None and tl.job.done, 300, "the video export")
    report["video_error"] = tl.job.error
    video = Path(dpg.get_value("tl_last_path"))
    report["video_name"] = video.name
    report["video_frames"] = read_video_frame_count(video)[0] if video.suffix == ".mp4" else None
    report["message"] = dpg.get_value("tl_message")
    # a bad action shows an error and the studio keeps running
    tl.selected = None
    try:
        tl._on_delete()
    except Exception as e:
        report["delete_without_selection"] = str(e)
    report["finished"] = True


def driver(studio):
    try:
        yield from drive(studio)
    except Exception:
        report["error"] = traceback.format_exc()


from app.studio import StudioOptions, run_studio

code = run_studio(StudioOptions(checkpoint=checkpoint, export_dir=Path(export_dir), driver=driver, display_size=128))
Path(report_path).write_text(json.dumps(report))
sys.exit(code)
"""


def _free_display() -> int:
    for n in range(420, 700):
        if not Path(f"/tmp/.X{n}-lock").exists() and not Path(f"/tmp/.X11-unix/X{n}").exists():
            return n
    raise RuntimeError("no free X display number")


@pytest.fixture(scope="module")
def display():
    if shutil.which("Xvfb") is None:
        pytest.fail("Xvfb is not installed (make system-deps)", pytrace=False)
    n = _free_display()
    proc = subprocess.Popen(
        ["Xvfb", f":{n}", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    end = time.time() + 10
    while time.time() < end and proc.poll() is None and not Path(f"/tmp/.X11-unix/X{n}").exists():
        time.sleep(0.05)
    if proc.poll() is not None:
        pytest.fail("could not start Xvfb", pytrace=False)
    try:
        yield f":{n}"
    finally:
        proc.terminate()
        proc.wait(5)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    from head360.model.init_checkpoint import init_checkpoint
    from tests.model.standin import standin_mesh_model

    folder = tmp_path_factory.mktemp("timeline-model")
    standin_mesh_model(2).save(folder / "mesh.safetensors")
    init_checkpoint(
        "tiny",
        str(folder / "mesh.safetensors"),
        str(folder / "tiny.safetensors"),
        subjects=2,
        hairstyles=("short", "long", "curly"),
    )
    return folder / "tiny.safetensors"


def test_timeline_panel(display, checkpoint, tmp_path):
    runner = tmp_path / "runner.py"
    runner.write_text(textwrap.dedent(RUNNER))
    report_path = tmp_path / "report.json"
    env = dict(os.environ, DISPLAY=display, OMP_NUM_THREADS="2")
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    cmd = [sys.executable, str(runner), str(checkpoint), str(tmp_path / "exports"), str(report_path)]
    proc = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    assert proc.returncode == 0 and report.get("finished"), (
        f"exit {proc.returncode}\n{report.get('error', '')}\n{proc.stderr[-4000:]}"
    )
    assert len(report["keys"]) == 2 and "expr, cam" in report["keys"][1]
    assert 0.2 < report["mid_jaw"] < 0.8 and report["mid_slider"] == pytest.approx(report["mid_jaw"], abs=1e-3)
    assert report["mid_yaw"] == pytest.approx(45.0, abs=1.0)
    assert report["played_time"] > 0.3 and report["distinct_jaw_values_while_playing"] >= 3
    assert not report["playing_after_pause"]
    assert report["csv_frames"] == report["frame_count"] and report["csv_jaw_max"] > 0.95
    assert report["keys_after_csv_import"] == report["csv_frames"]
    assert report["keys_after_reopen"] == 2
    assert report["video_error"] is None, report["video_error"]
    assert report["video_name"].endswith(".mp4") and report["video_frames"] == report["frame_count"]
    assert "select a key" in report["delete_without_selection"]
