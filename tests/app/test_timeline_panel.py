"""The studio's Timeline tab under Xvfb: keyframes drive the viewport (expression and camera), scrubbing
interpolates, playback advances, ARKit CSV export / import round-trips (a Live Link Face CSV dropped on
the window through X lands on the timeline), an animation file reopens, the animation video is written
in the background with the right frame count, and a mistake leaves the studio running."""

from __future__ import annotations

import pytest

from tests.app.conftest import run_driver

pytestmark = pytest.mark.gui

DRIVER = r"""
import time
from pathlib import Path
import numpy as np
import dearpygui.dearpygui as dpg
from harness import wait_frame, wait_until, frames, texture, file_drop
from head360.arkit import INDEX
from head360.anim.arkit_io import read_track
from head360.export.video import read_video_frame_count


def drive(studio, report):
    tl = studio.timeline
    jaw = INDEX["jawOpen"]
    yield from wait_frame(studio)
    studio.show_tab("Timeline")
    yield from frames(2)
    # key 0: neutral, front camera; key at 1 s: jaw open, camera at the subject's left side
    dpg.set_value("tl_ch_camera", True)
    studio.set_blend_weights({"jawOpen": 0.0})
    studio.view.yaw = 0.0
    tl._on_add()
    tl._on_scrub("tl_time", 1.0)
    studio.set_blend_weights({"jawOpen": 1.0})
    studio.view.yaw = 90.0
    tl._on_add()
    report["keys"] = dpg.get_item_configuration("tl_keys")["items"]
    # scrub half way: interpolated expression (slider follows) and camera, and the view renders it
    yield from wait_frame(studio)
    at_key = texture()
    tl._on_scrub("tl_time", 0.5)
    yield from wait_frame(studio)
    report["mid_jaw"] = float(studio.head.blend_weights[jaw])
    report["mid_slider"] = float(dpg.get_value("blend_jawOpen"))
    report["mid_yaw"] = float(studio.view.yaw)
    report["mid_view_change"] = float(np.abs(texture() - at_key).mean())
    # play: time advances and the head follows; pause stops
    tl._on_scrub("tl_time", 0.0)
    tl._on_play()
    seen = set()
    end = time.time() + 1.5
    while time.time() < end:
        seen.add(round(float(studio.head.blend_weights[jaw]), 3))
        yield
    tl._on_play()
    report["played_time"] = tl.time
    report["distinct_jaw_values_while_playing"] = len(seen)
    report["playing_after_pause"] = tl.playing
    # ARKit CSV out, then dropped back on the window (XDND) as a performance
    tl._on_export_arkit("tl_export_csv", None, "csv")
    csv_path = Path(dpg.get_value("tl_last_path"))
    track, _ = read_track(csv_path)
    report["csv_frames"] = len(track)
    report["csv_jaw_max"] = float(track.weight("jawOpen").max())
    report["frame_count"] = tl.timeline.frame_count
    tl._on_save()
    anim_path = Path(dpg.get_value("tl_last_path"))
    report["drop"] = yield from file_drop([csv_path])
    yield from wait_until(lambda: len(tl.timeline.keys) > 2, 30, "the dropped CSV on the timeline")
    report["keys_after_csv_drop"] = len(tl.timeline.keys)
    report["tab_after_drop"] = dpg.get_value("tabs")
    studio.open_path(anim_path)
    report["keys_after_reopen"] = len(tl.timeline.keys)
    # the animation video, in the background
    dpg.set_value("tl_video_resolution", 48)
    dpg.set_value("tl_video_format", "mp4")
    studio.set_quality("preview")
    tl._on_export_video()
    yield from wait_until(lambda: tl.job is not None and tl.job.done, 300, "the video export")
    report["video_error"] = tl.job.error
    video = Path(dpg.get_value("tl_last_path"))
    report["video_name"] = video.name
    report["video_frames"] = read_video_frame_count(video)[0] if video.suffix == ".mp4" else None
    # a mistake: shown in the status line, the studio keeps running
    tl.selected = None
    studio.run_action(tl._on_delete)
    yield from frames(2)
    report["status_after_mistake"] = studio.status_bar.message
"""


def test_timeline_panel(xvfb_display, tiny_checkpoint, tmp_path):
    r = run_driver(xvfb_display, tiny_checkpoint, tmp_path, DRIVER, timeout=600)
    assert len(r["keys"]) == 2 and "expr, cam" in r["keys"][1]
    assert 0.2 < r["mid_jaw"] < 0.8 and r["mid_slider"] == pytest.approx(r["mid_jaw"], abs=1e-3)
    assert r["mid_yaw"] == pytest.approx(45.0, abs=1.0)
    assert r["mid_view_change"] > 0.0
    assert r["played_time"] > 0.3 and r["distinct_jaw_values_while_playing"] >= 3
    assert not r["playing_after_pause"]
    assert r["csv_frames"] == r["frame_count"] and r["csv_jaw_max"] > 0.95
    assert "finished=True" in r["drop"]
    assert r["keys_after_csv_drop"] == r["csv_frames"] and r["tab_after_drop"] == "tab_Timeline"
    assert r["keys_after_reopen"] == 2
    assert r["video_error"] is None, r["video_error"]
    assert r["video_name"].endswith(".mp4") and r["video_frames"] == r["frame_count"]
    assert "select a key" in r["status_after_mistake"]
