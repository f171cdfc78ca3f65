"""The three stages on the toy dataset (tiny preset, CPU): losses finite and falling, stage 2 changes
only the hair planes (bald renders stay exactly the same), stage 3 only the RefineNet, and the
checkpoint's subject table renders each training subject as that person."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest
import torch

from tests.train.conftest import read_log, run_training


@pytest.fixture(scope="module")
def long_run(toy_data, tmp_path_factory):
    run = tmp_path_factory.mktemp("long") / "run"
    run_training(toy_data, run, stage="1", steps=20, seed=0)
    return run


@pytest.fixture(scope="module")
def chain(toy_data, tmp_path_factory):
    """Stage 1 (4 steps), then stage 2 (2 steps), then stage 3 (2 steps) in one run folder; a copy of
    the generator checkpoint after each stage."""
    root = tmp_path_factory.mktemp("chain")
    run = root / "run"
    copies = {}
    for stage, steps in ((1, 4), (2, 2), (3, 2)):
        run_training(toy_data, run, stage=str(stage), steps=steps, resume=stage > 1)
        copies[stage] = root / f"after-stage-{stage}.safetensors"
        shutil.copyfile(run / "checkpoint.safetensors", copies[stage])
    return run, copies


def _losses(run, stage):
    return [e["losses"] for e in read_log(run) if "event" not in e and e["stage"] == stage]


def test_stage1_losses_are_finite_and_fall_on_the_toy_set(long_run):
    logged = _losses(long_run, 1)
    assert len(logged) == 4  # every 5 steps
    for entry in logged:
        assert all(math.isfinite(v) for v in entry.values()), entry
    first, last = logged[0], logged[-1]
    assert last["l1"] < 0.6 * first["l1"], (first["l1"], last["l1"])
    assert last["l1_raw"] < 0.6 * first["l1_raw"], (first["l1_raw"], last["l1_raw"])
    assert {"g_gan", "d_gan", "code_prior", "r1", "density_tv"} <= set().union(*logged)


def test_training_writes_samples_tensorboard_and_a_loadable_checkpoint(long_run):
    from PIL import Image

    samples = long_run / "samples"
    assert (samples / "step-00000020.png").is_file() and (samples / "latest.png").is_file()
    grid = np.asarray(Image.open(samples / "latest.png"))
    assert grid.shape == (2 * 64 + 2, 4 * 64 + 3 * 2, 3)  # 2 training subjects x (front, side, back, bald)
    assert grid[:64, :64].std() > 10  # a head, not a blank tile
    assert any((long_run / "tb").glob("events.out.tfevents.*"))
    events = {e.get("event") for e in read_log(long_run)}
    assert {"started", "stage_started", "checkpoint", "samples", "stage_finished", "stopped"} <= events


def test_checkpoint_subjects_render_as_those_people(long_run, toy_data):
    """``render --subject N`` shows training subject N: pairing each render with its own subject's
    photo fits better than swapping the two (after 20 tiny steps mostly through the head's shape)."""
    from head360.data.dataset import HeadDataset
    from head360.export.render import render_image
    from head360.model.checkpoint import load_checkpoint, resolve_subject

    ckpt = load_checkpoint(long_run / "checkpoint.safetensors")
    assert [s.name for s in ckpt.subjects] == ["s000", "s001"]
    assert [s.hairstyle for s in ckpt.subjects] == ["short", "long"]
    ds = HeadDataset(toy_data, hair=True, expressions=["neutral"], views=[24])
    truth = {ds.records[i]["subject"]: ds[i]["image"].permute(1, 2, 0).numpy() * 255 for i in range(len(ds))}
    renders = {}
    for index, name in enumerate(("s000", "s001")):
        subject = resolve_subject(ckpt, index)
        np.testing.assert_array_equal(subject.shape_code, np.asarray(ds.subjects[index]["shape"], np.float32))
        renders[name] = render_image(ckpt.generator, subject, subject.blend_weights, subject.hairstyle).astype(float)

    def dist(a, b):
        return np.abs(renders[a] - truth[b]).mean()

    assert dist("s000", "s000") + dist("s001", "s001") < dist("s000", "s001") + dist("s001", "s000")


def _state(path):
    from head360.model.checkpoint import load_checkpoint

    return load_checkpoint(path).generator.state_dict()


def test_stage2_trains_only_the_hair_planes(chain):
    run, copies = chain
    before, after = _state(copies[1]), _state(copies[2])
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed, "stage 2 changed nothing"
    assert all(k.startswith(("hair_embedding", "hair_color.", "hair_synthesis.")) for k in changed), sorted(changed)[:5]
    assert any(k.startswith("hair_synthesis.") for k in changed)
    log = read_log(run)
    started = [e for e in log if e.get("event") == "stage_started" and e["stage"] == 2]
    assert started and started[0]["images"] == 56  # only the images with hair of the training split
    assert all(math.isfinite(v) for entry in _losses(run, 2) for v in entry.values())


def test_after_stage2_bald_renders_are_unchanged_and_hair_renders_change(chain):
    from head360.export.render import render_image
    from head360.model.checkpoint import load_checkpoint, resolve_subject

    _, copies = chain
    images = {}
    for stage in (1, 2):
        ckpt = load_checkpoint(copies[stage])
        subject = resolve_subject(ckpt, 1)
        for hair in (False, True):
            images[stage, hair] = render_image(
                ckpt.generator, subject, subject.blend_weights, subject.hairstyle, yaw=150.0, hair=hair
            )
    np.testing.assert_array_equal(images[1, False], images[2, False])
    assert np.abs(images[1, True].astype(int) - images[2, True].astype(int)).max() > 0


def test_stage3_trains_only_the_refinenet_and_says_which_losses_ran(chain):
    run, copies = chain
    before, after = _state(copies[2]), _state(copies[3])
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all(k.startswith("refine.") for k in changed), sorted(changed)[:5]
    used = [e for e in read_log(run) if e.get("event") == "losses_used" and e["stage"] == 3]
    assert used[0]["terms"] == ["lsgan", "feature_matching", "ssim"]
    assert "unavailable" in used[0]["lpips"]
    logged = _losses(run, 3)
    assert logged and {"g_lsgan", "feature_matching", "ssim_loss", "d_lsgan"} <= set(logged[-1])
    assert all(math.isfinite(v) for entry in logged for v in entry.values())
