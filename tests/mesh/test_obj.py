"""OBJ / MTL writing and reading."""

from __future__ import annotations

import numpy as np
import pytest

from head360.errors import Head360Error
from head360.mesh.obj import read_obj, write_obj


def test_round_trip_with_uvs_normals_texture(template, tmp_path):
    t = template
    tex = tmp_path / "textures" / "head.png"
    tex.parent.mkdir()
    tex.write_bytes(b"png")
    path = tmp_path / "head.obj"
    write_obj(path, t.vertices, t.faces, t.uvs, t.faces_uv, normals=True, texture=tex)
    m = read_obj(path)
    assert m.vertices.shape == t.vertices.shape and np.allclose(m.vertices, t.vertices, atol=2e-6)
    assert np.array_equal(m.faces, t.faces) and np.array_equal(m.faces_uv, t.faces_uv)
    assert np.allclose(m.uvs, t.uvs, atol=2e-6)
    assert m.normals is not None and np.allclose(np.linalg.norm(m.normals, axis=1), 1.0, atol=1e-3)
    assert m.texture == tex.resolve()
    mtl = (tmp_path / "head.mtl").read_text()
    assert "map_Kd textures/head.png" in mtl


def test_vertex_colours(tmp_path):
    v = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], np.float32)
    c = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], np.float32)
    write_obj(tmp_path / "c.obj", v, np.array([[0, 1, 2]]), colors=c)
    m = read_obj(tmp_path / "c.obj")
    assert np.allclose(m.colors, c) and m.uvs is None and m.normals is None


def test_reads_artist_obj(tmp_path):
    text = """# exported by some tool
o Cube
v 0 0 0
v 1 0 0
v 1 1 0
v 0 1 0
vt 0 0
vt 1 0
vt 1 1
vt 0 1
vn 0 0 1
usemtl skin
s off
f 1/1/1 2/2/1 3/3/1 4/4/1
f -4//1 -2//1 -1//1
"""
    (tmp_path / "a.obj").write_text(text)
    m = read_obj(tmp_path / "a.obj")
    assert m.vertices.shape == (4, 3)
    assert m.faces.tolist() == [[0, 1, 2], [0, 2, 3], [0, 2, 3]]  # quad fan + negative indices
    assert m.faces_uv is None  # not every face has texture coordinates
    assert m.normals is not None and m.faces_normal.tolist() == [[0, 0, 0]] * 3


def test_damaged_files_raise(tmp_path):
    (tmp_path / "bad.obj").write_text("v 0 0 0\nf 1 2 3\n")
    with pytest.raises(Head360Error, match="bad.obj:2"):
        read_obj(tmp_path / "bad.obj")
    (tmp_path / "empty.obj").write_text("# nothing\n")
    with pytest.raises(Head360Error, match="no mesh"):
        read_obj(tmp_path / "empty.obj")
    with pytest.raises(Head360Error):
        read_obj(tmp_path / "missing.obj")


def test_materials_per_face_keep_order_and_labels(template, tmp_path):
    t = template
    names = ["skin", "neck", "eyes", "mouth"]
    material = np.array([{1: 0, 5: 1, 3: 2, 4: 3}[int(x)] for x in t.face_label])
    write_obj(tmp_path / "h.obj", t.vertices, t.faces, t.uvs, t.faces_uv, texture="head.png",
              face_material=material, material_names=names)  # fmt: skip
    m = read_obj(tmp_path / "h.obj")
    assert np.array_equal(m.faces, t.faces)  # the face order survives the usemtl runs
    assert [m.material_names[i] for i in m.face_material] == [names[i] for i in material]
    assert m.texture == (tmp_path / "head.png").resolve()
    assert (tmp_path / "h.mtl").read_text().count("map_Kd head.png") == 4


@pytest.mark.parametrize(
    "mtllib, map_kd", [("/etc/passwd", "t.png"), ("../up.mtl", "t.png"), ("m.mtl", "../../t.png"), ("m.mtl", "/t.png")]
)
def test_materials_and_textures_outside_the_obj_folder_are_refused(tmp_path, mtllib, map_kd):
    folder = tmp_path / "subject"
    folder.mkdir()
    (folder / "m.mtl").write_text(f"newmtl skin\nmap_Kd {map_kd}\n")
    (folder / "a.obj").write_text(f"mtllib {mtllib}\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    with pytest.raises(Head360Error, match="outside its folder"):
        read_obj(folder / "a.obj")
