"""A small stand-in for the real mesh model (test fixture, not product code): an ellipsoid "head" with
spherical UVs, a labelled mouth patch, smooth random identity directions and a few blendshapes that move
the lower face (jawOpen drops the chin region) so renders and gradients respond to s and b."""

from __future__ import annotations

import numpy as np
import trimesh

from head360.arkit import INDEX, NUM_BLENDSHAPES
from head360.labels import Label
from head360.mesh.model import MeshModel


def standin_mesh_model(subdivisions: int = 2, seed: int = 0, interaction_rank: int = 2) -> MeshModel:
    rng = np.random.default_rng(seed)
    sphere = trimesh.creation.icosphere(subdivisions=subdivisions)
    unit = np.asarray(sphere.vertices, np.float64)
    faces = np.asarray(sphere.faces, np.int64)
    mean = unit * np.array([0.8, 1.1, 0.95]) + np.array([0.0, 0.05, 0.0])
    v = len(mean)
    u = np.arctan2(unit[:, 0], unit[:, 2]) / (2 * np.pi) + 0.5
    w = np.arcsin(np.clip(unit[:, 1], -1, 1)) / np.pi + 0.5
    uvs = np.stack([u, w], 1).astype(np.float32)
    # smooth identity directions: random linear maps of the position (widen, lengthen, shear...)
    shape_basis = np.stack([mean @ (rng.normal(size=(3, 3)) * 0.03) for _ in range(50)]).astype(np.float32)
    expr_basis = np.zeros((NUM_BLENDSHAPES, v, 3), np.float32)
    lower = np.clip(-(unit[:, 1] + 0.2) * 2.0, 0.0, 1.0) * np.clip(unit[:, 2] * 2.0, 0.0, 1.0)
    expr_basis[INDEX["jawOpen"], :, 1] = -0.25 * lower
    expr_basis[INDEX["mouthSmileLeft"], :, 0] = 0.1 * lower * (unit[:, 0] > 0)
    expr_basis[INDEX["eyeBlinkLeft"], :, 1] = -0.05 * np.exp(-((unit[:, 1] - 0.3) ** 2) * 20)
    for j in range(NUM_BLENDSHAPES):
        if not expr_basis[j].any():
            expr_basis[j] = (mean @ (rng.normal(size=(3, 3)) * 0.01)).astype(np.float32)
    expr_shape_basis = (rng.normal(size=(NUM_BLENDSHAPES, interaction_rank, v, 3)) * 0.002).astype(np.float32)
    centroid = unit[faces].mean(1)
    mouth = (centroid[:, 2] > 0.8) & (centroid[:, 1] > -0.55) & (centroid[:, 1] < -0.2) & (np.abs(centroid[:, 0]) < 0.3)
    face_label = np.where(mouth, int(Label.MOUTH_INTERIOR), int(Label.SKIN)).astype(np.uint8)
    face_label[centroid[:, 1] < -0.8] = int(Label.NECK)
    return MeshModel(
        mean=mean.astype(np.float32),
        shape_basis=shape_basis,
        expr_basis=expr_basis,
        expr_shape_basis=expr_shape_basis,
        faces=faces,
        uvs=uvs,
        faces_uv=faces.copy(),
        face_label=face_label,
        landmark_vertices=np.arange(5, dtype=np.int64),
        info={"standin": True},
    )
