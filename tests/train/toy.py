"""A toy dataset in the on-disk format of ``main.py synth`` (test fixture, not product code).

Heads are the stand-in mesh model of ``tests.model.standin`` (an ellipsoid with a few blendshapes)
posed with each subject's shape code and each expression's ARKit weights, rasterised with numpy
(2x supersampled, z-buffered, Lambert-shaded from a light above the camera): a skin colour per subject,
two dark eyes and a red mouth on the face side (so front, side and back views differ), and optional
hair: a shell over the skull ("short") or the skull and the back of the head ("long"). Bald and haired
images of every (subject, expression, view), label maps, the mesh model and a dataset.json exactly like
the writer's.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from head360.arkit import NEUTRAL
from head360.cameras import rig_camera, rig_views
from head360.labels import Label
from head360.synth.subject import expression_weights
from tests.model.standin import standin_mesh_model

# pitch 0: every 30 degrees of yaw plus the four rig views the split holds out (yaw 75, 165, 255, 345);
# pitch -20 / +20 from the front
TOY_VIEWS: tuple[int, ...] = tuple(range(24, 48, 2)) + (29, 35, 41, 47, 0, 48)
TOY_HAIRSTYLES = ("none", "short", "long")
SUBDIVISIONS = 3


def _unit_sphere(subdivisions: int = SUBDIVISIONS):
    import trimesh

    s = trimesh.creation.icosphere(subdivisions=subdivisions)
    return np.asarray(s.vertices, np.float64), np.asarray(s.faces, np.int64)


def _vertex_normals(v: np.ndarray, f: np.ndarray) -> np.ndarray:
    fn = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    n = np.zeros_like(v)
    for k in range(3):
        np.add.at(n, f[:, k], fn)
    return n / np.linalg.norm(n, axis=1, keepdims=True).clip(1e-9)


def _rasterise(verts, faces, colours, labels, camera, size):
    """Z-buffered flat-interpolated rasterisation. verts [V,3] world, colours [V,3] float, labels [F]
    -> rgb [S,S,3] float, alpha [S,S], label [S,S] uint8."""
    px = camera.project(verts, size)  # [V, 2] continuous pixel coords
    depth = camera.depth_of(verts)
    tri = px[faces]  # [F, 3, 2]
    lo = np.floor(tri.min(axis=1) - 0.5).astype(int)
    hi = np.ceil(tri.max(axis=1) - 0.5).astype(int)
    k = int(max(1, (hi - lo).max() + 1))
    oy, ox = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
    cx = lo[:, None, 0] + ox.reshape(1, -1)  # [F, K*K]
    cy = lo[:, None, 1] + oy.reshape(1, -1)
    p = np.stack([cx + 0.5, cy + 0.5], -1)  # pixel centres
    a, b, c = tri[:, None, 0], tri[:, None, 1], tri[:, None, 2]
    den = (b[..., 1] - c[..., 1]) * (a[..., 0] - c[..., 0]) + (c[..., 0] - b[..., 0]) * (a[..., 1] - c[..., 1])
    den = np.where(np.abs(den) < 1e-12, 1e-12, den)
    w0 = ((b[..., 1] - c[..., 1]) * (p[..., 0] - c[..., 0]) + (c[..., 0] - b[..., 0]) * (p[..., 1] - c[..., 1])) / den
    w1 = ((c[..., 1] - a[..., 1]) * (p[..., 0] - c[..., 0]) + (a[..., 0] - c[..., 0]) * (p[..., 1] - c[..., 1])) / den
    w2 = 1.0 - w0 - w1
    inside = (w0 >= 0) & (w1 >= 0) & (w2 >= 0) & (cx >= 0) & (cy >= 0) & (cx < size) & (cy < size)
    fi, si = np.nonzero(inside)
    bary = np.stack([w0[fi, si], w1[fi, si], w2[fi, si]], -1)
    z = (bary * depth[faces[fi]]).sum(-1)
    pix = cy[fi, si] * size + cx[fi, si]
    order = np.lexsort((z, pix))  # by pixel, nearest first
    pix, fi, bary = pix[order], fi[order], bary[order]
    first = np.ones(len(pix), bool)
    first[1:] = pix[1:] != pix[:-1]
    pix, fi, bary = pix[first], fi[first], bary[first]
    rgb = np.ones((size * size, 3))
    alpha = np.zeros(size * size)
    label = np.zeros(size * size, np.uint8)
    rgb[pix] = (bary[..., None] * colours[faces[fi]]).sum(1)
    alpha[pix] = 1.0
    label[pix] = labels[fi]
    return rgb.reshape(size, size, 3), alpha.reshape(size, size), label.reshape(size, size)


def _subject(rng: np.random.Generator, index: int) -> dict:
    skin = np.clip(np.array([0.85, 0.65, 0.5]) + rng.uniform(-0.2, 0.1, 3), 0, 1)
    hair = np.clip(np.array([0.25, 0.15, 0.08]) * rng.uniform(0.3, 3.0), 0, 1)
    return {
        "id": f"s{index:03d}",
        "seed": int(rng.integers(2**31)),
        "identity": [0.0] * 50,
        "appearance": {"skin": skin.round(4).tolist(), "hair": hair.round(4).tolist()},
        "hairstyle": TOY_HAIRSTYLES[1 + index % 2],
        "shape": (rng.standard_normal(50) * 0.4).round(5).tolist(),
    }


def render_toy_image(model, unit, faces, subject: dict, expression: str, view: int, hair: bool, size: int):
    """RGBA uint8 [S, S, 4] (composited on white) and label map [S, S] of one toy image."""
    weights = expression_weights(expression)
    verts = model.vertices_np(np.asarray(subject["shape"], np.float32), weights).astype(np.float64)
    normals = _vertex_normals(verts, faces)
    camera = rig_camera(view)
    light = camera.position + np.array([0.0, 4.0, 0.0])
    skin = np.asarray(subject["appearance"]["skin"])
    base = np.tile(skin, (len(unit), 1))
    for side in (-1.0, 1.0):  # eyes
        d = np.linalg.norm(unit - np.array([0.35 * side, 0.3, 0.88]), axis=1)
        base[d < 0.22] = [0.08, 0.08, 0.12]
    mouth = (unit[:, 2] > 0.75) & (unit[:, 1] > -0.6) & (unit[:, 1] < -0.25) & (np.abs(unit[:, 0]) < 0.35)
    base[mouth] = [0.75, 0.15, 0.2]
    face_unit = unit[faces].mean(1)
    labels = np.full(len(faces), int(Label.SKIN), np.uint8)
    eye_centres = np.array([[0.35, 0.3, 0.88], [-0.35, 0.3, 0.88]])
    labels[np.linalg.norm(face_unit[:, None] - eye_centres, axis=2).min(1) < 0.2] = Label.EYES
    labels[(face_unit[:, 2] > 0.75) & (face_unit[:, 1] > -0.6) & (face_unit[:, 1] < -0.25)] = Label.MOUTH_INTERIOR
    all_v, all_f, all_c, all_l = [verts], [faces], [base], [labels]
    if hair:
        style = subject["hairstyle"]
        covered = face_unit[:, 1] > 0.25
        if style == "long":
            covered |= (face_unit[:, 2] < 0.1) & (face_unit[:, 1] > -0.55)
        hv = verts + normals * 0.12
        all_v.append(hv)
        all_f.append(faces[covered] + len(verts))
        all_c.append(np.tile(np.asarray(subject["appearance"]["hair"]), (len(hv), 1)))
        all_l.append(np.full(int(covered.sum()), int(Label.HAIR), np.uint8))
        normals = np.concatenate([normals, normals])
    v = np.concatenate(all_v)
    c = np.concatenate(all_c)
    to_light = light - v
    to_light /= np.linalg.norm(to_light, axis=1, keepdims=True)
    shade = 0.35 + 0.65 * np.abs((normals * to_light).sum(1))
    faces_all, labels_all = np.concatenate(all_f), np.concatenate(all_l)
    rgb, alpha, label = _rasterise(v, faces_all, c * shade[:, None], labels_all, camera, 2 * size)
    rgb = cv2.resize(rgb * alpha[..., None], (size, size), interpolation=cv2.INTER_AREA)
    alpha = cv2.resize(alpha, (size, size), interpolation=cv2.INTER_AREA)
    rgb = rgb + (1.0 - alpha[..., None])  # composite on white, as the writer stores renders
    label = label[::2, ::2]
    rgba = np.dstack([np.clip(rgb, 0, 1) * 255, alpha * 255]).round().astype(np.uint8)
    return rgba, label


def write_toy_dataset(
    root: str | Path,
    subjects: int = 3,
    expressions: tuple[str, ...] = (NEUTRAL, "jawOpen", "mouthSmileLeft"),
    views: tuple[int, ...] = TOY_VIEWS,
    resolution: int = 64,
    seed: int = 0,
    hair_modes: tuple[str, ...] = ("hair", "bald"),
) -> Path:
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    model = standin_mesh_model(SUBDIVISIONS)
    model.save(root / "mesh_model.safetensors")
    unit, faces = _unit_sphere()
    rng = np.random.default_rng(seed)
    subs = [_subject(rng, i) for i in range(subjects)]
    yaw_pitch = {v: (yaw, pitch) for v, yaw, pitch in rig_views()}
    labels, images = [], []
    for s in subs:
        for expression in expressions:
            for mode in hair_modes:
                for view in views:
                    rel = f"images/{s['id']}/{expression}/{mode}/{view:02d}.png"
                    rgba, label = render_toy_image(model, unit, faces, s, expression, view, mode == "hair", resolution)
                    path = root / rel
                    path.parent.mkdir(parents=True, exist_ok=True)
                    cv2.imwrite(str(path), cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
                    cv2.imwrite(str(path)[: -len(".png")] + ".label.png", label)
                    labels.append([rel, rig_camera(view).label()])
                    yaw, pitch = yaw_pitch[view]
                    images.append({
                        "path": rel, "subject": s["id"], "expression": expression, "hair": mode == "hair",
                        "hairstyle": s["hairstyle"] if mode == "hair" else "none", "view": view,
                        "yaw_deg": yaw, "pitch_deg": pitch,
                    } | ({"hair_color": s["appearance"]["hair"]} if mode == "hair" else {}))  # fmt: skip
    index = {
        "labels": labels,
        "images": images,
        "expressions": list(expressions),
        "resolution": resolution,
        "subjects": subs,
        "hairstyles": list(TOY_HAIRSTYLES),
        "mesh_model": "mesh_model.safetensors",
        "format": "head360-dataset/1",
    }
    (root / "dataset.json").write_text(json.dumps(index))
    return root


def torchrun_train(data: Path, out: Path, *extra: str, timeout: float = 600):
    """``torchrun --standalone --nproc_per_node 2 main.py train`` on the CPU (gloo, tiny preset, one torch
    thread per process), as the distributed test and ``bench/bench_torchrun_exit.py`` run it; the
    finished ``subprocess.CompletedProcess`` (text stdout/stderr)."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        str(root / "main.py"), "train", "--data", str(data), "--preset", "tiny", "--device", "cpu", "--quiet",
        "--out", str(out), *extra,
    ]  # fmt: skip
    # faulthandler: a rank that crashes prints its Python stacks into stderr
    env = {**os.environ, "PYTHONPATH": str(root), "OMP_NUM_THREADS": "1", "PYTHONFAULTHANDLER": "1"}
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
