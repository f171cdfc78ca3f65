"""The studio under Xvfb, driven through real X input (xdotool) and the DearPyGui API: the displayed
texture changes when the camera moves or jawOpen moves, a camera move reuses the planes, the low-res
preview is labelled while dragging, stale requests are dropped, and a failing action leaves the studio
running with the error in the window."""

from __future__ import annotations

import pytest

from tests.app.conftest import run_driver

pytestmark = pytest.mark.gui

DRIVER = r"""
import numpy as np
import dearpygui.dearpygui as dpg
from harness import wait_frame, wait_until, frames, texture, item_center, item_rect, drag, click, mouse_move
from head360.arkit import INDEX


def drive(studio, report):
    first = yield from wait_frame(studio)
    base = texture()
    report["first_frame_std"] = float(base[..., :3].std())
    report["first_quality"] = first.request.quality
    planes_before = studio.worker._planes

    # --- orbit with a real left-drag on the viewport image
    x, y, w, h = item_rect("viewport_image")
    cx, cy = x + w // 2, y + h // 2
    labels = []
    interactive_seen = []

    def watch():
        r = studio.last_result
        if r is not None:
            interactive_seen.append(r.request.interactive)
            labels.append(dpg.get_value("view_preview_label"))

    g = drag(cx, cy, cx + 160, cy + 40)
    for _ in g:
        watch()
        yield
    report["yaw_after_drag"] = studio.view.yaw
    report["pitch_after_drag"] = studio.view.pitch
    rest = yield from wait_frame(studio)
    watch()
    report["camera_frame_planes_ms"] = rest.planes_ms
    report["planes_reused"] = studio.worker._planes is planes_before
    report["rest_interactive"] = rest.request.interactive
    report["rest_label"] = dpg.get_value("view_preview_label")
    report["preview_label_seen"] = any("PREVIEW" in t for t in labels)
    report["interactive_seen"] = any(interactive_seen)
    orbit_tex = texture()
    report["orbit_change"] = float(np.abs(orbit_tex - base).mean())

    # --- pan (right drag), zoom (wheel), reset (double-click)
    target0 = studio.view.target
    yield from drag(cx, cy, cx + 60, cy + 30, button=3)
    report["pan_moved"] = studio.view.target != target0
    r0 = studio.view.radius
    yield from click(cx, cy, button=4, repeat=3)
    report["zoom_in"] = studio.view.radius < r0
    yield from click(cx, cy, button=1, repeat=2)
    v = studio.view
    report["reset_after_double_click"] = [v.yaw, v.pitch, v.radius, list(v.target)]
    yield from wait_frame(studio)
    front = texture()
    planes_front = studio.worker._planes

    # --- jawOpen: move the real slider with the mouse
    sx, sy, sw, sh = item_rect("blend_jawOpen")
    yield from drag(sx + 3, sy + sh // 2, sx + sw - 2, sy + sh // 2, steps=6)
    report["jaw_open"] = float(studio.head.blend_weights[INDEX["jawOpen"]])
    jaw = yield from wait_frame(studio)
    report["jaw_rebuilt_planes"] = studio.worker._planes is not planes_front
    report["jaw_change"] = float(np.abs(texture() - front).mean())

    # --- left/right link through the DearPyGui API (the checkbox, then the slider's callback)
    dpg.set_value("blend_link", True)
    studio.blendshapes._on_link("blend_link", True)
    studio.blendshapes._on_slider("blend_eyeBlinkLeft", 0.7, "eyeBlinkLeft")
    report["blink_right_linked"] = float(studio.head.blend_weights[INDEX["eyeBlinkRight"]])
    report["blink_right_slider"] = float(dpg.get_value("blend_eyeBlinkRight"))
    studio.blendshapes._on_slider("blend_jawLeft", 0.5, "jawLeft")
    report["jaw_right_untouched"] = float(studio.head.blend_weights[INDEX["jawRight"]])

    # --- filter box
    studio.blendshapes.apply_filter("blink")
    yield from frames(2)
    from head360.arkit import GROUPS
    visible = []
    for group, names in GROUPS.items():
        if dpg.is_item_shown(f"blend_group_{group}"):
            visible += [n for n in names if dpg.is_item_shown(f"blend_{n}")]
    report["filter_visible"] = sorted(visible)
    studio.blendshapes.apply_filter("")

    # --- latest wins: a burst of requests renders only a few frames
    yield from wait_frame(studio, full=False)
    sub0, ren0 = studio.worker.submitted, studio.worker.rendered
    for i in range(25):
        studio.view.spin(3.0)
        studio.worker.submit(studio._request(False))
    yield from wait_until(lambda: not studio.worker.busy, 120, "the burst to finish")
    report["burst_submitted"] = studio.worker.submitted - sub0
    report["burst_rendered"] = studio.worker.rendered - ren0

    # --- render modes
    modes = {}
    for mode in ("raw", "depth", "alpha", "mesh", "mesh_color", "rgb"):
        studio.set_mode(mode)
        r = yield from wait_frame(studio)
        t = texture()
        modes[mode] = {"std": float(t[..., :3].std()), "detail": r.detail, "error": studio.status_bar.error}
    report["modes"] = modes

    # --- an action that fails shows in the window and the studio keeps rendering
    import pathlib
    bad = pathlib.Path("notes.txt"); bad.write_text("not a model")
    studio.drop.push([str(bad.resolve())])
    yield from frames(3)
    report["error_status"] = [studio.status_bar.error, dpg.get_value("status_text")]
    studio.view.spin(20.0); studio.view_changed()
    yield from wait_frame(studio)
    report["alive_after_error"] = True

    # --- readouts
    yield from frames(15)
    report["perf_text"] = dpg.get_value("perf_text")
    report["ui_frame_ms"] = studio.status_bar.perf.ui_frame_ms
"""


