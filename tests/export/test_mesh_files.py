"""Exported meshes open right in other tools: GLB in metres (+Y up, front +Z) with normals and a
material that shows the vertex colours, passing the Khronos glTF validator; OBJ written with enough
digits that no face collapses; decimation that leaves no edge with more than two faces and drops
floaters."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
import torch
import trimesh

from head360.cameras import HEAD_BOX_HALF, METRES_PER_UNIT
from head360.export.mesh import ExportedMesh, decimate_mesh, drop_small_parts, extract_mesh, save_mesh
from head360.mesh.obj import read_obj
from tests.export.test_rig import ROOT, validate
from tests.model.conftest import codes


def _edge_face_counts(faces: np.ndarray) -> np.ndarray:
    edges = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)
    return np.unique(edges, axis=0, return_counts=True)[1]


def _pieces(mesh: ExportedMesh) -> int:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    e = np.concatenate([mesh.faces[:, [0, 1]], mesh.faces[:, [1, 2]]])
    n = len(mesh.vertices)
    return connected_components(coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n)), directed=False)[0]


@pytest.fixture(scope="module")
def demo_mesh() -> ExportedMesh:
    """The bundled demo model's head at 128^3 (where decimation used to break the surface)."""
    from head360.model.checkpoint import load_checkpoint, resolve_subject, subject_planes

    ckpt = load_checkpoint(ROOT / "assets" / "demo.safetensors")
    subject = resolve_subject(ckpt, 0)
    with torch.no_grad():
        planes = subject_planes(ckpt.generator, subject, subject.blend_weights, subject.hairstyle)
        return extract_mesh(ckpt.generator, planes, 128, min_part=0)


def test_glb_is_in_metres_with_normals_and_a_vertex_colour_material(generator, tmp_path):
    t, s, b = codes(generator)
    with torch.no_grad():
        planes = generator.planes(t, s, b, "long")
    mesh = extract_mesh(generator, planes, 32)
    out = tmp_path / "head.glb"
    save_mesh(mesh, out)
    report = validate(out)
    assert report["warnings"] == 0, report["messages"][:5]
    data = out.read_bytes()
    gltf = json.loads(data[20 : 20 + struct.unpack("<I", data[12:16])[0]])
    primitive = gltf["meshes"][0]["primitives"][0]
    assert {"POSITION", "NORMAL", "COLOR_0"} <= set(primitive["attributes"])
    material = gltf["materials"][primitive["material"]]["pbrMetallicRoughness"]
    assert material["baseColorFactor"] == [1.0, 1.0, 1.0, 1.0] and material["metallicFactor"] == 0.0
    position = gltf["accessors"][primitive["attributes"]["POSITION"]]
    np.testing.assert_allclose(position["max"], mesh.vertices.max(0) * METRES_PER_UNIT, rtol=1e-5)
    assert max(position["max"]) <= HEAD_BOX_HALF * METRES_PER_UNIT + 1e-6  # a head of 30 cm, not 3 m
    loaded = trimesh.load(out, force="mesh", process=False)
    assert len(loaded.faces) == len(mesh.faces)


def test_obj_and_ply_are_in_metres_unless_scaled(tmp_path):
    mesh = ExportedMesh(np.eye(3, dtype=np.float32), np.array([[0, 1, 2]]), np.full((3, 3), 200, np.uint8))
    save_mesh(mesh, tmp_path / "m.obj")
    save_mesh(mesh, tmp_path / "m.ply")
    save_mesh(mesh, tmp_path / "u.obj", scale=1.0)
    assert read_obj(tmp_path / "m.obj").vertices.max() == pytest.approx(METRES_PER_UNIT)
    assert trimesh.load(tmp_path / "m.ply", process=False).vertices.max() == pytest.approx(METRES_PER_UNIT)
    assert read_obj(tmp_path / "u.obj").vertices.max() == pytest.approx(1.0)
    assert "units: 0.1 m per unit" in (tmp_path / "u.obj").read_text()


def test_obj_keeps_every_face_of_a_fine_mesh(tmp_path):
    """Faces a few micrometres across (marching cubes makes them near grid corners) keep their area."""
    rng = np.random.default_rng(0)
    corner = rng.uniform(-1, 1, (200, 1, 3))
    vertices = (corner + rng.uniform(0, 3e-5, (200, 3, 3))).reshape(-1, 3).astype(np.float32)
    faces = np.arange(600).reshape(200, 3)
    mesh = ExportedMesh(vertices, faces, np.zeros((600, 3), np.uint8))
    save_mesh(mesh, tmp_path / "fine.obj")
    back = read_obj(tmp_path / "fine.obj").vertices
    np.testing.assert_array_equal(back, (vertices.astype(np.float64) * METRES_PER_UNIT).astype(np.float32))
    area = np.linalg.norm(
        np.cross(back[faces[:, 1]] - back[faces[:, 0]], back[faces[:, 2]] - back[faces[:, 0]]), axis=1
    )
    assert (area > 0).all()


@pytest.mark.parametrize("fraction", [0.5, 0.2])
def test_decimation_keeps_the_surface_closed_and_in_one_piece_per_part(demo_mesh, fraction):
    assert (_edge_face_counts(demo_mesh.faces) == 2).all()  # marching cubes: closed, manifold
    pieces = _pieces(drop_small_parts(demo_mesh))
    small = drop_small_parts(decimate_mesh(demo_mesh, fraction))
    assert abs(len(small.faces) / len(demo_mesh.faces) - fraction) < 0.05
    counts = _edge_face_counts(small.faces)
    assert counts.max() == 2, f"{(counts > 2).sum()} edges shared by more than two faces"
    assert (counts == 2).all(), f"{(counts == 1).sum()} edges on a hole"
    assert _pieces(small) <= pieces
    assert small.colors.shape == small.vertices.shape and small.colors.mean() > 20  # colours carried over


def test_floaters_are_dropped_unless_asked_to_keep_them():
    big = trimesh.creation.icosphere(subdivisions=4)
    speck = trimesh.creation.icosphere(subdivisions=0, radius=0.01)
    both = trimesh.util.concatenate([big, speck.apply_translation([2.0, 0, 0])])
    mesh = ExportedMesh(
        np.asarray(both.vertices, np.float32), np.asarray(both.faces), np.zeros((len(both.vertices), 3), np.uint8)
    )
    kept = drop_small_parts(mesh)
    assert len(kept.faces) == len(big.faces) and len(kept.vertices) == len(big.vertices)
    assert kept.vertices[:, 0].max() < 1.5
    assert len(drop_small_parts(mesh, 0).faces) == len(both.faces)


@pytest.mark.parametrize("fraction", [0.999, 0.001])
def test_decimation_at_the_ends_of_the_range(fraction):
    sphere = trimesh.creation.icosphere(subdivisions=3)
    mesh = ExportedMesh(
        np.asarray(sphere.vertices, np.float32),
        np.asarray(sphere.faces),
        np.full((len(sphere.vertices), 3), 90, np.uint8),
    )
    small = decimate_mesh(mesh, fraction)
    assert 0 < len(small.faces) <= len(mesh.faces) and _edge_face_counts(small.faces).max() <= 2
    assert small.faces.max() < len(small.vertices) and (small.colors == 90).all()
