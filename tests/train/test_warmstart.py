"""``main.py train --init CHECKPOINT``: a new run starts from a trained model's weights (fine-tuning),
keeps the texture codes of the subjects it already knows and the hairstyles by name, and refuses a
checkpoint of another preset with one line."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.train.conftest import read_log, run_training
from tests.train.test_eval_and_errors import _copy_dataset, _one_line_error, _train


@pytest.fixture(scope="module")
def trained(toy_data, tmp_path_factory):
    run = tmp_path_factory.mktemp("source") / "run"
    run_training(toy_data, run, stage="1", steps=12, seed=0)
    return run / "checkpoint.safetensors"


def _reshape_s001(index):
    """A dataset where s001 is another person under the same name."""
    index["subjects"][1]["shape"] = [v + 0.5 for v in index["subjects"][1]["shape"]]


def _trainer(data, out, init):
    from head360.train.distributed import init_distributed
    from head360.train.trainer import Trainer, TrainOptions

    opts = TrainOptions(data=str(data), out=str(out), preset="tiny", stage="1", device="cpu", init=str(init))
    return Trainer(opts, init_distributed("cpu"))


def test_a_warm_started_run_begins_with_the_checkpoints_model(trained, toy_data, tmp_path):
    from head360.model.checkpoint import load_checkpoint

    ckpt = load_checkpoint(trained)
    trainer = _trainer(toy_data, tmp_path / "run", trained)
    for net in (trainer.model, trainer.ema):
        got = net.generator.state_dict()
        for k, v in ckpt.generator.state_dict().items():
            assert torch.equal(got[k], v), k
        codes = net.texture_codes.weight.detach().numpy()
        for row, s in enumerate(ckpt.subjects):
            np.testing.assert_array_equal(codes[row], s.texture_code)
    d_state = trainer.D.state_dict()
    assert all(torch.equal(d_state[k], v) for k, v in ckpt.modules["discriminator"].items())
    assert trainer.init_report["texture_codes_kept"] == ["s000", "s001"]
    assert trainer.init_report["discriminator"] == "kept"


def test_fine_tuning_starts_where_the_checkpoint_left_off(trained, toy_data, tmp_path):
    """The first logged L1 of a warm-started run is far below a fresh run's, and the run records where
    it started (run.json, the log's "initialised" event)."""

    def first_l1(run):
        return next(e["losses"]["l1"] for e in read_log(run) if "event" not in e)

    run_training(toy_data, tmp_path / "fresh", steps=5, seed=1)
    run_training(toy_data, tmp_path / "warm", steps=5, seed=1, init=str(trained))
    assert first_l1(tmp_path / "warm") < 0.7 * first_l1(tmp_path / "fresh")
    init = json.loads((tmp_path / "warm" / "run.json").read_text())["init"]
    assert init["checkpoint"] == str(trained) and init["texture_codes_kept"] == ["s000", "s001"]
    assert any(e.get("event") == "initialised" for e in read_log(tmp_path / "warm"))


def test_only_the_same_people_keep_their_codes_and_hairstyles_carry_over_by_name(toy_data, tmp_path):
    from head360.model.checkpoint import load_checkpoint
    from head360.model.init_checkpoint import init_checkpoint

    source = tmp_path / "source.safetensors"
    init_checkpoint("tiny", str(toy_data / "mesh_model.safetensors"), str(source), seed=7, hairstyles=("curly", "long"))
    theirs = load_checkpoint(source).generator.hair_embedding.detach()

    other = _copy_dataset(toy_data, tmp_path / "other", _reshape_s001)
    trainer = _trainer(other, tmp_path / "run", source)
    ours = trainer.model.generator.hair_embedding.detach()
    assert trainer.model.generator.hairstyles == ("short", "long")
    assert torch.equal(ours[1], theirs[1])  # "long"
    assert not any(torch.equal(ours[0], t) for t in theirs)  # "short" is new to the checkpoint
    report = trainer.init_report
    assert report["hairstyles_kept"] == ["long"] and report["hairstyles_new"] == ["short"]
    # the untrained checkpoint's subjects are "random 0".."random 3": nobody here keeps a code
    assert report["texture_codes_kept"] == [] and report["texture_codes_new"] == ["s000", "s001"]


def test_a_different_person_under_the_same_name_gets_a_new_code(trained, toy_data, tmp_path):
    other = _copy_dataset(toy_data, tmp_path / "other", _reshape_s001)
    report = _trainer(other, tmp_path / "run", trained).init_report
    assert report["texture_codes_kept"] == ["s000"] and report["texture_codes_new"] == ["s001"]


def test_a_checkpoint_of_another_preset_is_refused(toy_data, tmp_path, capsys):
    from head360.assets import bundled_checkpoint

    code, _, err = _train(["--init", str(bundled_checkpoint())], capsys, toy_data, tmp_path / "run")
    line = _one_line_error(code, err)
    assert "'demo' model" in line and "'tiny' preset" in line
    assert not (tmp_path / "run").exists()
    code, _, err = _train(["--init", str(tmp_path / "missing.safetensors")], capsys, toy_data, tmp_path / "run")
    assert "not found" in _one_line_error(code, err)


def test_a_model_without_the_hair_colour_input_warm_starts_one_with_it(trained, toy_data, tmp_path):
    """A checkpoint from before hair colour was an input fine-tunes into a run that has it: every weight
    carries over, the colour weight starts at zero (the run renders as the checkpoint did) and each
    hairstyle's reference colour is the mean colour the training data shows it in."""
    import copy

    from head360.data.dataset import HeadDataset
    from head360.model.checkpoint import load_checkpoint, save_checkpoint
    from head360.model.generator import Head360Generator

    ckpt = load_checkpoint(trained)
    cfg = copy.deepcopy(ckpt.generator.config)
    cfg.hair.color = False
    old = Head360Generator(cfg, ckpt.generator.mesh)
    state = {k: v for k, v in ckpt.generator.state_dict().items() if not k.startswith("hair_color")}
    old.load_state_dict(state)
    save_checkpoint(tmp_path / "old.safetensors", old, ckpt.subjects, info=ckpt.info)

    trainer = _trainer(toy_data, tmp_path / "run", tmp_path / "old.safetensors")
    assert trainer.init_report["hair_color"] == "new"
    g = trainer.model.generator
    got = g.state_dict()
    assert all(torch.equal(got[k], v) for k, v in state.items())
    assert torch.count_nonzero(g.hair_color.weight) == 0
    ds = HeadDataset(toy_data, hair=True)
    for style in {r["hairstyle"] for r in ds.records}:
        colors = [c for r, c in zip(ds.records, ds.hair_colors, strict=True) if r["hairstyle"] == style]
        np.testing.assert_allclose(g.hair_color_ref[g.hairstyle_index(style)].numpy(), np.mean(colors, 0), atol=1e-3)
    torch.testing.assert_close(trainer.ema.generator.hair_color_ref, g.hair_color_ref)


def test_training_learns_the_hair_colour_input_and_records_each_subjects_colour(trained, toy_data):
    from head360.model.checkpoint import load_checkpoint

    ckpt = load_checkpoint(trained)
    assert torch.count_nonzero(ckpt.generator.hair_color.weight) > 0  # gradients reach the colour input
    index = json.loads((toy_data / "dataset.json").read_text())
    colors = {r["subject"]: r["hair_color"] for r in index["images"] if r["hair"]}
    for s in ckpt.subjects:  # a subject's colour is the one its own hair images show
        np.testing.assert_allclose(s.hair_color, colors[s.name], atol=1e-4)
