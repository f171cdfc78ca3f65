"""Full-head mesh from the density field: N^3 density grid over the head box -> marching cubes ->
vertex colours from the field -> optional decimation -> OBJ (vertex colours) / PLY / GLB.

The mesh is in the world frame of the cameras (+y up, face along +z, 1 unit = 10 cm) unless a
``scale`` is given when saving (0.1 writes metres).

Speed: the grid points are regular, so each plane is resampled once on the N x N grid of its two axes
and the decoder's first (linear) layer is applied per plane before the planes are combined; a slab
of the grid then costs three broadcast additions, a softplus and one dot product. This gives the same
densities as evaluating :meth:`Head360Generator.density` point by point (up to float rounding).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from head360.cameras import HEAD_BOX_HALF
from head360.errors import Head360Error
from head360.fileio import atomic_path

MESH_SUFFIXES = (".obj", ".ply", ".glb")


@dataclass
class ExportedMesh:
    """vertices [V, 3] float32 (world), faces [F, 3] int64 (counter-clockwise from outside),
    colors [V, 3] uint8 (RGB from the field)."""

    vertices: np.ndarray
    faces: np.ndarray
    colors: np.ndarray
    iso: float = float("nan")
    """Density level the surface was extracted at."""


def grid_coordinates(resolution: int, half: float = HEAD_BOX_HALF) -> np.ndarray:
    """World coordinate of grid index 0..N-1 along each axis: [N] (from -half to +half inclusive)."""
    return np.linspace(-half, half, resolution, dtype=np.float32)


@torch.no_grad()
def density_grid(generator, planes, resolution: int = 256, hair: bool = True, skip_empty: bool = False) -> np.ndarray:
    """Density (per world unit) at the N^3 grid points: [N, N, N] float32 indexed [ix, iy, iz].

    ``planes`` must hold one head (batch of one). Memory stays at a few N^2 slabs.
    skip_empty: evaluate only the part of each x-slab that the occupancy grid marks as occupied
    (everything else reads as empty: exact for any level above the occupancy threshold).
    """
    if planes.batch_size != 1:
        raise Head360Error("mesh export takes one head at a time")
    fp = planes.features(hair)
    coords = torch.as_tensor(grid_coordinates(resolution), device=fp.device)
    blocks = _occupied_blocks(generator.occupancy(planes, hair)[0], resolution) if skip_empty else None
    raw = generator.decoder.density_grid_raw(fp, coords, HEAD_BOX_HALF, blocks=blocks)[0]
    return F.softplus(raw + generator.config.renderer.density_bias).cpu().numpy()


def _occupied_blocks(occupancy: torch.Tensor, n: int) -> list[tuple[int, int, int, int] | None]:
    """Per fine x index: the (y0, y1, z0, z1) fine index box covering the occupied coarse cells of its
    coarse slab (one fine cell of margin), or None when that slab is empty."""
    r = occupancy.shape[0]
    occ = occupancy.cpu().numpy()
    cell = np.clip(((grid_coordinates(n) / HEAD_BOX_HALF + 1.0) * 0.5 * r).astype(np.int64), 0, r - 1)
    coarse_blocks = []
    for cx in range(r):
        ys, zs = np.nonzero(occ[cx])
        coarse_blocks.append(None if len(ys) == 0 else (ys.min(), ys.max(), zs.min(), zs.max()))
    blocks = []
    for ix in range(n):
        cb = coarse_blocks[cell[ix]]
        if cb is None:
            blocks.append(None)
            continue
        inside_y = np.nonzero((cell >= cb[0]) & (cell <= cb[1]))[0]
        inside_z = np.nonzero((cell >= cb[2]) & (cell <= cb[3]))[0]
        blocks.append(
            (max(inside_y[0] - 1, 0), min(inside_y[-1] + 2, n), max(inside_z[0] - 1, 0), min(inside_z[-1] + 2, n))
        )
    return blocks


@torch.no_grad()
def vertex_colors(generator, planes, vertices: np.ndarray, hair: bool = True, chunk: int = 1 << 17) -> np.ndarray:
    """RGB of the field at world points [V, 3] -> [V, 3] uint8."""
    dev = planes.head.device
    cols = []
    for i in range(0, len(vertices), chunk):
        pts = torch.as_tensor(vertices[i : i + chunk], device=dev, dtype=torch.float32)[None]
        _, feats = generator.field(planes, pts, hair)
        cols.append(feats[0, :, :3].clamp(0, 1).mul(255).round().to(torch.uint8).cpu().numpy())
    return np.concatenate(cols) if cols else np.zeros((0, 3), np.uint8)


DEFAULT_ISO = 10.0
"""Density (per world unit) of the exported surface: light crossing 1 mm of it loses 63%."""


def auto_iso(density: np.ndarray) -> float:
    """:data:`DEFAULT_ISO` where the field reaches it, else halfway between the field's minimum and
    maximum (a field that is still soft, e.g. early in training, then still gives its shape)."""
    top = float(density.max())
    return DEFAULT_ISO if top > DEFAULT_ISO else 0.5 * (top + float(density.min()))


def extract_mesh(
    generator,
    planes,
    resolution: int = 256,
    iso: float | None = None,
    hair: bool = True,
    decimate: float | None = None,
) -> ExportedMesh:
    """Marching cubes of the density field at ``iso`` (density per world unit; None: :func:`auto_iso`).

    The grid is padded with empty space so the surface closes where it meets the box (neck cut).
    decimate: keep about this fraction of the faces (vertex clustering), e.g. 0.25.
    The level used is stored in the returned mesh's ``iso``.
    """
    from skimage.measure import marching_cubes

    if resolution < 8 or resolution > 1024:
        raise Head360Error(f"mesh resolution must be between 8 and 1024, got {resolution}")
    if decimate is not None and not 0.0 < decimate <= 1.0:
        raise Head360Error(f"--decimate is the fraction of faces to keep, in (0, 1]; got {decimate}")
    threshold = generator.config.renderer.occupancy_threshold
    automatic = iso is None
    skip = automatic or iso > 2.0 * threshold
    dens = density_grid(generator, planes, resolution, hair, skip_empty=skip)
    if automatic:
        iso = auto_iso(dens)
    if skip and iso <= 2.0 * threshold:  # too close to what the occupancy grid calls empty: do it all
        dens = density_grid(generator, planes, resolution, hair, skip_empty=False)
        if automatic:
            iso = auto_iso(dens)
    lo, hi = float(dens.min()), float(dens.max())
    if not lo < iso < hi:
        raise Head360Error(
            f"the density never crosses iso {iso:g} (it spans {lo:.3g} .. {hi:.3g}); pass an --iso inside"
        )
    vol = np.pad(dens, 1, mode="constant", constant_values=0.0)
    step = 2.0 * HEAD_BOX_HALF / (resolution - 1)
    verts, faces, _, _ = marching_cubes(vol, level=iso, spacing=(step, step, step))
    verts = (verts - step - HEAD_BOX_HALF).astype(np.float32)  # undo the padding, move to world
    verts = np.clip(verts, -HEAD_BOX_HALF, HEAD_BOX_HALF)
    faces = faces[:, ::-1].astype(np.int64)  # skimage winds clockwise seen from the low-density side
    colors = vertex_colors(generator, planes, verts, hair)
    mesh = ExportedMesh(verts, faces, colors)
    if decimate is not None and decimate < 1.0:
        mesh = decimate_vertex_clustering(mesh, decimate)
    mesh.iso = float(iso)
    return mesh


def _cluster(mesh: ExportedMesh, cell: float) -> ExportedMesh:
    v = mesh.vertices.astype(np.float64)
    key3 = np.floor((v - v.min(0)) / cell).astype(np.int64)
    dims = key3.max(0) + 1
    key = (key3[:, 0] * dims[1] + key3[:, 1]) * dims[2] + key3[:, 2]
    _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    n = len(counts)
    verts = np.stack([np.bincount(inverse, v[:, k], n) for k in range(3)], 1) / counts[:, None]
    cols = np.stack([np.bincount(inverse, mesh.colors[:, k].astype(np.float64), n) for k in range(3)], 1)
    cols = np.round(cols / counts[:, None]).astype(np.uint8)
    f = inverse[mesh.faces]
    keep = (f[:, 0] != f[:, 1]) & (f[:, 1] != f[:, 2]) & (f[:, 0] != f[:, 2])
    f = f[keep]
    _, first = np.unique(np.sort(f, axis=1), axis=0, return_index=True)
    f = f[np.sort(first)]
    used = np.unique(f)
    remap = np.full(n, -1, np.int64)
    remap[used] = np.arange(len(used))
    return ExportedMesh(verts[used].astype(np.float32), remap[f], cols[used], mesh.iso)


def decimate_vertex_clustering(mesh: ExportedMesh, fraction: float) -> ExportedMesh:
    """Reduce to about ``fraction`` of the faces by merging vertices that share a grid cell (the cell
    size is found by bisection). Colours are averaged; degenerate and duplicate faces are removed."""
    target = max(4, int(len(mesh.faces) * fraction))
    edges = mesh.vertices[mesh.faces[:, 1]] - mesh.vertices[mesh.faces[:, 0]]
    lo = float(np.median(np.linalg.norm(edges, axis=1))) * 0.5
    hi = float(np.ptp(mesh.vertices, axis=0).max())
    best = mesh
    for _ in range(18):
        mid = np.sqrt(lo * hi)
        out = _cluster(mesh, mid)
        if len(out.faces) > target:
            lo = mid
        else:
            hi, best = mid, out
        if abs(len(out.faces) - target) <= 0.02 * target:
            return out
    return best if best is not mesh else _cluster(mesh, hi)


def save_mesh(mesh: ExportedMesh, path: str | Path, scale: float = 1.0) -> None:
    """Write ``.obj`` (``v x y z r g b`` vertex colours), ``.ply`` or ``.glb`` atomically."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in MESH_SUFFIXES:
        raise Head360Error(f"mesh files can be {', '.join(MESH_SUFFIXES)}; got '{path.name}'")
    verts = mesh.vertices.astype(np.float64) * scale
    with atomic_path(path) as tmp:
        if suffix == ".obj":
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write("# Head360 full-head mesh: marching cubes of the density field\n")
                fh.write(f"# world frame: +y up, face along +z; units: {0.1 / scale:g} m per unit\n")
                vc = np.concatenate([verts, mesh.colors.astype(np.float64) / 255.0], axis=1)
                np.savetxt(fh, vc, fmt="v %.5f %.5f %.5f %.4f %.4f %.4f")
                np.savetxt(fh, mesh.faces + 1, fmt="f %d %d %d")
        else:
            import trimesh

            rgba = np.concatenate([mesh.colors, np.full((len(mesh.colors), 1), 255, np.uint8)], axis=1)
            tm = trimesh.Trimesh(vertices=verts, faces=mesh.faces, vertex_colors=rgba, process=False)
            tmp.write_bytes(tm.export(file_type=suffix[1:]))


def load_mesh_counts(path: str | Path) -> tuple[int, int, np.ndarray]:
    """(vertex count, face count, bounds [2, 3]) of a written mesh, read back with trimesh."""
    import trimesh

    m = trimesh.load(str(path), process=False, force="mesh")
    return len(m.vertices), len(m.faces), np.asarray(m.bounds)
