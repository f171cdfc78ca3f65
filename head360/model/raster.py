"""Mesh -> six orthographic rasterizations over the head box, in torch (CPU and CUDA).

The six views look at the head along the world axes. Each is rasterized directly in the coordinates of
the axis plane it belongs to, so opposite views line up pixel for pixel (the "flip back/right/bottom"
of the released code is built in):

=====  ========  ==================  ==========================  =================
view   name      plane (a, b)        depth axis (viewer side)    plane index
=====  ========  ==================  ==========================  =================
0      front     xy: (x, y)          +z (the face looks to +z)   0
1      back      xy: (x, y)          -z                          0
2      left      zy: (z, y)          +x (the subject's left)     1
3      right     zy: (z, y)          -x                          1
4      top       xz: (x, z)          +y                          2
5      bottom    xz: (x, z)          -y                          2
=====  ========  ==================  ==========================  =================

Pixel ``(row i, column j)`` of a ``P x P`` raster has its centre at
``a = ((j + 0.5) / P * 2 - 1) * HEAD_BOX_HALF`` and ``b = ((i + 0.5) / P * 2 - 1) * HEAD_BOX_HALF``:
exactly the sample positions of ``grid_sample(..., align_corners=False)`` with grid ``(a, b) / HALF``,
which is how :func:`head360.model.hexplanes.sample_planes` reads the planes.

Triangle ids come from a z-buffer (no gradient); barycentrics are then recomputed from the vertex
positions with autograd, so gradients reach the vertices (hence the shape code and the blendshape
weights) through the interpolated UVs.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass, fields

import torch

from head360.cameras import HEAD_BOX_HALF

VIEW_NAMES: tuple[str, ...] = ("front", "back", "left", "right", "top", "bottom")
# per view: (a axis, b axis, depth axis, depth sign)
VIEW_AXES: tuple[tuple[int, int, int, float], ...] = (
    (0, 1, 2, 1.0),
    (0, 1, 2, -1.0),
    (2, 1, 0, 1.0),
    (2, 1, 0, -1.0),
    (0, 2, 1, 1.0),
    (0, 2, 1, -1.0),
)
PLANE_AXES: tuple[tuple[int, int], ...] = ((0, 1), (2, 1), (0, 2))
"""World axes (a, b) of the three planes: xy, zy, xz."""


@dataclass
class MeshRaster:
    """Six rasterizations of a batch of meshes (``B`` meshes, ``P x P`` pixels per view).

    face_id:  [B, 6, P, P] int64   triangle under the pixel, -1 where the mesh does not cover it
    bary:     [B, 6, P, P, 3]      barycentrics of the pixel centre in that triangle (differentiable
                                   w.r.t. the vertices; 0 where uncovered)
    uv:       [B, 6, P, P, 2]      interpolated texture coordinates (differentiable; 0 where uncovered)
    depth:    [B, 6, P, P]         distance from the viewer's face of the head box to the surface
                                   (world units; ``2 * half`` where uncovered)
    coverage: [B, 6, P, P]         1.0 where covered, else 0.0
    """

    face_id: torch.Tensor
    bary: torch.Tensor
    uv: torch.Tensor
    depth: torch.Tensor
    coverage: torch.Tensor

    def select(self, index: int) -> MeshRaster:
        """Batch item ``index`` as a raster of batch 1."""
        return MeshRaster(*(getattr(self, f.name)[index : index + 1] for f in fields(self)))

    @staticmethod
    def cat(rasters: list[MeshRaster]) -> MeshRaster:
        """Rasters of batches B1, B2, ... as one of batch B1 + B2 + ..."""
        return MeshRaster(*(torch.cat([getattr(r, f.name) for r in rasters]) for f in fields(MeshRaster)))

    def nbytes(self) -> int:
        return sum(getattr(self, f.name).nbytes for f in fields(self))

    def surface_coordinate(self) -> torch.Tensor:
        """World coordinate of the surface along each view's depth axis: [B, 6, P, P] (NaN where empty)."""
        signs = torch.tensor([v[3] for v in VIEW_AXES], device=self.depth.device, dtype=self.depth.dtype)
        coord = signs[None, :, None, None] * (HEAD_BOX_HALF - self.depth)
        return torch.where(self.coverage > 0, coord, torch.full_like(coord, float("nan")))


