"""Rig export (`main.py export-rig`, `main.py animate --out take.glb`): every GLB written here passes the
Khronos glTF validator with 0 errors, reloads in pygltflib and trimesh with the vertex and morph-target
counts written, its 52 targets rebuild the bilinear mesh V(s, b), the baked texture is the field's colour
at each texel's surface point, and bad input is one line with no file left behind."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from head360.arkit import ARKIT_NAMES, INDEX
from tests.model.conftest import codes

ROOT = Path(__file__).resolve().parents[2]
TAKE_FRAMES = 12
TAKE_FPS = 30.0


# --- helpers ---------------------------------------------------------------------------------------
def validate(path: Path) -> dict:
    """The Khronos validator's report on a GLB; asserts 0 errors (tools/validate_gltf.js)."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed; `make system-deps` installs node's glTF validator")
    if not (ROOT / "tools" / "node_modules" / "gltf-validator").is_dir():
        pytest.fail("the glTF validator is not installed: run `make system-deps` (npm ci in tools/)")
    proc = subprocess.run(
        ["node", str(ROOT / "tools" / "validate_gltf.js"), str(path)], capture_output=True, text=True, timeout=120
    )
    report = json.loads(proc.stdout.splitlines()[0])
    errors = [m for m in report["messages"] if m["severity"] == 0]
    assert report["errors"] == 0, errors[:5]
    return report


def accessor(gltf, index: int) -> np.ndarray:
    """Decode one accessor of a GLB loaded with pygltflib -> [count, width] (or [count])."""
    acc = gltf.accessors[index]
    view = gltf.bufferViews[acc.bufferView]
    dtype = {5126: np.float32, 5125: np.uint32, 5123: np.uint16, 5121: np.uint8}[acc.componentType]
    width = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}[acc.type]
    start = view.byteOffset + (acc.byteOffset or 0)
    data = np.frombuffer(gltf.binary_blob(), dtype, acc.count * width, start)
    return data.reshape(acc.count, width) if width > 1 else data


def run_main(argv: list[str], capsys) -> tuple[int, str, str]:
    from main import main

    rc = main(argv)
    out = capsys.readouterr()
    return rc, out.out, out.err


@pytest.fixture(scope="module")
def take_csv(tmp_path_factory) -> Path:
    """A Live Link Face CSV take with head rotation and one column the app never writes."""
    from head360.anim.arkit_io import WeightTrack, write_csv

    rng = np.random.default_rng(0)
    weights = rng.uniform(0, 1, (TAKE_FRAMES, 52)).astype(np.float32)
    head = np.stack([np.linspace(0, 30, TAKE_FRAMES), np.zeros(TAKE_FRAMES), np.linspace(0, -10, TAKE_FRAMES)], 1)
    path = tmp_path_factory.mktemp("take") / "take.csv"
    write_csv(WeightTrack.from_frames(weights, TAKE_FPS, head), path)
    lines = path.read_text().splitlines()
    lines = [lines[0] + ",MysteryColumn"] + [line + ",0.5" for line in lines[1:]]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def exported(tiny_checkpoint, take_csv, tmp_path_factory):
    """`main.py export-rig` of subject 1 (it has hair) with the take: (path, stdout, stderr)."""
    from main import main

    out = tmp_path_factory.mktemp("rig") / "head.glb"
    argv = ["export-rig", "--checkpoint", str(tiny_checkpoint), "--subject", "1", "--device", "cpu",
            "--out", str(out), "--hair-resolution", "32", "--weights", str(take_csv)]  # fmt: skip
    import contextlib

    err, std = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(std):
        rc = main(argv)
    assert rc == 0, err.getvalue()
    return out, std.getvalue(), err.getvalue()


