"""Full-head mesh from the density field: N^3 density grid over the head box -> marching cubes ->
vertex colours from the field -> optional decimation -> OBJ (vertex colours) / PLY / GLB.

Meshes are extracted in the world frame of the cameras (+y up, face along +z, 1 unit = 10 cm) and
saved in metres (glTF's unit; the same axes are glTF's +Y up, front +Z) unless ``scale`` says otherwise.
Decimation is quadric edge collapse (``fast-simplification``); pieces smaller than a fraction of the
surface (floaters) are dropped.

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

from head360.cameras import HEAD_BOX_HALF, METRES_PER_UNIT
from head360.errors import Head360Error
from head360.fileio import atomic_path

MESH_SUFFIXES = (".obj", ".ply", ".glb")
MIN_RESOLUTION, MAX_RESOLUTION = 8, 1024
MIN_PART = 0.005
"""Default size below which a separate piece of the surface is dropped, as a fraction of all faces."""


def check_mesh_options(
    resolution: int, decimate: float | None = None, min_part: float = MIN_PART, iso: float | None = None
) -> None:
    """Refuse (Head360Error) export settings that cannot work, before any model is loaded."""
    if not MIN_RESOLUTION <= resolution <= MAX_RESOLUTION:
        raise Head360Error(f"mesh resolution must be between {MIN_RESOLUTION} and {MAX_RESOLUTION}, got {resolution}")
    if decimate is not None and not 0.0 < decimate <= 1.0:
        raise Head360Error(f"--decimate is the fraction of faces to keep, in (0, 1]; got {decimate}")
    if not 0.0 <= min_part < 1.0:
        raise Head360Error(f"--min-part is a fraction of the faces in [0, 1); got {min_part}")
    if iso is not None and not (np.isfinite(iso) and iso > 0):
        raise Head360Error(f"--iso must be a positive density, got {iso}")


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
    min_part: float = MIN_PART,
) -> ExportedMesh:
    """Marching cubes of the density field at ``iso`` (density per world unit; None: :func:`auto_iso`).

    The grid is padded with empty space so the surface closes where it meets the box (neck cut).
    decimate: keep about this fraction of the faces (:func:`decimate_mesh`), e.g. 0.25.
    min_part: drop separate pieces with fewer than this fraction of the faces (0 keeps them all).
    The level used is stored in the returned mesh's ``iso``.
    """
    check_mesh_options(resolution, decimate, min_part)
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
    verts, faces = surface_from_grid(dens, iso)
    colors = vertex_colors(generator, planes, verts, hair)
    mesh = drop_small_parts(ExportedMesh(verts, faces, colors), min_part)
    if decimate is not None and decimate < 1.0:
        mesh = drop_small_parts(decimate_mesh(mesh, decimate), min_part)
    mesh.iso = float(iso)
    return mesh


def surface_from_grid(dens: np.ndarray, iso: float) -> tuple[np.ndarray, np.ndarray]:
    """Marching cubes of a grid [N, N, N] over the head box (indexed [ix, iy, iz], e.g. from
    :func:`density_grid`) at ``iso`` -> world vertices [V, 3] float32, faces [F, 3] int64
    (counter-clockwise seen from the low side). The grid is padded with 0 so the surface closes at the box."""
    from skimage.measure import marching_cubes

    lo, hi = float(dens.min()), float(dens.max())
    if not lo < iso < hi:
        raise Head360Error(
            f"the density never crosses iso {iso:g} (it spans {lo:.3g} .. {hi:.3g}); pass an --iso inside"
        )
    resolution = dens.shape[0]
    vol = np.pad(dens, 1, mode="constant", constant_values=0.0)
    step = 2.0 * HEAD_BOX_HALF / (resolution - 1)
    verts, faces, _, _ = marching_cubes(vol, level=iso, spacing=(step, step, step))
    verts = (verts - step - HEAD_BOX_HALF).astype(np.float32)  # undo the padding, move to world
    verts = np.clip(verts, -HEAD_BOX_HALF, HEAD_BOX_HALF)
    faces = faces[:, ::-1].astype(np.int64)  # skimage winds clockwise seen from the low-density side
    return verts, faces


def decimate_mesh(mesh: ExportedMesh, fraction: float) -> ExportedMesh:
    """Reduce to about ``fraction`` of the faces by quadric edge collapse (``fast-simplification``); each
    kept vertex takes the mean colour of the vertices merged into it. Faces that the collapses fold onto
    each other (two faces on the same three vertices) are removed; where a collapse still pinched two
    sheets together along an edge, one sheet's edge is flipped (:func:`_unpinch`), else a target 1% off is
    tried, and as a last resort the faces at such an edge are removed: no edge has more than two faces."""
    import fast_simplification

    points = mesh.vertices.astype(np.float64)
    best = None
    fewest = min(1.0, 8.0 / max(len(mesh.faces), 1))  # keep a few faces at least
    for keep in (fraction, fraction * 1.01, fraction * 0.99):
        reduction = 1.0 - min(max(keep, fewest), 1.0)
        simplified = fast_simplification.simplify(points, mesh.faces, target_reduction=reduction, return_collapses=True)
        collapses = simplified[2]
        verts, faces, merged_into = fast_simplification.replay_simplification(points, mesh.faces, collapses)
        faces = _without_folded_faces(np.asarray(faces, np.int64))
        pinched = _pinched_edges(faces)
        if pinched.any():
            faces = _without_folded_faces(_unpinch(faces))
            pinched = _pinched_edges(faces)
        if best is None or pinched.sum() < best[3].sum():
            best = (verts, faces, merged_into, pinched)
        if not pinched.any():
            break
    verts, faces, merged_into, pinched = best
    if pinched.any():
        faces = _without_folded_faces(faces[~pinched])
    n = len(verts)
    merged = np.asarray(merged_into) >= 0  # vertices of removed pieces map to -1
    into, colors = np.asarray(merged_into)[merged], mesh.colors[merged].astype(np.float64)
    counts = np.maximum(np.bincount(into, minlength=n), 1)[:, None]
    cols = np.stack([np.bincount(into, colors[:, k], n) for k in range(3)], 1)
    out = ExportedMesh(np.asarray(verts, np.float32), faces, np.round(cols / counts).astype(np.uint8), mesh.iso)
    return _without_unused_vertices(out)


def _without_folded_faces(faces: np.ndarray) -> np.ndarray:
    """Faces [F, 3] without the degenerate ones and without every face that shares its three vertices
    with another (a fold: the two lie on top of each other)."""
    faces = faces[(faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (faces[:, 0] != faces[:, 2])]
    if not len(faces):
        return faces
    _, inverse, counts = np.unique(np.sort(faces, axis=1), axis=0, return_inverse=True, return_counts=True)
    return faces[counts[inverse.reshape(-1)] == 1]


def _edges(faces: np.ndarray) -> np.ndarray:
    """Undirected edges [3F, 2] (smaller index first), face ``i``'s at rows i, F + i, 2F + i."""
    return np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)