def _view_coords(vertices: torch.Tensor, view: int, resolution: int, half: float):
    """vertices [B, V, 3] -> pixel x, pixel y (pixel centre j at x = j) and nearness (larger = nearer)."""
    a_axis, b_axis, d_axis, sign = VIEW_AXES[view]
    scale = resolution / (2.0 * half)
    px = (vertices[..., a_axis] + half) * scale - 0.5
    py = (vertices[..., b_axis] + half) * scale - 0.5
    near = sign * vertices[..., d_axis]
    return px, py, near


@torch.no_grad()
def zbuffer(px: torch.Tensor, py: torch.Tensor, near: torch.Tensor, faces: torch.Tensor, resolution: int):
    """Winning face per pixel of projected meshes: [B, P, P] int64 (-1 empty) and its nearness [B, P, P].

    px, py: [B, V] pixel coordinates of the vertices (pixel centre j at x = j); near: [B, V], larger is
    nearer; faces: [F, 3]. Depth is interpolated linearly in screen space; ties go to the lower face id.
    """
    bsz = px.shape[0]
    nf = faces.shape[0]
    P = resolution
    i0, i1, i2 = faces[:, 0], faces[:, 1], faces[:, 2]
    x0, x1, x2 = px[:, i0], px[:, i1], px[:, i2]  # [B, F] each (contiguous: reductions over a
    y0, y1, y2 = py[:, i0], py[:, i1], py[:, i2]  # trailing size-3 axis are slow on the CPU)
    z0, z1, z2 = near[:, i0], near[:, i1], near[:, i2]
    area = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)  # twice the signed area, pixel units
    fxmin, fxmax = torch.minimum(torch.minimum(x0, x1), x2), torch.maximum(torch.maximum(x0, x1), x2)
    fymin, fymax = torch.minimum(torch.minimum(y0, y1), y2), torch.maximum(torch.maximum(y0, y1), y2)
    xmin = torch.ceil(fxmin).clamp(0, P - 1).long()
    xmax = torch.floor(fxmax).clamp(-1, P - 1).long()
    ymin = torch.ceil(fymin).clamp(0, P - 1).long()
    ymax = torch.floor(fymax).clamp(-1, P - 1).long()
    w = (xmax - xmin + 1).clamp(min=0)
    h = (ymax - ymin + 1).clamp(min=0)
    # triangles fully outside the raster have max < 0 or min > P-1 after the clamps above
    outside = (fxmax < 0) | (fymax < 0) | (fxmin > P - 1) | (fymin > P - 1)
    outside = outside | ~torch.isfinite(area)
    count = torch.where((area.abs() > 1e-12) & ~outside, w * h, torch.zeros_like(w)).reshape(-1)  # [B*F]
    total = int(count.sum())
    empty_id = torch.full((bsz, P, P), -1, dtype=torch.long, device=px.device)
    empty_near = torch.full((bsz, P, P), float("-inf"), dtype=px.dtype, device=px.device)
    if total == 0:
        return empty_id, empty_near
    tri = torch.repeat_interleave(torch.arange(bsz * nf, device=px.device), count)  # [N]
    start = torch.cumsum(count, 0) - count
    local = torch.arange(total, device=px.device) - start[tri]
    wf, xminf, yminf = w.reshape(-1)[tri], xmin.reshape(-1)[tri], ymin.reshape(-1)[tri]
    x = xminf + local % wf
    y = yminf + torch.div(local, wf, rounding_mode="floor")
    xs, ys = x.to(px.dtype), y.to(px.dtype)
    X0, X1, X2 = x0.reshape(-1)[tri], x1.reshape(-1)[tri], x2.reshape(-1)[tri]
    Y0, Y1, Y2 = y0.reshape(-1)[tri], y1.reshape(-1)[tri], y2.reshape(-1)[tri]
    A = area.reshape(-1)[tri]
    w0 = ((X1 - xs) * (Y2 - ys) - (X2 - xs) * (Y1 - ys)) / A
    w1 = ((X2 - xs) * (Y0 - ys) - (X0 - xs) * (Y2 - ys)) / A
    w2 = 1.0 - w0 - w1
    eps = 1e-7
    inside = (w0 >= -eps) & (w1 >= -eps) & (w2 >= -eps)
    tri, x, y = tri[inside], x[inside], y[inside]
    depth = w0[inside] * z0.reshape(-1)[tri] + w1[inside] * z1.reshape(-1)[tri] + w2[inside] * z2.reshape(-1)[tri]
    batch = torch.div(tri, nf, rounding_mode="floor")
    face = tri - batch * nf
    key = (batch * P + y) * P + x
    best = empty_near.reshape(-1).scatter_reduce(0, key, depth, reduce="amax", include_self=True)
    winner = depth >= best[key]
    sentinel = torch.full((bsz * P * P,), nf, dtype=torch.long, device=px.device)
    face_id = sentinel.scatter_reduce(0, key[winner], face[winner], reduce="amin", include_self=True)
    face_id = torch.where(face_id == nf, torch.full_like(face_id, -1), face_id)
    return face_id.view(bsz, P, P), best.view(bsz, P, P)


