"""`synth --from-meshes`: rigged heads exported as OBJs render into the same dataset layout."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from head360.arkit import ARKIT_NAMES, NEUTRAL
from head360.errors import Head360Error

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def rigs(tmp_path_factory):
    """Two factory subjects exported as artist rigs: neutral + 52 ARKit OBJs, texture, hair."""
    from head360.synth.export import write_subject_meshes
    from head360.synth.subject import SubjectAssets, expression_weights, sample_subject

    root = tmp_path_factory.mktemp("rigs")
    for i in range(2):
        assets = SubjectAssets.build(sample_subject(0, i), texture_size=256)
        for j, expression in enumerate((NEUTRAL, *ARKIT_NAMES)):
            write_subject_meshes(root / assets.spec.id, assets, expression, expression_weights(expression), j == 0)
    return root


def _synth(*args, timeout=900):
    return subprocess.run([sys.executable, str(ROOT / "main.py"), "synth", "--quiet", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)  # fmt: skip


def test_import_renders_what_the_factory_rendered(rigs, tmp_path):
    from head360.data.dataset import HeadDataset

    common = ["--preset", "tiny", "--subjects", "2", "--resolution", "48", "--expressions", "neutral,jawOpen",
              "--hair", "off", "--no-meshes"]  # fmt: skip
    r = _synth("--out", str(tmp_path / "procedural"), *common)
    assert r.returncode == 0, r.stderr
    r = _synth("--from-meshes", str(rigs), "--out", str(tmp_path / "imported"), *common)
    assert r.returncode == 0, r.stderr
    index = json.loads((tmp_path / "imported" / "dataset.json").read_text())
    assert [s["id"] for s in index["subjects"]] == ["s000", "s001"]
    assert {s["hairstyle"] for s in index["subjects"]} <= set(index["hairstyles"])
    assert all(s["hairstyle"] != "none" for s in index["subjects"])  # hair.obj was found
    a = HeadDataset(tmp_path / "procedural", hair=False)
    b = HeadDataset(tmp_path / "imported", hair=False)
    assert len(a) == len(b) == 2 * 2 * 72
    for i in (0, 30, 100, 200):
        ra, rb = a.records[i], b.records[i]
        assert (ra["subject"], ra["expression"], ra["view"]) == (rb["subject"], rb["expression"], rb["view"])
        mse = float(((a[i]["image"] - b[i]["image"]) ** 2).mean())
        psnr = 10 * np.log10(1.0 / max(mse, 1e-10))
        assert psnr > 35, f"imported render differs from the procedural one ({psnr:.1f} dB)"
        assert (a[i]["label_map"] == b[i]["label_map"]).float().mean() > 0.99
    # the imported subjects got shape codes in a model fitted on them
    assert all(len(s["shape"]) == 50 for s in index["subjects"])


def test_missing_blendshape_and_topology_mismatch_are_clear(rigs, tmp_path):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(rigs, broken)
    (broken / "s001" / "mouthClose.obj").unlink()
    r = _synth("--from-meshes", str(broken), "--out", str(tmp_path / "x"), "--preset", "tiny")
    assert r.returncode != 0 and "lacks 1 of the 52 ARKit blendshape OBJs (mouthClose)" in r.stderr
    assert r.stderr.count("\n") == 1
    shutil.copy(broken / "s000" / "mouthClose.obj", broken / "s001" / "mouthClose.obj")
    # a blendshape with one vertex fewer
    lines = (broken / "s001" / "jawOpen.obj").read_text().splitlines()
    first_v = next(i for i, line in enumerate(lines) if line.startswith("v "))
    (broken / "s001" / "jawOpen.obj").write_text("\n".join(lines[:first_v] + lines[first_v + 1 :]) + "\n")
    r = _synth("--from-meshes", str(broken), "--out", str(tmp_path / "y"), "--preset", "tiny")
    assert r.returncode != 0 and ("topology" in r.stderr or "vertices" in r.stderr)
    assert not (tmp_path / "y" / "dataset.json").exists()


def test_empty_mesh_folder(tmp_path):
    from head360.synth.importer import ImportWriter
    from head360.synth.writer import make_config

    with pytest.raises(Head360Error, match="no subject folders"):
        ImportWriter(tmp_path, tmp_path / "out", make_config("tiny"))
