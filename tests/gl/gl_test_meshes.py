"""Simple meshes the OpenGL tests build themselves (an icosphere, a quad)."""

from __future__ import annotations

import numpy as np


def icosphere(subdivisions: int = 4, radius: float = 1.0, center=(0.0, 0.0, 0.0)):
    """A unit icosphere built here (no trimesh needed): vertices [N, 3] float32, faces [M, 3] int64, CCW out."""
    t = (1.0 + 5**0.5) / 2.0
    v = [(-1, t, 0), (1, t, 0), (-1, -t, 0), (1, -t, 0), (0, -1, t), (0, 1, t), (0, -1, -t), (0, 1, -t)]
    v += [(t, 0, -1), (t, 0, 1), (-t, 0, -1), (-t, 0, 1)]
    f = [(0, 11, 5), (0, 5, 1), (0, 1, 7), (0, 7, 10), (0, 10, 11), (1, 5, 9), (5, 11, 4), (11, 10, 2)]
    f += [(10, 7, 6), (7, 1, 8), (3, 9, 4), (3, 4, 2), (3, 2, 6), (3, 6, 8), (3, 8, 9), (4, 9, 5)]
    f += [(2, 4, 11), (6, 2, 10), (8, 6, 7), (9, 8, 1)]
    verts = [np.array(p, dtype=np.float64) / np.linalg.norm(p) for p in v]
    faces = f
    for _ in range(subdivisions):
        cache: dict[tuple[int, int], int] = {}

        def mid(a: int, b: int, cache: dict[tuple[int, int], int] = cache) -> int:
            key = (min(a, b), max(a, b))
            if key not in cache:
                m = verts[a] + verts[b]
                verts.append(m / np.linalg.norm(m))
                cache[key] = len(verts) - 1
            return cache[key]

        new = []
        for a, b, c in faces:
            ab, bc, ca = mid(a, b), mid(b, c), mid(c, a)
            new += [(a, ab, ca), (b, bc, ab), (c, ca, bc), (ab, bc, ca)]
        faces = new
    vertices = np.array(verts) * radius + np.asarray(center)
    return vertices.astype(np.float32), np.array(faces, dtype=np.int64)


def quad(z: float = 0.0, half: float = 1.0, x0: float = 0.0, y0: float = 0.0):
    """A square facing +z: vertices [4, 3], faces [2, 3] (CCW from +z), uvs [4, 2] with (0, 0) bottom-left."""
    vertices = np.array(
        [[x0 - half, y0 - half, z], [x0 + half, y0 - half, z], [x0 + half, y0 + half, z], [x0 - half, y0 + half, z]],
        dtype=np.float32,
    )
    faces = np.array([[0, 1, 2], [0, 2, 3]], dtype=np.int64)
    uvs = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=np.float32)
    return vertices, faces, uvs


def open_box(cells: int = 8, half: float = 1.0):
    """A box without its top (+y) face, faces wound so the normals point into the box (a concave cup).

    Returns vertices [N, 3] float32, faces [M, 3] int64, and the index of the vertex at the floor's centre.
    """
    vertices: list[np.ndarray] = []
    faces: list[np.ndarray] = []
    g = np.linspace(-half, half, cells + 1)
    a, b = np.meshgrid(g, g, indexing="ij")
    a, b = a.reshape(-1), b.reshape(-1)
    quads = []
    for i in range(cells):
        for j in range(cells):
            p = i * (cells + 1) + j
            quads.append((p, p + cells + 1, p + cells + 2, p + 1))
    quads = np.array(quads)
    tris = np.concatenate([quads[:, [0, 1, 2]], quads[:, [0, 2, 3]]])
    full = np.full_like(a, half)
    sides = [
        np.stack([a, -full, b], 1),  # floor
        np.stack([-full, a, b], 1),
        np.stack([full, a, b], 1),
        np.stack([a, b, -full], 1),
        np.stack([a, b, full], 1),
    ]
    offset = 0
    for side in sides:
        vertices.append(side)
        faces.append(tris + offset)
        offset += len(side)
    v = np.concatenate(vertices).astype(np.float32)
    f = np.concatenate(faces).astype(np.int64)
    # orient every face towards the inside of the box
    n = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    outward = np.einsum("ij,ij->i", n, v[f].mean(axis=1)) > 0
    f[outward] = f[outward][:, ::-1]
    floor_centre = int(np.argmin(np.linalg.norm(v - np.array([0.0, -half, 0.0]), axis=1)))
    return v, f, floor_centre
