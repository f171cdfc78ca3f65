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


def depth_inside_skin(
    points: np.ndarray, head_vertices: np.ndarray, skin_faces: np.ndarray, center: np.ndarray
) -> np.ndarray:
    """How far each point lies inside the head (0 outside), by exact ray casting.

    Rays go from ``center`` (inside the head) through each point; every crossing of the skin/ear
    triangles (``skin_faces``, counter-clockwise from outside) before the point counts -1 when the ray
    leaves a surface and +1 when it enters one. A point with a positive count is inside; its depth is
    how far it lies before the last crossing that took the ray outside. Triangles are binned by
    direction so each ray only tests its neighbourhood. The centre is nudged off the mesh's symmetry
    plane so that no ray runs exactly through an edge or a vertex.
    """
    center = np.asarray(center, np.float64) + np.array([1.37e-4, 0.71e-4, -0.93e-4])
    v = np.asarray(head_vertices, np.float64) - center
    tri = v[np.asarray(skin_faces)]  # [F, 3, 3]
    nb_lon, nb_lat = 180, 90
    lon = np.arctan2(tri[..., 0], tri[..., 2])
    lat = np.arcsin(np.clip(tri[..., 1] / np.linalg.norm(tri, axis=2), -1, 1))
    ci = np.floor((lon + np.pi) / (2 * np.pi) * nb_lon).astype(int) % nb_lon
    ri = np.clip(np.floor((lat + np.pi / 2) / np.pi * nb_lat).astype(int), 0, nb_lat - 1)
    # a triangle goes into every cell of its (small) bounding box, with a one-cell margin
    cells = []
    owners = []
    r0, r1 = ri.min(1) - 1, ri.max(1) + 1
    wrap = (ci.max(1) - ci.min(1)) > nb_lon // 2  # straddles the back seam (lon = +-pi)
    cw = np.where(wrap[:, None] & (ci < nb_lon // 2), ci + nb_lon, ci)
    c_lo = cw.min(1) - 1
    c_span = cw.max(1) - cw.min(1) + 2
    near_pole = (r1 >= nb_lat - 3) | (r0 <= 2)
    c_span = np.where(near_pole, nb_lon - 1, c_span)
    for dr in range(int((r1 - r0).max()) + 1):
        for dc in range(int(c_span.max()) + 1):
            ok = (r0 + dr <= r1) & (dc <= c_span)
            rr = np.clip(r0[ok] + dr, 0, nb_lat - 1)
            cells.append(rr * nb_lon + (c_lo[ok] + dc) % nb_lon)
            owners.append(np.nonzero(ok)[0])
    cells, owners = np.concatenate(cells), np.concatenate(owners)
    key = np.unique(cells * len(tri) + owners)
    cells, owners = key // len(tri), key % len(tri)
    start = np.searchsorted(cells, np.arange(nb_lat * nb_lon + 1))

    p = np.asarray(points, np.float64) - center
    dist = np.linalg.norm(p, axis=1)
    d = p / np.maximum(dist[:, None], 1e-12)
    plon = np.arctan2(d[:, 0], d[:, 2])
    plat = np.arcsin(np.clip(d[:, 1], -1, 1))
    pcell = (np.clip(np.floor((plat + np.pi / 2) / np.pi * nb_lat).astype(int), 0, nb_lat - 1) * nb_lon
             + np.floor((plon + np.pi) / (2 * np.pi) * nb_lon).astype(int) % nb_lon)  # fmt: skip
    counts = start[pcell + 1] - start[pcell]
    ray = np.repeat(np.arange(len(p)), counts)
    offs = np.arange(len(ray)) - np.repeat(np.cumsum(counts) - counts, counts)
    cand = owners[start[pcell][ray] + offs]
    a, b, c = tri[cand, 0], tri[cand, 1], tri[cand, 2]
    e1, e2 = b - a, c - a
    dd = d[ray]
    pv = np.cross(dd, e2)
    det = np.einsum("ij,ij->i", e1, pv)
    ok = np.abs(det) > 1e-14
    inv = 1.0 / np.where(ok, det, 1.0)
    tv = -a
    u = np.einsum("ij,ij->i", tv, pv) * inv
    qv = np.cross(tv, e1)
    w = np.einsum("ij,ij->i", dd, qv) * inv
    t = np.einsum("ij,ij->i", e2, qv) * inv
    hit = ok & (u >= 0) & (w >= 0) & (u + w <= 1) & (t > 0) & (t < dist[ray])
    step = np.where(det < 0, -1, 1)  # det < 0: the ray runs along the outward normal (leaving)
    count = 1 + np.bincount(ray[hit], weights=step[hit], minlength=len(p))
    # depth: distance from the point back to the last leaving crossing before it
    last_exit = np.zeros(len(p))
    leave = hit & (det < 0)
    np.maximum.at(last_exit, ray[leave], t[leave])
    return np.where(count > 0.5, dist - last_exit, 0.0)


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