# --- the file --------------------------------------------------------------------------------------
def test_export_rig_writes_a_valid_glb_with_arkit_targets_texture_hair_and_the_take(exported):
    from pygltflib import GLTF2

    path, stdout, stderr = exported
    assert "MysteryColumn" in stderr and "unknown column" in stderr  # reported, as `animate` does
    validate(path)
    g = GLTF2().load(str(path))
    head = next(m for m in g.meshes if m.name == "head")
    assert head.extras["targetNames"] == list(ARKIT_NAMES)
    assert [p.extras["part"] for p in head.primitives] == ["skin", "mouth"]  # the stand-in's labelled parts
    for prim in head.primitives:
        assert len(prim.targets) == 52
        material = g.materials[prim.material]
        assert material.pbrMetallicRoughness.baseColorTexture.index == 0
        pos = accessor(g, prim.attributes.POSITION)
        assert np.abs(pos).max() < 0.17  # metres: the head box is +-16 cm
    image = g.images[g.textures[0].source]
    view = g.bufferViews[image.bufferView]
    png = Image.open(io.BytesIO(g.binary_blob()[view.byteOffset : view.byteOffset + view.byteLength]))
    assert image.mimeType == "image/png" and png.size[0] >= 1024 and png.size[1] >= 1024
    assert np.asarray(png).std() > 1.0
    # the head is skinned to one joint, which the take's head rotation turns; the hair is its own node and
    # mesh with vertex colours, a child of that joint
    names = [n.name for n in g.nodes]
    root, head_node, hair_node = (names.index(n) for n in ("head360", "head", "hair"))
    assert g.skins[g.nodes[head_node].skin].joints == [root] and g.nodes[root].children == [hair_node]
    assert set(g.scenes[g.scene].nodes) == {root, head_node}
    hair = g.meshes[g.nodes[hair_node].mesh]
    assert hair.primitives[0].attributes.COLOR_0 is not None and not hair.primitives[0].targets
    # the take at its frame rate: weights on the head, rotation on the root
    (anim,) = g.animations
    targets = {(c.target.node, c.target.path): anim.samplers[c.sampler] for c in anim.channels}
    weights = targets[(head_node, "weights")]
    times = accessor(g, weights.input)
    assert len(times) == TAKE_FRAMES and np.allclose(np.diff(times), 1 / TAKE_FPS, atol=1e-5)
    assert accessor(g, weights.output).shape[0] == TAKE_FRAMES * 52
    rotation = accessor(g, targets[(root, "rotation")].output)
    assert rotation.shape == (TAKE_FRAMES, 4) and np.allclose(np.linalg.norm(rotation, axis=1), 1, atol=1e-5)
    assert np.allclose(rotation[0], [0, 0, 0, 1], atol=1e-6) and abs(rotation[-1, 1]) > 0.2  # yaw 30 degrees


def test_rig_reloads_with_its_counts_and_targets_rebuild_the_bilinear_mesh(exported, tiny_checkpoint):
    import trimesh
    from pygltflib import GLTF2

    from head360.export.rig import head_parts
    from head360.model.checkpoint import load_checkpoint, resolve_subject

    path = exported[0]
    ckpt = load_checkpoint(tiny_checkpoint)
    subject = resolve_subject(ckpt, 1)
    mesh = ckpt.generator.mesh
    parts = head_parts(mesh, subject.shape_code)
    g = GLTF2().load(str(path))
    head = next(m for m in g.meshes if m.name == "head")
    rng = np.random.default_rng(1)
    b = rng.uniform(0, 1, 52).astype(np.float32)
    truth = mesh.vertices_np(subject.shape_code, b) * 0.1  # metres
    for part, prim in zip(parts, head.primitives, strict=True):
        base = accessor(g, prim.attributes.POSITION)
        np.testing.assert_allclose(base, part.positions, atol=1e-7)
        posed = base + sum(b[j] * accessor(g, prim.targets[j]["POSITION"]) for j in range(52))
        np.testing.assert_allclose(posed, truth[part.source], atol=2e-6)
    # jawOpen alone moves the chin by what the model says
    jaw = np.zeros(52, np.float32)
    jaw[INDEX["jawOpen"]] = 1
    chin_move = (mesh.vertices_np(subject.shape_code, jaw) - mesh.vertices_np(subject.shape_code, None)) * 0.1
    skin = head.primitives[0]
    moved = accessor(g, skin.targets[INDEX["jawOpen"]]["POSITION"])
    assert np.isclose(np.linalg.norm(moved, axis=1).max(), np.linalg.norm(chin_move, axis=1).max(), rtol=1e-5)
    # trimesh reads the same vertex counts (head primitives and the hair)
    scene = trimesh.load(str(path), process=False)
    counts = sorted(len(geom.vertices) for geom in scene.geometry.values())
    hair = accessor(g, g.meshes[1].primitives[0].attributes.POSITION)
    assert counts == sorted([len(p.positions) for p in parts] + [len(hair)])