def barycentrics_at_pixels(px: torch.Tensor, py: torch.Tensor, faces: torch.Tensor, face_id: torch.Tensor):
    """Screen-space barycentrics [B, P, P, 3] of the pixel centres in the given faces (differentiable
    w.r.t. px, py [B, V]; 0 where ``face_id`` [B, P, P] is -1)."""
    bsz, P = face_id.shape[0], face_id.shape[-1]
    fid = face_id.clamp(min=0).reshape(bsz, -1)  # [B, P*P]
    corner = faces[fid]  # [B, P*P, 3]
    gx = torch.gather(px, 1, corner.reshape(bsz, -1)).view(corner.shape)
    gy = torch.gather(py, 1, corner.reshape(bsz, -1)).view(corner.shape)
    grid = torch.arange(P, device=px.device, dtype=px.dtype)
    ys, xs = torch.meshgrid(grid, grid, indexing="ij")
    xs, ys = xs.reshape(1, -1), ys.reshape(1, -1)
    x0, x1, x2 = gx.unbind(-1)
    y0, y1, y2 = gy.unbind(-1)
    area = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)
    covered = face_id.reshape(bsz, -1) >= 0
    area = torch.where(covered, area, torch.ones_like(area))
    w0 = ((x1 - xs) * (y2 - ys) - (x2 - xs) * (y1 - ys)) / area
    w1 = ((x2 - xs) * (y0 - ys) - (x0 - xs) * (y2 - ys)) / area
    w2 = 1.0 - w0 - w1
    bary = torch.stack([w0, w1, w2], dim=-1) * covered[..., None]
    return bary.view(bsz, P, P, 3)


def rasterize_six_views(
    vertices: torch.Tensor,
    faces: torch.Tensor,
    uvs: torch.Tensor,
    faces_uv: torch.Tensor,
    resolution: int,
    half: float = HEAD_BOX_HALF,
) -> MeshRaster:
    """Rasterize a batch of meshes orthographically from the six axis directions.

    vertices: [B, V, 3] world positions (gradients flow to them through ``bary`` and ``uv``)
    faces:    [F, 3] int64;  uvs: [T, 2];  faces_uv: [F, 3] int64 (separate UV indices, OBJ style)
    resolution: P, pixels per side; half: half edge of the square the raster covers (world units).
    """
    bsz = vertices.shape[0]
    ids, nears, barys = [], [], []
    for view in range(6):
        px, py, near = _view_coords(vertices.detach(), view, resolution, half)
        face_id, near = zbuffer(px, py, near, faces, resolution)
        ids.append(face_id)
        nears.append(near)
        px, py, _ = _view_coords(vertices, view, resolution, half)
        barys.append(barycentrics_at_pixels(px, py, faces, face_id))
    face_id = torch.stack(ids, 1)  # [B, 6, P, P]
    near = torch.stack(nears, 1)
    bary = torch.stack(barys, 1)  # [B, 6, P, P, 3]
    covered = face_id >= 0
    coverage = covered.to(vertices.dtype)
    depth = torch.where(covered, half - near, torch.full_like(near, 2.0 * half))
    corner_uv = uvs.to(vertices.dtype)[faces_uv[face_id.clamp(min=0)]]  # [B, 6, P, P, 3, 2]
    uv = (bary[..., None] * corner_uv).sum(-2)
    del bsz
    return MeshRaster(face_id=face_id, bary=bary, uv=uv, depth=depth, coverage=coverage)


