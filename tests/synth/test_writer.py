"""The dataset writer and reader, end to end on the tiny preset (rendered once per test session)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from head360.cameras import Camera
from head360.errors import Head360Error
from head360.labels import Label

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory):
    from head360.synth.writer import DatasetWriter, make_config

    out = tmp_path_factory.mktemp("tiny")
    DatasetWriter(out, make_config("tiny", subjects=2), progress=False).run()
    return out


def test_layout_and_eg3d_labels(tiny_dataset):
    index = json.loads((tiny_dataset / "dataset.json").read_text())
    assert index["resolution"] == 64
    assert index["expressions"] == ["neutral", "jawOpen", "eyeBlinkLeft"]
    # 2 subjects x 3 expressions x 72 views x (hair, bald)
    assert len(index["images"]) == len(index["labels"]) == 2 * 3 * 72 * 2
    rel, label = index["labels"][0]
    assert len(label) == 25 and (tiny_dataset / rel).is_file()
    views = {(r["yaw_deg"], r["pitch_deg"]) for r in index["images"]}
    assert len(views) == 72
    assert {r["hairstyle"] for r in index["images"] if not r["hair"]} == {"none"}
    assert (tiny_dataset / "mesh_model.safetensors").is_file()
    assert (tiny_dataset / "meshes" / "s000" / "jawOpen.obj").is_file()
    assert all(len(s["shape"]) == 50 for s in index["subjects"])


def test_reader_round_trip(tiny_dataset):
    from head360.data.dataset import HeadDataset

    ds = HeadDataset(tiny_dataset)
    assert len(ds) == 2 * 3 * 72 * 2
    sample = ds[0]
    assert sample["image"].shape == (3, 64, 64) and sample["alpha"].shape == (1, 64, 64)
    assert sample["camera"].shape == (25,) and sample["weights"].shape == (52,)
    assert 0.0 <= float(sample["image"].min()) and float(sample["image"].max()) <= 1.0
    # the camera label of a record is the rig camera that rendered it
    rec = ds.records[0]
    cam = Camera.from_label(sample["camera"].numpy())
    assert abs(np.degrees(np.arctan2(cam.position[0], cam.position[2])) % 360 - rec["yaw_deg"] % 360) < 1e-3
    bald = HeadDataset(tiny_dataset, hair=False, expressions=["jawOpen"])
    assert len(bald) == 2 * 72 and all(not r["hair"] for r in bald.records)
    assert float(bald[0]["weights"].sum()) == 1.0


def test_depth_maps_match_the_mesh_model_seen_from_the_camera(tiny_dataset):
    """The factory saves each view's depth; turned into distances along the rays it is where the
    dataset's own mesh model, rasterized from the same camera, puts the surface."""
    import torch

    from head360.data.dataset import HeadDataset
    from head360.mesh.model import MeshModel
    from head360.model.screen import rasterize_camera
    from head360.train.trainer import ray_distance

    ds = HeadDataset(tiny_dataset, hair=False, expressions=["jawOpen"], views=[24, 30])
    mesh = MeshModel.load(tiny_dataset / "mesh_model.safetensors")
    faces = torch.as_tensor(np.asarray(mesh.faces, np.int64))
    uvs, faces_uv = torch.as_tensor(np.asarray(mesh.uvs, np.float32)), torch.as_tensor(np.asarray(mesh.faces_uv))
    for i in range(len(ds)):
        sample = ds[i]
        assert sample["has_depth"] and sample["depth"].shape == (1, 64, 64)
        truth = ray_distance(sample["depth"][None], sample["camera"][None], 64)[0, 0]
        verts = mesh.vertices(sample["shape"][None], sample["weights"][None])
        r = rasterize_camera(verts, faces, uvs, faces_uv, sample["camera"][None], 64)
        both = (truth > 0) & (r.coverage[0, 0] > 0) & (sample["alpha"][0] > 0.99)
        assert both.sum() > 300
        err = (truth - r.distance[0, 0])[both].abs()
        assert float(err.median()) < 0.01  # 1 mm
        assert float((sample["alpha"][0] > 0.5)[truth == 0].float().mean()) < 0.02  # empty where transparent


def test_back_view_shows_no_face(tiny_dataset):
    from head360.data.dataset import HeadDataset

    ds = HeadDataset(tiny_dataset, hair=True, expressions=["neutral"], views=[12 + 24])  # yaw 180
    for i in range(len(ds)):
        labels = set(np.unique(ds[i]["label_map"].numpy()).tolist())
        assert Label.EYES not in labels and Label.MOUTH_INTERIOR not in labels
        assert Label.HAIR in labels or Label.SKIN in labels


def test_rerun_resumes_and_killed_unit_is_redone(tiny_dataset, tmp_path):
    from head360.synth.writer import DatasetWriter, make_config

    # a finished dataset: a rerun renders nothing
    summary = DatasetWriter(tiny_dataset, make_config("tiny", subjects=2), progress=False).run()
    assert summary["rendered_units"] == 0
    # different settings in the same folder are refused
    with pytest.raises(Head360Error, match="different settings"):
        DatasetWriter(tiny_dataset, make_config("tiny", subjects=2, resolution=32), progress=False)


def test_killed_run_leaves_no_complete_looking_dataset(tmp_path):
    out = tmp_path / "killed"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), "synth", "--out", str(out), "--preset", "tiny", "--subjects", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    # kill it as soon as the first images exist
    import time

    deadline = time.time() + 120
    while time.time() < deadline and not list(out.glob("images/**/*.png")):
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    assert not (out / "dataset.json").exists()
    assert not list(out.rglob("*.part*")) or all(p.name.startswith(".") for p in out.rglob("*.part*"))
    from head360.data.dataset import HeadDataset

    with pytest.raises(Head360Error, match="unfinished"):
        HeadDataset(out)
    # the rerun finishes it
    r = subprocess.run(
        [
            sys.executable,
            str(ROOT / "main.py"),
            "synth",
            "--out",
            str(out),
            "--preset",
            "tiny",
            "--subjects",
            "1",
            "--quiet",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr
    assert len(HeadDataset(out)) == 3 * 72 * 2


@pytest.mark.parametrize(
    "args, message",
    [
        (["--subjects", "0"], "--subjects must be between"),
        (["--expressions", "jawOpen,smileBig"], "unknown blendshape name 'smileBig'"),
        (["--resolution", "4"], "--resolution must be between"),
    ],
)
def test_bad_input_is_one_clear_line(tmp_path, args, message):
    r = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "synth", "--out", str(tmp_path / "x"), "--preset", "tiny", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode != 0
    lines = [line for line in r.stderr.strip().splitlines() if line]
    assert len(lines) == 1 and message in lines[0], r.stderr
    assert not (tmp_path / "x" / "dataset.json").exists()


def test_unwritable_output_is_refused(tmp_path):
    if os.geteuid() == 0:
        target = "/proc/head360-cannot-write-here"
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        target = str(locked / "ds")
    r = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "synth", "--out", target, "--preset", "tiny"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode != 0 and "cannot write" in r.stderr and r.stderr.count("\n") == 1
