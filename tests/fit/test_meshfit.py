"""Landmark -> mesh fitting: reprojection error falls, known shapes/expressions/poses come back."""

from __future__ import annotations

import math

import numpy as np
import pytest

from head360.arkit import INDEX
from head360.cameras import Camera
from head360.errors import Head360Error
from head360.fit.meshfit import (
    TRACKING,
    LandmarkFitConfig,
    LandmarkTable,
    MeshFitter,
    landmark_table,
    table_from_mesh_info,
)


def _synthetic(model, seed: int, yaw: float, pitch: float, weights: dict[str, float], noise: float = 0.5):
    rng = np.random.default_rng(seed)
    s = (0.6 * rng.standard_normal(model.shape_dim)).astype(np.float32)
    b = np.zeros(52, np.float32)
    for name, value in weights.items():
        b[INDEX[name]] = value
    cam = Camera.orbit(yaw, pitch, radius=7.0, focal=2.0)
    px = cam.project(model.vertices_np(s, b), 600, 600) + rng.normal(size=(model.num_vertices, 2)) * noise
    return s, b, px


def test_fit_on_the_astronaut_reduces_the_reprojection_error(face_model, astronaut_face):
    face = astronaut_face.face
    fit = MeshFitter(face_model).fit(face.xy, face.image_size)
    assert fit.error_px < fit.error_init_px
    assert fit.error_px < 0.02 * fit.face_size_px  # within 2% of the face size
    assert np.all((fit.blend_weights >= 0) & (fit.blend_weights <= 1))
    yaw, pitch, roll = fit.view_angles()
    assert abs(yaw) < 20 and abs(pitch) < 25 and abs(roll) < 20
    # the fitted landmarks land on the photo's landmarks
    pts = landmark_table(face_model).points(face_model.vertices_np(fit.shape_code, fit.blend_weights))
    assert np.median(np.linalg.norm(fit.project(pts) - face.xy[:478], axis=1)) < 3.0


def test_known_expression_and_pose_are_recovered(face_model):
    truth = {"jawOpen": 0.6, "eyeBlinkLeft": 0.9, "mouthSmileRight": 0.5}
    _, b, px = _synthetic(face_model, 3, yaw=12.0, pitch=-6.0, weights=truth)
    # landmarks this clean (0.5 px noise on a ~300 px face) deserve a tighter sigma and lighter sparsity than
    # the defaults, which are set for mediapipe's noise on real photos
    config = LandmarkFitConfig(landmark_sigma=0.01, weight_l1=2.0)
    fit = MeshFitter(face_model, config=config).fit(px, (600, 600))
    for name, value in truth.items():
        assert fit.blend_weights[INDEX[name]] == pytest.approx(value, abs=0.15), name
    others = np.delete(fit.blend_weights, [INDEX[n] for n in truth])
    assert others.mean() < 0.05  # sparse: the rest stays near zero
    yaw, pitch, _ = fit.view_angles()
    assert abs(yaw - 12.0) < 8.0 and abs(pitch + 6.0) < 8.0
    assert fit.error_px < 1.5


def test_tracking_a_second_frame_from_the_first(face_model):
    s, _, px1 = _synthetic(face_model, 5, 0.0, 0.0, {"jawOpen": 0.7}, noise=0.0)
    fitter = MeshFitter(face_model)
    first = fitter.fit(px1, (600, 600))
    b2 = np.zeros(52, np.float32)
    b2[INDEX["jawOpen"]] = 0.2
    px2 = Camera.orbit(0.0, 0.0, radius=7.0, focal=2.0).project(face_model.vertices_np(s, b2), 600, 600)
    second = fitter.fit(px2, (600, 600), config=TRACKING, init=first, shape=first.shape_code)
    assert np.array_equal(second.shape_code, first.shape_code)  # the shape is held
    assert second.blend_weights[INDEX["jawOpen"]] < first.blend_weights[INDEX["jawOpen"]] - 0.3
    assert second.error_px < 1.5


def test_table_from_the_mesh_model_and_json_round_trip(face_model, tmp_path):
    table = table_from_mesh_info(face_model)
    assert len(table) == 478 and table.mediapipe_index[33] == 33
    path = tmp_path / "table.json"
    table.save(path)
    again = LandmarkTable.load(path)
    assert np.array_equal(again.vertices, table.vertices) and again.topology == table.topology
    pts = again.points(face_model.mean)
    assert np.allclose(pts, face_model.mean[table.vertices[:, 0]])


def test_too_few_landmarks_is_a_clear_error(face_model):
    with pytest.raises(Head360Error, match="at least 6"):
        MeshFitter(face_model).fit(np.zeros((478, 2)), (100, 100), visible=np.arange(478) < 3)


def test_rodrigues_matches_a_known_rotation():
    import torch

    from head360.fit.meshfit import _rodrigues

    r = _rodrigues(torch.tensor([0.0, 0.0, math.pi / 2], dtype=torch.float64)).numpy()
    assert np.allclose(r @ np.array([1.0, 0.0, 0.0]), [0.0, 1.0, 0.0], atol=1e-9)
    assert np.allclose(_rodrigues(torch.zeros(3, dtype=torch.float64)).numpy(), np.eye(3))


def test_the_astronaut_smiles_and_shows_no_tongue(astronaut_face):
    """With the shipped mesh model: the smile of the photo comes out as mouthSmile*, and tongueOut,
    which no landmark sees, stays 0."""
    from head360.mesh.store import default_mesh_model

    face = astronaut_face.face
    fit = MeshFitter(default_mesh_model()).fit(face.xy, face.image_size)
    assert fit.blend_weights[INDEX["mouthSmileLeft"]] > 0.3 and fit.blend_weights[INDEX["mouthSmileRight"]] > 0.3
    assert fit.blend_weights[INDEX["tongueOut"]] == 0.0
