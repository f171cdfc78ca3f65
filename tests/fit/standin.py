"""Stand-in mesh model for the fitting tests (a test fixture, not product code).

A face surface whose vertex ``i`` IS mediapipe landmark ``i``: the 478 points mediapipe finds on
``skimage.data.astronaut()``, moved into the head frame (+y up, face along +z, 1 unit = 10 cm) and
triangulated in 2D (a frontal face is a height field). Its landmark table is the identity, its bases
are smooth random identity directions and local expression directions (jawOpen lowers the chin,
eyeBlink closes the lids, mouthSmile pulls the corners up and out), so fits have a known truth.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from head360.arkit import INDEX, NUM_BLENDSHAPES
from head360.labels import Label
from head360.mesh.model import MeshModel


@lru_cache(maxsize=1)
def astronaut_landmarks() -> np.ndarray:
    """[478, 3] mediapipe points of the astronaut photo (pixels)."""
    from skimage import data

    from head360.fit.landmarks import LandmarkDetector

    with LandmarkDetector() as det:
        faces = det.detect(data.astronaut())
    return faces[0].points.copy()


def face_standin_model(seed: int = 0, interaction_rank: int = 2) -> MeshModel:
    from scipy.spatial import Delaunay

    from head360.fit.landmarks import LEFT_IRIS, RIGHT_IRIS, face_region

    rng = np.random.default_rng(seed)
    p = astronaut_landmarks().astype(np.float64)
    eyes = 0.5 * (p[RIGHT_IRIS] + p[LEFT_IRIS])
    unit = 0.63 / np.linalg.norm(p[RIGHT_IRIS, :2] - p[LEFT_IRIS, :2])  # interpupillary 6.3 cm
    mean = np.stack([(p[:, 0] - eyes[0]), -(p[:, 1] - eyes[1]), -(p[:, 2] - p[:, 2].max())], 1) * unit
    mean[:, 1] += 0.15  # eyes a little above the origin, as on the real head
    mean[:, 2] += 0.0  # the face's outline at z ~ 0
    tri = Delaunay(mean[:, :2])
    faces = tri.simplices.astype(np.int64)
    # counter-clockwise seen from the front (+z)
    a, b, c = mean[faces[:, 0], :2], mean[faces[:, 1], :2], mean[faces[:, 2], :2]
    cross = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    faces[cross < 0] = faces[cross < 0][:, [0, 2, 1]]
    v = len(mean)
    lo, hi = mean[:, :2].min(0), mean[:, :2].max(0)
    uvs = ((mean[:, :2] - lo) / (hi - lo)).astype(np.float32)
    shape_basis = np.stack([_smooth_field(mean, rng, 0.05) for _ in range(50)]).astype(np.float32)
    expr_basis = np.stack([_local_field(mean, rng, 0.04) for _ in range(NUM_BLENDSHAPES)]).astype(np.float32)
    chin = np.clip((0.15 - mean[:, 1]) / 1.0, 0.0, 1.0) * (mean[:, 1] < -0.45)
    expr_basis[INDEX["jawOpen"]] = 0.0
    expr_basis[INDEX["jawOpen"], :, 1] = -0.3 * chin
    for name, eye in (("eyeBlinkLeft", face_region("left_eye")), ("eyeBlinkRight", face_region("right_eye"))):
        expr_basis[INDEX[name]] = 0.0
        centre = mean[eye].mean(0)
        upper = eye[mean[eye, 1] > centre[1]]
        expr_basis[INDEX[name], upper, 1] = -0.08
    lips = face_region("lips")
    for name, side in (("mouthSmileLeft", 1.0), ("mouthSmileRight", -1.0)):
        expr_basis[INDEX[name]] = 0.0
        part = lips[mean[lips, 0] * side > 0.1]
        expr_basis[INDEX[name], part, 0] = 0.06 * side
        expr_basis[INDEX[name], part, 1] = 0.06
    expr_shape_basis = (rng.normal(size=(NUM_BLENDSHAPES, interaction_rank, v, 3)) * 0.002).astype(np.float32)
    centroid = mean[faces].mean(1)
    inner = np.array(face_region("lips_inner"))
    from skimage.measure import points_in_poly

    mouth = points_in_poly(centroid[:, :2], mean[inner, :2])
    face_label = np.where(mouth, int(Label.MOUTH_INTERIOR), int(Label.SKIN)).astype(np.uint8)
    return MeshModel(
        mean=mean.astype(np.float32),
        shape_basis=shape_basis,
        expr_basis=expr_basis,
        expr_shape_basis=expr_shape_basis,
        faces=faces,
        uvs=uvs,
        faces_uv=faces.copy(),
        face_label=face_label,
        landmark_vertices=np.arange(v, dtype=np.int64),
        info={
            "standin": True,
            "landmarks": [{"name": f"mp{i}", "vertex": i, "mediapipe": i} for i in range(v)],
        },
    )


def _smooth_field(points: np.ndarray, rng: np.random.Generator, amplitude: float) -> np.ndarray:
    """A smooth displacement field: a random linear map plus a few wide Gaussian bumps."""
    field = points @ (rng.normal(size=(3, 3)) * amplitude * 0.5)
    for _ in range(3):
        c = points[rng.integers(len(points))]
        wgt = np.exp(-((points - c) ** 2).sum(1) / (2 * 0.4**2))
        field += wgt[:, None] * rng.normal(size=3) * amplitude
    return field


def _local_field(points: np.ndarray, rng: np.random.Generator, amplitude: float) -> np.ndarray:
    c = points[rng.integers(len(points))]
    wgt = np.exp(-((points - c) ** 2).sum(1) / (2 * 0.25**2))
    return wgt[:, None] * rng.normal(size=3) * amplitude