class SixViewCache:
    """The six rasterizations of each mesh seen, kept (least recently used first out, up to ``max_bytes``)
    so that what does not move the mesh does not rasterize it again: a texture-code change in the studio,
    and a training subject in a given expression (the factory's shape codes and weights are fixed).

    Meshes are keyed by their vertex positions (bytes), so the cache can never return the raster of
    another mesh. Vertices that require gradients are always rasterized afresh (fitting moves them)."""

    def __init__(self, max_bytes: int = 1 << 30):
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple, MeshRaster] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        self._items.clear()
        self._bytes = 0

    def rasterize(
        self, vertices: torch.Tensor, faces: torch.Tensor, uvs: torch.Tensor, faces_uv: torch.Tensor, resolution: int
    ) -> MeshRaster:
        """:func:`rasterize_six_views` of ``vertices`` [B, V, 3], from the cache where it holds them."""
        if vertices.requires_grad or self.max_bytes <= 0:
            return rasterize_six_views(vertices, faces, uvs, faces_uv, resolution)
        flat = vertices.detach().to("cpu", torch.float32).contiguous().numpy()
        keys = [(resolution, str(vertices.device), hashlib.blake2b(v.tobytes(), digest_size=16).digest()) for v in flat]
        missing = list(dict.fromkeys(k for k in keys if k not in self._items))
        if missing:
            rows = [keys.index(k) for k in missing]
            made = rasterize_six_views(vertices[rows], faces, uvs, faces_uv, resolution)
            for j, k in enumerate(missing):
                self._store(k, made.select(j))
        for k in keys:
            self._items.move_to_end(k)
        return MeshRaster.cat([self._items[k] for k in keys])

    def _store(self, key: tuple, raster: MeshRaster) -> None:
        raster = MeshRaster(*(getattr(raster, f.name).clone() for f in fields(raster)))  # not a view of a batch
        size = raster.nbytes()
        while self._items and self._bytes + size > self.max_bytes:
            _, old = self._items.popitem(last=False)
            self._bytes -= old.nbytes()
        self._items[key] = raster
        self._bytes += size


def rasterize_reference(
    vertices, faces, uvs, faces_uv, resolution: int, half: float = HEAD_BOX_HALF
) -> dict[str, object]:
    """Plain, slow reference of :func:`rasterize_six_views` for one mesh (numpy, loops over triangles
    and pixels). Same conventions and the same tie rule (nearest wins, equal depth -> lower face id).

    Returns numpy arrays: face_id [6, P, P], bary [6, P, P, 3], uv [6, P, P, 2], depth [6, P, P].
    """
    import numpy as np

    v = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(faces)
    uvs = np.asarray(uvs, dtype=np.float64)
    faces_uv = np.asarray(faces_uv)
    P = resolution
    face_id = np.full((6, P, P), -1, np.int64)
    bary = np.zeros((6, P, P, 3))
    near_buf = np.full((6, P, P), -np.inf)
    scale = P / (2.0 * half)
    for view, (ax, bx, dx, sign) in enumerate(VIEW_AXES):
        for f, (i0, i1, i2) in enumerate(faces):
            xs = [(v[i, ax] + half) * scale - 0.5 for i in (i0, i1, i2)]
            ys = [(v[i, bx] + half) * scale - 0.5 for i in (i0, i1, i2)]
            zs = [sign * v[i, dx] for i in (i0, i1, i2)]
            area = (xs[1] - xs[0]) * (ys[2] - ys[0]) - (xs[2] - xs[0]) * (ys[1] - ys[0])
            if abs(area) <= 1e-12:
                continue
            for py in range(max(0, int(np.ceil(min(ys)))), min(P - 1, int(np.floor(max(ys)))) + 1):
                for px in range(max(0, int(np.ceil(min(xs)))), min(P - 1, int(np.floor(max(xs)))) + 1):
                    w0 = ((xs[1] - px) * (ys[2] - py) - (xs[2] - px) * (ys[1] - py)) / area
                    w1 = ((xs[2] - px) * (ys[0] - py) - (xs[0] - px) * (ys[2] - py)) / area
                    w2 = 1.0 - w0 - w1
                    if min(w0, w1, w2) < -1e-7:
                        continue
                    z = w0 * zs[0] + w1 * zs[1] + w2 * zs[2]
                    if z > near_buf[view, py, px] or (z == near_buf[view, py, px] and f < face_id[view, py, px]):
                        near_buf[view, py, px] = z
                        face_id[view, py, px] = f
                        bary[view, py, px] = (w0, w1, w2)
    corner_uv = uvs[faces_uv[np.maximum(face_id, 0)]]  # [6, P, P, 3, 2]
    uv = (bary[..., None] * corner_uv).sum(-2) * (face_id >= 0)[..., None]
    depth = np.where(face_id >= 0, half - near_buf, 2.0 * half)
    return {"face_id": face_id, "bary": bary, "uv": uv, "depth": depth}