def test_viewport_interaction(xvfb_display, tiny_checkpoint, tmp_path):
    r = run_driver(xvfb_display, tiny_checkpoint, tmp_path, DRIVER)
    assert r["first_frame_std"] > 0.005, "the first frame should show a picture, not a flat colour"
    assert r["first_quality"] == "full"
    # real mouse drag orbits: yaw moved (wrapping through 360), pitch moved down-drag = camera up
    assert 20.0 < (360.0 - r["yaw_after_drag"]) < 120.0
    assert r["pitch_after_drag"] > 5.0
    assert r["orbit_change"] > 1e-3, "orbiting should change the displayed texture"
    # a camera-only change reuses the planes
    assert r["planes_reused"] and r["camera_frame_planes_ms"] == 0.0
    # the lowered quality while dragging is labelled on screen, and gone once the view rests
    assert r["interactive_seen"] and r["preview_label_seen"]
    assert not r["rest_interactive"] and r["rest_label"] == ""
    assert r["pan_moved"] and r["zoom_in"]
    yaw, pitch, radius, target = r["reset_after_double_click"]
    assert (yaw, pitch, target) == (0.0, 0.0, [0.0, 0.0, 0.0]) and abs(radius - 7.0) < 1e-9
    # jawOpen moved by the real slider changes the mesh, so the planes and the image
    assert r["jaw_open"] > 0.8
    assert r["jaw_rebuilt_planes"]
    assert r["jaw_change"] > 1e-4, "moving jawOpen should change the displayed texture"
    assert r["blink_right_linked"] == pytest.approx(0.7) and r["blink_right_slider"] == pytest.approx(0.7)
    assert r["jaw_right_untouched"] == 0.0  # sideways motions are not linked
    assert r["filter_visible"] == ["eyeBlinkLeft", "eyeBlinkRight"]
    assert r["burst_submitted"] == 25 and r["burst_rendered"] <= 5, "stale requests must be dropped"
    for mode, info in r["modes"].items():
        assert not info["error"], f"mode {mode}: {info}"
        assert info["std"] > 0.005, f"mode {mode} shows a flat image"
    assert "vertices" in r["modes"]["mesh"]["detail"]
    assert r["error_status"][0] and "cannot open 'notes.txt'" in r["error_status"][1]
    assert r["alive_after_error"]
    assert "render" in r["perf_text"] and "planes" in r["perf_text"] and "UI" in r["perf_text"]
    assert "ms/frame" in r["perf_text"] and "dropped" in r["perf_text"]
