"""Geometric checks on hair meshes, shared by the hair tests (independent of the hair builder's code)."""

from __future__ import annotations

import numpy as np


def surface_samples(vertices: np.ndarray, faces: np.ndarray, per_face: int = 6, seed: int = 0):
    """Dense points on a mesh with their face normals -> (points [P, 3], normals [P, 3])."""
    rng = np.random.default_rng(seed)
    tri = vertices[faces]  # [F, 3, 3]
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    w = rng.dirichlet(np.ones(3), size=(len(faces), per_face))  # [F, k, 3]
    pts = np.einsum("fkc,fcd->fkd", w, tri).reshape(-1, 3)
    pts = np.concatenate([pts, vertices[faces].mean(1)])
    nrm = np.concatenate([np.repeat(n, per_face, axis=0), n])
    return pts, nrm


def depth_inside_skin(points: np.ndarray, head_vertices: np.ndarray, skin_faces: np.ndarray) -> np.ndarray:
    """How far each point lies inside the skin surface (0 outside): nearest dense surface sample,
    signed by that sample's outward normal."""
    from scipy.spatial import cKDTree

    pts, nrm = surface_samples(head_vertices, skin_faces)
    _, idx = cKDTree(pts).query(points)
    signed = np.einsum("ij,ij->i", points - pts[idx], nrm[idx])
    return np.maximum(-signed, 0.0)


def boundary_edges(vertices: np.ndarray, faces: np.ndarray, decimals: int = 6) -> int:
    """Number of edges used by exactly one non-degenerate triangle after welding equal positions."""
    key = np.round(vertices.astype(np.float64), decimals)
    _, weld = np.unique(key, axis=0, return_inverse=True)
    f = weld.reshape(-1)[faces]
    f = f[(f[:, 0] != f[:, 1]) & (f[:, 1] != f[:, 2]) & (f[:, 0] != f[:, 2])]
    e = np.sort(np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]]), axis=1)
    _, counts = np.unique(e, axis=0, return_counts=True)
    return int((counts == 1).sum())


def silhouette(points: np.ndarray, view: str, size: int = 48) -> np.ndarray:
    """Orthographic occupancy of points [N, 3] in the head box from 'front', 'side' or 'top' -> [size, size] bool."""
    from scipy import ndimage

    axes = {"front": (0, 1), "side": (2, 1), "top": (0, 2)}[view]
    uv = (points[:, axes] + 1.6) / 3.2 * size
    ij = np.clip(uv.astype(int), 0, size - 1)
    img = np.zeros((size, size), bool)
    img[ij[:, 1], ij[:, 0]] = True
    return ndimage.binary_closing(img, iterations=2)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))