def _pinched_edges(faces: np.ndarray) -> np.ndarray:
    """[F] bool: faces with an edge that more than two faces share (a non-manifold edge)."""
    if not len(faces):
        return np.zeros(0, bool)
    _, inverse, counts = np.unique(_edges(faces), axis=0, return_inverse=True, return_counts=True)
    return (counts[inverse.reshape(-1)] > 2).reshape(3, -1).any(axis=0)


def _unpinch(faces: np.ndarray) -> np.ndarray:
    """Where two sheets share an edge (a, b) -- four faces on it, two each way round -- flip the edge of
    one sheet's pair ``(a, b, c), (b, a, d)`` to ``(c, a, d), (d, b, c)``: the same surface, no shared
    edge (unless c-d is an edge already; such a pinch stays)."""
    faces = faces.copy()
    undirected = _edges(faces)
    keys, inverse, counts = np.unique(undirected, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    existing = {tuple(k) for k in keys.tolist()}
    n = len(faces)
    for edge in np.nonzero(counts == 4)[0]:
        rows = np.nonzero(inverse == edge)[0]
        on = rows % n
        a, b = keys[edge]
        forward = [i for i in on if _has_directed(faces[i], a, b)]
        backward = [i for i in on if _has_directed(faces[i], b, a)]
        if len(forward) != 2 or len(backward) != 2:
            continue
        for f1, f2 in ((f1, f2) for f1 in forward for f2 in backward):  # either pairing makes two sheets
            c = int(next(x for x in faces[f1] if x not in (a, b)))
            d = int(next(x for x in faces[f2] if x not in (a, b)))
            if c != d and (min(c, d), max(c, d)) not in existing:
                faces[f1], faces[f2] = (c, a, d), (d, b, c)
                existing.add((min(c, d), max(c, d)))
                break
    return faces


def _has_directed(face: np.ndarray, a: int, b: int) -> bool:
    return any(face[k] == a and face[(k + 1) % 3] == b for k in range(3))


def drop_small_parts(mesh: ExportedMesh, min_part: float = MIN_PART) -> ExportedMesh:
    """Remove the separate pieces (connected through shared vertices) that have fewer than ``min_part``
    of all faces: floaters of the density field. ``min_part`` 0 keeps everything."""
    if min_part <= 0 or not len(mesh.faces):
        return mesh
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    e = _edges(mesh.faces)
    n = len(mesh.vertices)
    graph = coo_matrix((np.ones(len(e), np.int8), (e[:, 0], e[:, 1])), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    face_label = label[mesh.faces[:, 0]]
    sizes = np.bincount(face_label)
    keep = sizes[face_label] >= min_part * len(mesh.faces)
    if keep.all():
        return mesh
    return _without_unused_vertices(ExportedMesh(mesh.vertices, mesh.faces[keep], mesh.colors, mesh.iso))


def _without_unused_vertices(mesh: ExportedMesh) -> ExportedMesh:
    used = np.unique(mesh.faces)
    remap = np.full(len(mesh.vertices), -1, np.int64)
    remap[used] = np.arange(len(used))
    return ExportedMesh(mesh.vertices[used], remap[mesh.faces], mesh.colors[used], mesh.iso)


decimate_vertex_clustering = decimate_mesh
"""The name export/rig.py imports (kept until it calls :func:`decimate_mesh`)."""


def save_mesh(mesh: ExportedMesh, path: str | Path, scale: float = METRES_PER_UNIT) -> None:
    """Write ``.obj`` (``v x y z r g b`` vertex colours), ``.ply`` or ``.glb`` atomically, positions
    multiplied by ``scale`` (default: metres; 1 keeps world units of 10 cm). GLB carries vertex normals
    and a material that shows the vertex colours (glTF: metres, +Y up, front +Z: our world axes)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in MESH_SUFFIXES:
        raise Head360Error(f"mesh files can be {', '.join(MESH_SUFFIXES)}; got '{path.name}'")
    if not (np.isfinite(scale) and scale > 0):
        raise Head360Error(f"--scale must be a positive number, got {scale}")
    verts = mesh.vertices.astype(np.float64) * scale
    with atomic_path(path) as tmp:
        if suffix == ".obj":
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write("# Head360 full-head mesh: marching cubes of the density field\n")
                fh.write(f"# +y up, face along +z; units: {METRES_PER_UNIT / scale:g} m per unit\n")
                vc = np.concatenate([verts, mesh.colors.astype(np.float64) / 255.0], axis=1)
                # 9 significant digits: float32 positions come back exactly (no face collapses)
                np.savetxt(fh, vc, fmt="v %.9g %.9g %.9g %.4f %.4f %.4f")
                np.savetxt(fh, mesh.faces + 1, fmt="f %d %d %d")
        elif suffix == ".glb":
            tmp.write_bytes(_glb_bytes(verts, mesh.faces, mesh.colors))
        else:
            import trimesh

            rgba = np.concatenate([mesh.colors, np.full((len(mesh.colors), 1), 255, np.uint8)], axis=1)
            tm = trimesh.Trimesh(vertices=verts, faces=mesh.faces, vertex_colors=rgba, process=False)
            tmp.write_bytes(tm.export(file_type="ply"))


def _glb_bytes(verts: np.ndarray, faces: np.ndarray, colors: np.ndarray) -> bytes:
    """A binary glTF of one mesh: positions [V, 3], normals, COLOR_0 (RGBA uint8 normalised) and a rough,
    non-metallic material whose base colour is white (so it shows COLOR_0)."""
    import trimesh
    from trimesh.visual.material import PBRMaterial

    rgba = np.concatenate([colors, np.full((len(colors), 1), 255, np.uint8)], axis=1)
    tm = trimesh.Trimesh(vertices=verts, faces=faces, vertex_colors=rgba, process=False)
    tm.visual.material = PBRMaterial(
        name="head360_vertex_colour", baseColorFactor=[255, 255, 255, 255], metallicFactor=0.0, roughnessFactor=0.9
    )
    _ = tm.vertex_normals  # computed now so that the exporter writes them
    return tm.export(file_type="glb", include_normals=True)


def load_mesh_counts(path: str | Path) -> tuple[int, int, np.ndarray]:
    """(vertex count, face count, bounds [2, 3]) of a written mesh, read back with trimesh."""
    import trimesh

    m = trimesh.load(str(path), process=False, force="mesh")
    return len(m.vertices), len(m.faces), np.asarray(m.bounds)
