"""Exports from the studio (a real click on the Export button, and the panel's actions): each writes a file
that reloads (OBJ through trimesh, mp4 and GIF frame counts, PNG size), in the background with progress,
while the window keeps drawing frames."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tests.app.conftest import run_driver

pytestmark = pytest.mark.gui

DRIVER = r"""
import time
import dearpygui.dearpygui as dpg
from harness import wait_frame, wait_until, frames, item_center, click


def drive(studio, report):
    yield from wait_frame(studio)
    studio.show_tab("Export")
    yield from frames(3)
    dpg.set_value("export_mesh_resolution", 40)
    dpg.set_value("export_video_frames", 6)
    dpg.set_value("export_video_resolution", 64)
    dpg.set_value("export_video_fps", 12.0)
    dpg.set_value("export_shot_resolution", 96)
    studio.set_blend_weights({"jawOpen": 0.5})
    exports = {}
    periods = []

    def run_export(name, start):
        start()
        job = studio.export.job
        progress = []
        while not job.done:
            t = time.perf_counter()
            yield
            periods.append(time.perf_counter() - t)
            progress.append(dpg.get_value("export_progress"))
        yield from frames(2)
        exports[name] = {
            "error": job.error,
            "path": dpg.get_value("export_last_path") if job.error is None else None,
            "max_progress": max(progress) if progress else None,
            "message": dpg.get_value("export_message"),
        }

    # the mesh export through a real click on its button
    x, y = item_center("export_mesh_button")
    yield from click(x, y)
    yield from wait_until(lambda: studio.export.job is not None, 10, "the export to start")
    job = studio.export.job
    yield from wait_until(lambda: job.done, 120, "the mesh export")
    yield from frames(2)
    exports["obj"] = {"error": job.error, "path": dpg.get_value("export_last_path")}

    dpg.set_value("export_mesh_format", "glb")
    dpg.set_value("export_mesh_hair", False)
    yield from run_export("glb", studio.export._on_export_mesh)
    yield from run_export("mp4", studio.export._on_export_video)
    dpg.set_value("export_video_format", "gif")
    dpg.set_value("export_video_frames", 4)
    yield from run_export("gif", studio.export._on_export_video)
    yield from run_export("png", studio.export._on_screenshot)
    studio.set_mode("mesh")
    yield from wait_frame(studio)
    yield from run_export("mesh_png", studio.export._on_screenshot)

    # an export into a folder that cannot be written fails with a message, and the studio carries on
    dpg.set_value("export_folder", "/proc/no-such-dir")
    studio.run_action(studio.export._on_export_mesh)  # what a click does
    yield from frames(3)
    report["bad_folder_status"] = [studio.status_bar.error, dpg.get_value("status_text")]
    report["exports"] = exports
    report["max_ui_period_s"] = max(periods) if periods else None
    report["ui_frames_during_exports"] = len(periods)
"""


def test_exports_write_files_that_reload(xvfb_display, tiny_checkpoint, tmp_path):
    import trimesh

    from head360.export.video import read_video_frame_count

    r = run_driver(xvfb_display, tiny_checkpoint, tmp_path, DRIVER)
    e = r["exports"]
    for name, info in e.items():
        assert info["error"] is None, f"{name}: {info}"
    # the window keeps drawing while exports run in the background
    assert r["ui_frames_during_exports"] >= 10 and r["max_ui_period_s"] < 2.0
    obj = trimesh.load(e["obj"]["path"], process=False, force="mesh")
    assert e["obj"]["path"].endswith(".obj") and len(obj.vertices) > 100 and len(obj.faces) > 100
    assert np.all(np.abs(obj.vertices) <= 1.6 + 1e-4)
    glb = trimesh.load(e["glb"]["path"], process=False, force="mesh")
    assert len(glb.faces) > 100
    assert read_video_frame_count(e["mp4"]["path"]) == (6, (64, 64))
    assert read_video_frame_count(e["gif"]["path"]) == (4, (64, 64))
    for name in ("png", "mesh_png"):
        with Image.open(e[name]["path"]) as im:
            assert im.size == (96, 96)
            assert np.asarray(im).std() > 2.0
    assert e["mp4"]["max_progress"] is not None and e["mp4"]["max_progress"] > 0.3
    assert r["bad_folder_status"][0] and "/proc/no-such-dir" in r["bad_folder_status"][1]
