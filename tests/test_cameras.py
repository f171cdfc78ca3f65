import numpy as np
import pytest

from head360.cameras import NUM_VIEWS, Camera, rays_from_labels, rig_camera, rig_views, yaw_group


def test_rig_has_72_views_covering_360_degrees():
    views = rig_views()
    assert len(views) == NUM_VIEWS == 72
    yaws = sorted({round(y) for _, y, _ in views})
    assert yaws == list(range(0, 360, 15))
    assert len({p for _, _, p in views}) == 3


def test_front_camera_sees_subject_left_on_image_right():
    cam = Camera.orbit(0.0, 0.0)
    left_ear, right_ear = np.array([[0.8, 0, 0]]), np.array([[-0.8, 0, 0]])
    assert cam.project(left_ear, 512)[0, 0] > 256 > cam.project(right_ear, 512)[0, 0]
    top = cam.project(np.array([[0.0, 1.0, 0.0]]), 512)
    assert top[0, 1] < 256  # +y is up, image v grows downwards


def test_label_round_trip_and_yaw_180_is_behind():
    cam = rig_camera(12 + 24)  # yaw 180, pitch 0
    again = Camera.from_label(cam.label())
    np.testing.assert_allclose(again.cam2world, cam.cam2world)
    assert cam.position[2] < -6.9
    assert yaw_group(180) == "back" and yaw_group(30) == "front" and yaw_group(-90) == "side"


def test_rays_hit_projected_points():
    torch = pytest.importorskip("torch")
    cam = Camera.orbit(37.0, 12.0)
    res = 16
    origins, dirs = rays_from_labels(torch.tensor([cam.label()]), res)
    # the ray through pixel (i, j) centre projects back to that centre
    i, j = 5, 11
    point = (origins[0, i * res + j] + 3.0 * dirs[0, j + i * res]).numpy()[None]
    uv = cam.project(point, res)[0]
    np.testing.assert_allclose(uv, [j + 0.5, i + 0.5], atol=1e-4)


def test_gl_projection_matches_project():
    cam = Camera.orbit(-70.0, 20.0)
    pts = np.random.default_rng(0).uniform(-1, 1, (20, 3))
    clip = (cam.gl_projection(1.0, 20.0) @ cam.gl_view() @ np.c_[pts, np.ones(20)].T).T
    ndc = clip[:, :2] / clip[:, 3:4]
    u = (ndc[:, 0] + 1) / 2 * 256
    v = (1 - ndc[:, 1]) / 2 * 256  # GL rows are bottom-up; images are top-down
    np.testing.assert_allclose(np.c_[u, v], cam.project(pts, 256), atol=1e-6)


def test_orbit_refuses_angles_that_are_not_finite():
    from head360.errors import Head360Error

    for yaw, pitch in ((np.inf, 0.0), (0.0, np.nan), (np.nan, np.nan)):
        with pytest.raises(Head360Error, match="finite"):
            Camera.orbit(yaw, pitch)
