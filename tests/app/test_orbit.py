"""The viewport's orbit camera: full 360-degree yaw, clamped pitch, pan, zoom limits, presets."""

from __future__ import annotations

import numpy as np

from app.orbit import MAX_RADIUS, MIN_RADIUS, PITCH_LIMIT, OrbitView
from head360.cameras import Camera


def test_yaw_wraps_through_360_and_pitch_is_clamped():
    v = OrbitView()
    for _ in range(10):
        v.orbit(-200.0, 0.0)  # 10 x 80 degrees
    assert 0.0 <= v.yaw < 360.0 and v.yaw == (800.0 % 360.0)
    v.orbit(0.0, 10_000.0)
    assert v.pitch == PITCH_LIMIT
    v.orbit(0.0, -100_000.0)
    assert v.pitch == -PITCH_LIMIT


def test_dragging_right_shows_the_heads_right_side():
    v = OrbitView()
    v.orbit(100.0, 0.0)
    # the subject's right side is -x: the camera moved there
    assert v.camera().position[0] < 0


def test_camera_matches_the_library_orbit():
    v = OrbitView(yaw=30.0, pitch=10.0)
    np.testing.assert_allclose(v.camera().cam2world, Camera.orbit(30.0, 10.0).cam2world)


def test_pan_follows_the_mouse_and_zoom_is_limited():
    v = OrbitView()
    v.pan(50.0, 0.0, view_pixels=500.0)
    cam = v.camera()
    # the target moved to the image's left (camera x is image right), so the head moves right on screen
    assert np.dot(np.asarray(v.target), cam.cam2world[:3, 0]) < 0
    for _ in range(100):
        v.zoom(1.0)
    assert v.radius == MIN_RADIUS
    for _ in range(100):
        v.zoom(-1.0)
    assert v.radius == MAX_RADIUS
    v.preset("back")
    assert (v.yaw, v.pitch, v.target) == (180.0, 0.0, (0.0, 0.0, 0.0))
    v.reset()
    assert (v.yaw, v.pitch, v.radius) == (0.0, 0.0, 7.0)
