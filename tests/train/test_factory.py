"""Training on what the data factory makes: a `synth --preset tiny` folder and the online dataset.
Skipped until the procedural heads (template, hair, appearance) are part of the code base."""

from __future__ import annotations

import json
import math

import pytest

from tests.train.conftest import read_log, run_training

for module in ("head360.mesh.template", "head360.synth.hair", "head360.synth.appearance", "head360.gl.renderer"):
    pytest.importorskip(module, reason="the procedural head factory is not in this code base yet")


@pytest.fixture(scope="module")
def synth_tiny(tmp_path_factory):
    import main as cli

    out = tmp_path_factory.mktemp("synth") / "tiny"
    assert cli.main(["synth", "--preset", "tiny", "--no-meshes", "--out", str(out), "--quiet"]) == 0
    return out


def test_all_stages_then_eval_on_a_synth_tiny_dataset(synth_tiny, tmp_path, capsys):
    import main as cli

    run = tmp_path / "run"
    result = run_training(synth_tiny, run, stage="all", steps=6)
    assert result.stopped == "done" and result.step == 6
    log = read_log(run)
    assert [e["stage"] for e in log if e.get("event") == "stage_finished"] == [1, 2, 3]
    assert all(math.isfinite(v) for e in log if "event" not in e for v in e["losses"].values())
    argv = ["eval", "--checkpoint", str(run), "--data", str(synth_tiny), "--max-images", "4", "--fit-steps", "2"]
    code = cli.main(argv)
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert report["groups"]["held_out_views"]["images"] == 4


def test_a_few_steps_on_the_online_dataset(tmp_path):
    run = tmp_path / "run"
    result = run_training("online:2:64", run, stage="1", steps=2)
    assert result.step == 2
    from head360.model.checkpoint import load_checkpoint

    ckpt = load_checkpoint(run / "checkpoint.safetensors")
    assert len(ckpt.subjects) == 2 and ckpt.info["split"]["online"] is True