# --- the texture -----------------------------------------------------------------------------------
def atlas_generator(mesh_model, screen: bool = True):
    """The tiny generator on the stand-in mesh with a UV atlas of one separate triangle per face (the
    stand-in's spherical UVs wrap, so its seam triangles overlap the rest of the atlas)."""
    from dataclasses import replace

    from head360.model.config import make_config
    from head360.model.generator import Head360Generator

    f = len(mesh_model.faces)
    side = int(np.ceil(np.sqrt(f)))
    cell = np.stack([np.arange(f) % side, np.arange(f) // side], 1) / side  # [F, 2] lower-left corners
    corner = np.array([[0.1, 0.1], [0.9, 0.1], [0.1, 0.9]]) / side
    uvs = (cell[:, None] + corner[None]).reshape(-1, 2).astype(np.float32)
    mesh = replace(mesh_model, uvs=uvs, faces_uv=np.arange(3 * f).reshape(f, 3), _torch_cache={})
    torch.manual_seed(0)
    cfg = make_config("tiny")
    cfg.screen.enabled = screen
    return Head360Generator(cfg, mesh).eval()


def test_baked_texel_is_the_field_colour_at_its_surface_point(mesh_model):
    """Without the camera-view path (the paper's layout) the texture is the field's colour."""
    from head360.export.rig import BakeConfig, bake_texture

    generator = atlas_generator(mesh_model, screen=False)
    t, s, b = codes(generator)
    with torch.no_grad():
        planes = generator.planes(t, s, b, "long")
    mesh = generator.mesh
    verts = mesh.vertices_np(s[0].numpy(), b[0].numpy())
    res = 256
    tex = bake_texture(generator, planes, verts, res, BakeConfig(outside=0.0, inside=0.0, samples=1))
    assert tex.shape == (res, res, 3) and tex.dtype == np.uint8
    # texel centres well inside one UV triangle: their 3D point and the field's colour there
    rows, cols = np.meshgrid(np.arange(res), np.arange(res), indexing="ij")
    uv = np.stack([(cols + 0.5) / res, 1.0 - (rows + 0.5) / res], -1).reshape(-1, 2)
    tri = mesh.uvs[mesh.faces_uv]  # [F, 3, 2]
    a, e1, e2 = tri[:, 0], tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    det = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    d = uv[:, None] - a[None]  # [P, F, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        w1 = (d[..., 0] * e2[:, 1] - d[..., 1] * e2[:, 0]) / det
        w2 = (e1[:, 0] * d[..., 1] - e1[:, 1] * d[..., 0]) / det
    w0 = 1 - w1 - w2
    texel, face = np.nonzero(np.minimum(np.minimum(w0, w1), w2) > 0.1)
    assert len(texel) > 50
    bary = np.stack([w0[texel, face], w1[texel, face], w2[texel, face]], 1)
    points = np.einsum("pk,pkc->pc", bary, verts[mesh.faces[face]])
    with torch.no_grad():
        _, feats = generator.field(planes, torch.as_tensor(points, dtype=torch.float32)[None], True)
    expected = feats[0, :, :3].clamp(0, 1).numpy() * 255
    got = tex.reshape(-1, 3)[texel].astype(np.float64)
    assert np.abs(got - expected).max() < 4.0  # a flipped or shifted atlas would miss by far more
    assert tex.reshape(-1, 3).std(0).max() > 1.0


def test_a_model_with_the_camera_view_path_bakes_what_that_path_shows(mesh_model):
    """With the path (demo preset) the viewport's face comes from the detail texture read through the
    mesh: the bake follows it, texel by texel, where the texture is changed."""
    from head360.export.rig import bake_texture

    generator = atlas_generator(mesh_model, screen=True)
    t, s, b = codes(generator)
    with torch.no_grad():
        planes = generator.planes(t, s, b, None)
    verts = generator.mesh.vertices_np(s[0].numpy(), b[0].numpy())
    before = bake_texture(generator, planes, verts, 64).astype(np.float64)
    with torch.no_grad():
        generator.screen.detail[:, :3, :16, :16] += 0.6  # the top-left quarter of the atlas, brighter
    after = bake_texture(generator, planes, verts, 64).astype(np.float64)
    change = (after - before).mean(-1)
    assert change[2:28, 2:28].mean() > 10 * max(abs(change[40:, 40:]).mean(), 0.05)


# --- animate and bad input -------------------------------------------------------------------------
def test_animate_writes_a_timeline_as_an_animated_rig(tiny_checkpoint, tmp_path, capsys):
    from pygltflib import GLTF2

    from head360.anim.timeline import Keyframe, Timeline

    key = np.zeros(52, np.float32)
    key[INDEX["jawOpen"]] = 0.8
    timeline = Timeline(duration=1.0, fps=10.0, loop=False, name="open")
    timeline.add(Keyframe(0.0, weights=np.zeros(52, np.float32)))
    timeline.add(Keyframe(1.0, weights=key))
    timeline.save(tmp_path / "open.json")
    out = tmp_path / "take.glb"
    rc, stdout, stderr = run_main(
        ["animate", "--animation", str(tmp_path / "open.json"), "--checkpoint", str(tiny_checkpoint),
         "--out", str(out), "--no-hair", "--texture-resolution", "1024"], capsys)  # fmt: skip
    assert rc == 0, stderr
    validate(out)
    g = GLTF2().load(str(out))
    assert [n.name for n in g.nodes] == ["head360", "head"]  # --no-hair: no hair mesh
    (anim,) = g.animations
    (sampler,) = anim.samplers
    times = accessor(g, sampler.input)
    weights = accessor(g, sampler.output).reshape(-1, 52)
    assert len(times) == timeline.frame_count == 11
    np.testing.assert_allclose(weights[-1], key, atol=1e-6)
    np.testing.assert_allclose(weights[0], 0.0, atol=1e-6)


def _checkpoint_without_mesh(tiny_checkpoint, folder: Path) -> Path:
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    with safe_open(str(tiny_checkpoint), framework="pt") as f:
        meta = f.metadata()
    tensors = {k: v for k, v in load_file(str(tiny_checkpoint)).items() if k != "mesh/file"}
    path = folder / "no-mesh.safetensors"
    save_file(tensors, str(path), metadata=meta)
    return path


@pytest.mark.parametrize("case", ["no mesh model", "foreign subject", "unwritable", "not glb", "bad take"])
def test_bad_input_is_one_line_and_leaves_no_file(case, tiny_checkpoint, tmp_path, capsys):
    from head360.model.checkpoint import Subject

    ckpt, out, extra = str(tiny_checkpoint), tmp_path / "out" / "head.glb", []
    if case == "no mesh model":
        ckpt, expect = str(_checkpoint_without_mesh(tiny_checkpoint, tmp_path)), "lacks its mesh model"
    elif case == "foreign subject":
        z = np.zeros(52, np.float32)
        Subject(texture_code=np.zeros(3, np.float32), shape_code=np.zeros(50, np.float32), blend_weights=z).save(
            tmp_path / "other.h360"
        )
        extra, expect = ["--subject", str(tmp_path / "other.h360")], "do not fit"
    elif case == "unwritable":
        (tmp_path / "a-file").write_text("x")
        out, expect = tmp_path / "a-file" / "head.glb", "cannot write"
    elif case == "not glb":
        out, expect = tmp_path / "out" / "head.obj", ".glb"
    else:
        extra, expect = ["--weights", str(tmp_path / "missing.csv")], "not found"
    argv = ["export-rig", "--checkpoint", ckpt, "--out", str(out), "--device", "cpu", "--hair-resolution", "16"]
    rc, _, stderr = run_main(argv + extra, capsys)
    assert rc == 1
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and expect in lines[0], stderr
    assert not out.exists()
    if out.parent.is_dir():
        assert not list(out.parent.iterdir())  # no temporary file either


def test_a_subject_with_optimised_planes_exports_at_its_fixed_expression(generator):
    """Planes stored in a subject file hold one expression: the texture is baked there (it cannot be
    rebuilt at neutral) and the rig shows that expression by default, still with all 52 targets."""
    from head360.export.rig import RigConfig, build_rig
    from head360.model.checkpoint import Subject

    t, s, _ = codes(generator)
    weights = np.zeros(52, np.float32)
    weights[INDEX["jawOpen"]] = 0.4
    with torch.no_grad():
        planes = generator.planes(t, s, torch.as_tensor(weights)[None], None)
    subject = Subject(t[0].numpy(), s[0].numpy(), weights, head_planes=planes.head[0].numpy())
    rig = build_rig(generator, subject, config=RigConfig(texture_resolution=32))
    assert rig.hair is None and rig.texture.shape == (32, 32, 3)
    np.testing.assert_allclose(rig.default_weights, weights)
    assert all(p.targets.shape[0] == 52 for p in rig.parts)


def test_blender_imports_the_rig_when_it_is_installed(exported, tiny_checkpoint):
    """scripts/check_rig_blender.py: 52 ARKit shape keys, the texture on the materials, jawOpen = 1 moving
    as V(s, b) says, the vertex count and the hair object (Blender is not part of `make test`)."""
    import sys

    if shutil.which("blender") is None:
        pytest.skip("Blender is not installed (apt-get install blender); scripts/check_rig_blender.py checks by hand")
    script = ROOT / "scripts" / "check_rig_blender.py"
    argv = [
        sys.executable,
        str(script),
        "--checkpoint",
        str(tiny_checkpoint),
        "--subject",
        "1",
        "--glb",
        str(exported[0]),
    ]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    report = json.loads(proc.stdout[proc.stdout.index("{") :])
    assert all(report["checks"].values()) and report["hair_vertices"] > 0
