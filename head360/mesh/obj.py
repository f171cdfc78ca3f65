"""Wavefront OBJ (+ MTL) writing and reading, with UVs on their own index (``f v/vt/vn``).

``write_obj(path, vertices, faces, uvs=None, faces_uv=None, normals=None, colors=None, texture=None,
face_material=None, material_names=None)`` writes ``v x y z [r g b]``, ``vt u v``, ``vn x y z`` and
``f v/vt/vn`` lines (1-based); per-face materials become ``usemtl`` switches (face order is kept);
with a texture or materials an MTL is written next to the OBJ (``map_Kd`` pointing at the texture).
``read_obj(path)`` reads what we write back exactly (up to the 6 significant digits written) and
typical artist files: polygons are fan-triangulated, faces may lack ``vt`` / ``vn``, indices may be
negative (relative), ``o`` / ``g`` / ``s`` lines are accepted and ignored, ``usemtl`` names are kept
per face.

Both sides are plain text (Blender, MeshLab and most tools read and write this dialect). Files are
written atomically; a malformed file raises :class:`head360.errors.Head360Error` naming the line.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from head360.errors import Head360Error
from head360.fileio import atomic_path, stays_inside


@dataclass
class ObjMesh:
    """What :func:`read_obj` returns.

    vertices [V, 3] float32; faces [F, 3] int64 (triangles); uvs [T, 2] float32 or None and
    faces_uv [F, 3] int64 or None (only when every face has texture indices); normals [N, 3] or None
    and faces_normal [F, 3] or None; colors [V, 3] float32 in 0..1 or None (``v x y z r g b``);
    texture: the ``map_Kd`` path of the first material, resolved next to the OBJ, or None.
    """

    vertices: np.ndarray
    faces: np.ndarray
    uvs: np.ndarray | None = None
    faces_uv: np.ndarray | None = None
    normals: np.ndarray | None = None
    faces_normal: np.ndarray | None = None
    colors: np.ndarray | None = None
    texture: Path | None = None
    material_names: list[str] | None = None
    """Names of the ``usemtl`` materials in order of first use."""
    face_material: np.ndarray | None = None
    """[F] int index into ``material_names`` per face (-1 before any ``usemtl``)."""


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted vertex normals [V, 3] of a triangle mesh."""
    v = np.asarray(vertices, np.float64)
    f = np.asarray(faces, np.int64)
    fn = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    vn = np.zeros_like(v)
    for k in range(3):
        np.add.at(vn, f[:, k], fn)
    return (vn / np.maximum(np.linalg.norm(vn, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def write_obj(
    path: str | os.PathLike,
    vertices,
    faces,
    uvs=None,
    faces_uv=None,
    normals=None,
    colors=None,
    texture: str | os.PathLike | None = None,
    material_name: str = "head",
    face_material=None,
    material_names=None,
) -> None:
    """Write an OBJ (and an MTL beside it when ``texture`` is given).

    vertices [V, 3]; faces [F, 3] (0-based); uvs [T, 2] with faces_uv [F, 3]; normals: [V, 3] per
    vertex, ``True`` to compute them, or None for none; colors [V, 3] in 0..1 (written as
    ``v x y z r g b``); texture: the image for ``map_Kd`` (a relative path is taken as relative to
    the OBJ's folder and written as is; an absolute one is written relative to the OBJ);
    face_material [F] int with material_names: one ``usemtl`` per run of faces (all materials share
    the texture); without them all faces use ``material_name``.
    """
    path = Path(path)
    v = np.asarray(vertices, np.float64)
    f = np.asarray(faces, np.int64)
    if v.ndim != 2 or v.shape[1] != 3 or f.ndim != 2 or f.shape[1] != 3:
        raise ValueError(f"write_obj needs vertices [V, 3] and faces [F, 3], got {v.shape} and {f.shape}")
    if (uvs is None) != (faces_uv is None):
        raise ValueError("write_obj: give both uvs and faces_uv, or neither")
    if normals is True:
        normals = vertex_normals(v, f)
    out = io.StringIO()
    out.write("# Head360 Studio mesh\n")
    mtl_path = None
    if face_material is not None:
        face_material = np.asarray(face_material, np.int64)
        if material_names is None or face_material.shape != (len(f),):
            raise ValueError("write_obj: face_material must be [F] indices into material_names")
        names = [str(n) for n in material_names]
    else:
        names = [material_name]
    if texture is not None or face_material is not None:
        mtl_path = path.with_suffix(".mtl")
        out.write(f"mtllib {mtl_path.name}\n")
    if colors is not None:
        c = np.clip(np.asarray(colors, np.float64), 0.0, 1.0)
        data = np.concatenate([v, c], 1)
        np.savetxt(out, data, fmt="v %.6g %.6g %.6g %.4f %.4f %.4f")
    else:
        np.savetxt(out, v, fmt="v %.6g %.6g %.6g")
    if uvs is not None:
        np.savetxt(out, np.asarray(uvs, np.float64), fmt="vt %.6g %.6g")
    if normals is not None:
        np.savetxt(out, np.asarray(normals, np.float64), fmt="vn %.5g %.5g %.5g")
    fi = f + 1
    if uvs is not None and normals is not None:
        ft = np.asarray(faces_uv, np.int64) + 1
        rows = np.stack([fi[:, 0], ft[:, 0], fi[:, 0], fi[:, 1], ft[:, 1], fi[:, 1], fi[:, 2], ft[:, 2], fi[:, 2]], 1)
        fmt = "f %d/%d/%d %d/%d/%d %d/%d/%d"
    elif uvs is not None:
        ft = np.asarray(faces_uv, np.int64) + 1
        rows = np.stack([fi[:, 0], ft[:, 0], fi[:, 1], ft[:, 1], fi[:, 2], ft[:, 2]], 1)
        fmt = "f %d/%d %d/%d %d/%d"
    elif normals is not None:
        rows = np.stack([fi[:, 0], fi[:, 0], fi[:, 1], fi[:, 1], fi[:, 2], fi[:, 2]], 1)
        fmt = "f %d//%d %d//%d %d//%d"
    else:
        rows, fmt = fi, "f %d %d %d"
    if face_material is None:
        if mtl_path is not None:
            out.write(f"usemtl {material_name}\n")
        np.savetxt(out, rows, fmt=fmt)
    else:  # one usemtl per run of faces with the same material, keeping the face order
        starts = np.concatenate([[0], np.nonzero(np.diff(face_material))[0] + 1, [len(f)]])
        for s0, s1 in zip(starts[:-1], starts[1:], strict=True):
            out.write(f"usemtl {names[face_material[s0]]}\n")
            np.savetxt(out, rows[s0:s1], fmt=fmt)
    if mtl_path is not None:
        map_line = ""
        if texture is not None:
            tex = Path(texture)
            if tex.is_absolute():
                try:
                    tex = Path(os.path.relpath(tex, path.parent))
                except ValueError:  # another drive on Windows
                    pass
            map_line = f"map_Kd {tex.as_posix()}\n"
        mtl = "# Head360 Studio materials\n" + "".join(
            f"newmtl {name}\nKa 1 1 1\nKd 1 1 1\nKs 0 0 0\nd 1\nillum 1\n{map_line}\n" for name in names
        )
        with atomic_path(mtl_path) as tmp:
            tmp.write_text(mtl, encoding="utf-8")
    with atomic_path(path) as tmp:
        tmp.write_text(out.getvalue(), encoding="utf-8")


def _index(token: str, count: int, line_no: int, path: Path) -> int:
    i = int(token)
    if i > 0:
        i -= 1
    elif i < 0:
        i += count  # relative to the elements read so far
    else:
        raise Head360Error(f"{path}:{line_no}: OBJ indices start at 1 (found 0); the file is damaged")
    if not 0 <= i < count:
        raise Head360Error(f"{path}:{line_no}: index {token} refers to an element that is not defined yet")
    return i


def read_obj(path: str | os.PathLike) -> ObjMesh:
    """Read an OBJ (triangulating polygons); see the module docstring for what is accepted."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        raise Head360Error(f"cannot read '{path}': {e.strerror or e}") from e
    verts, colors, uvs, normals = [], [], [], []
    faces, faces_uv, faces_n, face_mat = [], [], [], []
    all_uv, all_n = True, True
    mtllibs: list[str] = []
    materials: list[str] = []
    current = -1
    for line_no, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        tag = parts[0]
        try:
            if tag == "v":
                verts.append([float(x) for x in parts[1:4]])
                if len(parts) >= 7:
                    colors.append([float(x) for x in parts[4:7]])
            elif tag == "vt":
                uvs.append([float(parts[1]), float(parts[2]) if len(parts) > 2 else 0.0])
            elif tag == "vn":
                normals.append([float(x) for x in parts[1:4]])
            elif tag == "f":
                corners = []
                for tok in parts[1:]:
                    fields = tok.split("/")
                    vi = _index(fields[0], len(verts), line_no, path)
                    ti = _index(fields[1], len(uvs), line_no, path) if len(fields) > 1 and fields[1] else -1
                    ni = _index(fields[2], len(normals), line_no, path) if len(fields) > 2 and fields[2] else -1
                    corners.append((vi, ti, ni))
                if len(corners) < 3:
                    raise Head360Error(f"{path}:{line_no}: a face needs at least 3 corners")
                for k in range(1, len(corners) - 1):  # fan triangulation
                    tri = (corners[0], corners[k], corners[k + 1])
                    faces.append([c[0] for c in tri])
                    faces_uv.append([c[1] for c in tri])
                    faces_n.append([c[2] for c in tri])
                    face_mat.append(current)
                    all_uv &= all(c[1] >= 0 for c in tri)
                    all_n &= all(c[2] >= 0 for c in tri)
            elif tag == "mtllib":
                mtllibs.append(line[len("mtllib") :].strip())
            elif tag == "usemtl":
                name = line[len("usemtl") :].strip()
                if name not in materials:
                    materials.append(name)
                current = materials.index(name)
        except (ValueError, IndexError) as e:
            raise Head360Error(f"{path}:{line_no}: cannot read '{raw.strip()[:60]}' ({e})") from e
    if not verts or not faces:
        raise Head360Error(f"'{path}' has no mesh in it (no vertices or faces); export the mesh as OBJ again")
    if colors and len(colors) != len(verts):
        colors = []
    return ObjMesh(
        vertices=np.asarray(verts, np.float32),
        faces=np.asarray(faces, np.int64),
        uvs=np.asarray(uvs, np.float32) if uvs and all_uv else None,
        faces_uv=np.asarray(faces_uv, np.int64) if uvs and all_uv else None,
        normals=np.asarray(normals, np.float32) if normals and all_n else None,
        faces_normal=np.asarray(faces_n, np.int64) if normals and all_n else None,
        colors=np.asarray(colors, np.float32) if colors else None,
        texture=_texture_of(path, mtllibs),
        material_names=materials or None,
        face_material=np.asarray(face_mat, np.int64) if materials else None,
    )


def _texture_of(obj_path: Path, mtllibs: list[str]) -> Path | None:
    """The first material's ``map_Kd`` image; MTL and image must lie in the OBJ's folder (or below)."""
    for lib in mtllibs:
        _refuse_outside(obj_path, lib, "material library")
        mtl = obj_path.parent / lib
        if not mtl.is_file():
            continue
        for raw in mtl.read_text(encoding="utf-8", errors="replace").splitlines():
            parts = raw.strip().split()
            if parts and parts[0] == "map_Kd" and len(parts) > 1:
                _refuse_outside(obj_path, parts[-1], "texture")
                return (mtl.parent / parts[-1]).resolve()
    return None


def _refuse_outside(obj_path: Path, relative: str, what: str) -> None:
    if not stays_inside(relative):
        raise Head360Error(
            f"'{obj_path}' names a {what} outside its folder ('{relative}'); put it next to the OBJ and refer "
            "to it by a relative name"
        )


def read_obj_vertices(path: str | os.PathLike) -> tuple[np.ndarray, str]:
    """Fast read of what a blendshape OBJ adds to its neutral: vertex positions [V, 3] float32, plus a
    digest of its faces' vertex indices (equal digests = same topology; texture/normal indices and
    materials are ignored). Used to import 52 shapes per subject without parsing every face."""
    import hashlib
    import re

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        raise Head360Error(f"cannot read '{path}': {e.strerror or e}") from e
    lines = text.splitlines()
    v_lines = [ln[2:] for ln in lines if ln.startswith("v ")]
    f_text = "\n".join(ln for ln in lines if ln.startswith("f "))
    try:
        values = np.array(" ".join(v_lines).split(), dtype=np.float64)
        per_line = values.size // max(len(v_lines), 1)
        if not v_lines or per_line < 3 or values.size != per_line * len(v_lines):
            raise ValueError("vertex lines have different numbers of values")
        vertices = values.reshape(len(v_lines), per_line)[:, :3].astype(np.float32)
    except ValueError as e:
        raise Head360Error(f"'{path}' has unreadable vertex lines ({e}); export the mesh as OBJ again") from e
    digest = hashlib.sha1(re.sub(r"/\S*", "", f_text).encode()).hexdigest()
    return vertices, digest
