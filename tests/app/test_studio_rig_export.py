"""The Export tab's rig button (a real click): it writes the current head as a glTF rig that passes the
glTF validator and carries the 52 ARKit morph targets, with the viewport's expression as the default
weights, while the window keeps drawing."""

from __future__ import annotations

import numpy as np
import pytest

from tests.app.conftest import run_driver
from tests.export.test_rig import validate

pytestmark = pytest.mark.gui

DRIVER = r"""
import time
import dearpygui.dearpygui as dpg
from harness import wait_frame, wait_until, frames, item_center, click


def drive(studio, report):
    yield from wait_frame(studio)
    studio.show_tab("Export")
    yield from frames(3)
    studio.set_blend_weights({"jawOpen": 0.5})
    yield from wait_frame(studio)
    x, y = item_center("export_rig_button")
    yield from click(x, y)
    yield from wait_until(lambda: studio.export.job is not None, 10, "the rig export to start")
    job = studio.export.job
    periods = []
    while not job.done:
        t = time.perf_counter()
        yield
        periods.append(time.perf_counter() - t)
    yield from frames(2)
    report["job_error"] = None if job.error is None else str(job.error)
    report["path"] = dpg.get_value("export_last_path")
    report["message"] = dpg.get_value("export_message")
    report["ui_frames"] = len(periods)
"""


def test_export_tab_writes_the_current_head_as_a_rig(xvfb_display, tiny_checkpoint, tmp_path):
    from pygltflib import GLTF2

    from head360.arkit import ARKIT_NAMES, INDEX

    r = run_driver(xvfb_display, tiny_checkpoint, tmp_path, DRIVER)
    assert r["job_error"] is None and r["path"].endswith(".glb"), r
    assert r["ui_frames"] >= 5  # the window kept drawing during the export
    validate(r["path"])
    g = GLTF2().load(r["path"])
    head = next(m for m in g.meshes if m.name == "head")
    assert head.extras["targetNames"] == list(ARKIT_NAMES)
    assert all(len(p.targets) == 52 for p in head.primitives)
    assert np.isclose(head.weights[INDEX["jawOpen"]], 0.5)
