"""Helpers for the mesh tests: a plain ray / triangle caster (numpy, brute force) and edge checks."""

from __future__ import annotations

import numpy as np


def first_hit(origins: np.ndarray, directions: np.ndarray, vertices: np.ndarray, faces: np.ndarray, chunk: int = 8):
    """Nearest intersection of each ray with a triangle mesh (Moeller-Trumbore, both sides).

    origins, directions: [R, 3]; vertices [V, 3]; faces [F, 3] -> (t [R] distance or inf,
    face [R] index or -1).
    """
    o = np.asarray(origins, np.float64)
    d = np.asarray(directions, np.float64)
    v = np.asarray(vertices, np.float64)
    f = np.asarray(faces, np.int64)
    p0, p1, p2 = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    e1, e2 = p1 - p0, p2 - p0
    t_best = np.full(len(o), np.inf)
    f_best = np.full(len(o), -1)
    for s in range(0, len(o), chunk):
        oo, dd = o[s : s + chunk, None, :], d[s : s + chunk, None, :]  # [c, 1, 3]
        pv = np.cross(dd, e2[None])  # [c, F, 3]
        det = np.einsum("ij,cij->ci", e1, pv)
        ok = np.abs(det) > 1e-12
        inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
        tv = oo - p0[None]
        u = np.einsum("cij,cij->ci", tv, pv) * inv
        qv = np.cross(tv, e1[None])
        w = np.einsum("cij,cij->ci", np.broadcast_to(dd, qv.shape), qv) * inv
        t = np.einsum("ij,cij->ci", e2, qv) * inv
        hit = ok & (u >= 0) & (w >= 0) & (u + w <= 1) & (t > 1e-7)
        t = np.where(hit, t, np.inf)
        k = np.argmin(t, axis=1)
        tk = t[np.arange(len(k)), k]
        t_best[s : s + chunk] = tk
        f_best[s : s + chunk] = np.where(np.isfinite(tk), k, -1)
    return t_best, f_best


def visible_fraction(
    camera_pos, targets: np.ndarray, vertices: np.ndarray, faces: np.ndarray, face_ok: np.ndarray
) -> float:
    """Fraction of target points [N, 3] whose line of sight from ``camera_pos`` first meets a face with
    ``face_ok[face]`` True (the kind of part the targets belong to), as a camera would see them."""
    cam = np.asarray(camera_pos, np.float64)
    d = targets - cam
    dist = np.linalg.norm(d, axis=1)
    _, face = first_hit(np.broadcast_to(cam, targets.shape), d / dist[:, None], vertices, faces)
    seen = (face >= 0) & face_ok[np.maximum(face, 0)]
    return float(np.mean(seen))


def boundary_edges(faces: np.ndarray) -> np.ndarray:
    """Edges [E, 2] used by exactly one face (as sorted pairs)."""
    e = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)
    u, c = np.unique(e, axis=0, return_counts=True)
    return u[c == 1]


def orientation_conflicts(faces: np.ndarray) -> int:
    """Number of directed edges used twice in the same direction (0 for a consistently oriented mesh)."""
    d = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    _, c = np.unique(d, axis=0, return_counts=True)
    return int((c > 1).sum())
