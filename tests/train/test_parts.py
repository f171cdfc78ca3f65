"""The small pieces training relies on: SSIM / PSNR against scikit-image, the R1 penalty, optimiser
state through safetensors, the data split, the rank-sharded sampler and the presets' step budgets."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from head360.errors import Head360Error
from head360.train.config import make_train_config, stage_step_budgets, train_config_from_dict, train_config_to_dict
from head360.train.data import ShardedBatchSampler, choose_split
from head360.train.losses import code_prior, psnr, r1_penalty, ssim


def test_ssim_and_psnr_match_scikit_image():
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    rng = np.random.default_rng(0)
    a = rng.uniform(0, 1, (40, 48, 3)).astype(np.float32)
    b = np.clip(a + rng.normal(0, 0.1, a.shape), 0, 1).astype(np.float32)
    ta, tb = (torch.from_numpy(x).permute(2, 0, 1)[None] for x in (a, b))
    ref = structural_similarity(
        a, b, channel_axis=2, data_range=1.0, gaussian_weights=True, sigma=1.5, use_sample_covariance=False
    )
    assert ssim(ta, tb).item() == pytest.approx(ref, abs=2e-3)
    assert ssim(ta, ta).item() == pytest.approx(1.0, abs=1e-5)
    assert psnr(ta, tb).item() == pytest.approx(peak_signal_noise_ratio(a, b, data_range=1.0), abs=1e-3)


def test_r1_penalty_is_the_squared_input_gradient():
    w = torch.randn(1, 3, 4, 4)
    x = torch.randn(5, 3, 4, 4, requires_grad=True)
    logits = (x * w).sum(dim=(1, 2, 3))[:, None]
    assert r1_penalty(logits, [x]).item() == pytest.approx(w.square().sum().item(), rel=1e-5)


def test_code_prior_is_zero_on_the_gaussian_shell():
    codes = torch.randn(4, 512)
    shell = codes / codes.norm(dim=1, keepdim=True) * np.sqrt(512)
    assert code_prior(shell).item() < 1e-8
    assert code_prior(codes * 3).item() > 1.0


def test_optimizer_state_survives_safetensors(tmp_path):
    from head360.train.state import flatten_optimizer, load_state_file, save_state_file, unflatten_optimizer

    net = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(net.parameters(), lr=0.01, betas=(0.0, 0.99))
    for _ in range(3):
        opt.zero_grad()
        net(torch.randn(4, 3)).square().sum().backward()
        opt.step()
    tensors, structure = flatten_optimizer("G", opt)
    save_state_file(tmp_path / "s.safetensors", tensors, {"opt": structure})
    back, state = load_state_file(tmp_path / "s.safetensors")
    assert b"pickle" not in (tmp_path / "s.safetensors").read_bytes()[:200]
    fresh = torch.optim.Adam(net.parameters(), lr=0.5)
    unflatten_optimizer("G", fresh, back, state["opt"])
    a, b = opt.state_dict(), fresh.state_dict()
    assert a["param_groups"] == b["param_groups"]
    for pid in a["state"]:
        for key in a["state"][pid]:
            assert torch.equal(torch.as_tensor(a["state"][pid][key]), torch.as_tensor(b["state"][pid][key]))


def test_split_holds_out_views_expressions_and_subjects():
    cfg = make_train_config("demo")
    subjects, expressions = [f"s{i}" for i in range(12)], ["neutral", "jawOpen", "eyeBlinkLeft"]
    split = choose_split(subjects, expressions, list(range(72)), cfg, False)
    assert split.holdout_subjects == ["s11"] and len(split.train_subjects) == 11
    assert split.holdout_expressions == ["eyeBlinkLeft"] and split.train_expressions == ["neutral", "jawOpen"]
    from head360.cameras import rig_views, yaw_group

    yaws = {v: y for v, y, _ in rig_views()}
    assert {yaw_group(yaws[v]) for v in split.holdout_views} == {"front", "side", "back"}
    # too few subjects or expressions to hold any out: nothing held out, never neutral
    tiny = choose_split(["a", "b"], ["neutral", "jawOpen"], [0, 1], cfg, False)
    assert tiny.holdout_subjects == [] and tiny.holdout_expressions == [] and tiny.holdout_views == []
    online = choose_split(["a", "b", "c"], ["neutral"], [], cfg, True)
    assert online.online and online.train_subjects == ["a", "b", "c"]


def test_sharded_sampler_splits_ranks_and_resumes_mid_epoch():
    size, batch, world = 23, 3, 2
    first = [ShardedBatchSampler(size, batch, r, world, seed=5, stage=1) for r in range(world)]
    per_rank = [[b for _, b in zip(range(8), iter(s), strict=False)] for s in first]
    epoch0 = [sum(per_rank[r][: first[r].batches_per_epoch], []) for r in range(world)]
    padding = batch * world * first[0].batches_per_epoch - size  # the last batches repeat a few images
    assert len(set(epoch0[0]) & set(epoch0[1])) <= padding
    assert set(epoch0[0]) | set(epoch0[1]) == set(range(size))
    pos = first[0].position_after(5)
    again = ShardedBatchSampler(size, batch, 0, world, seed=5, stage=1, start=pos)
    assert [b for _, b in zip(range(3), iter(again), strict=False)] == per_rank[0][5:8]


def test_step_budgets_and_config_round_trip():
    cfg = make_train_config("tiny")
    assert stage_step_budgets(cfg, (1, 2, 3), None) == {1: 40, 2: 8, 3: 8}
    assert stage_step_budgets(cfg, (2,), 5) == {2: 5}
    split = stage_step_budgets(cfg, (1, 2, 3), 28)
    assert sum(split.values()) == 28 and split[1] == 20
    assert train_config_from_dict(train_config_to_dict(cfg)) == cfg
    with pytest.raises(Head360Error, match="unknown training preset"):
        make_train_config("huge")
    for name in ("paper", "demo", "tiny"):
        from head360.model.config import make_config

        assert make_train_config(name).name == make_config(name).name == name


def test_run_folder_never_deletes_the_checkpoint_latest_names(tmp_path):
    import json

    from head360.train.state import RunDir

    run = RunDir(tmp_path / "run")
    run.root.mkdir()

    def writer(text):
        return lambda p: p.write_text(text)

    for step in (2, 4, 6):
        run.save(step, writer(f"g{step}"), writer(f"s{step}"), {"step": step})
    names = sorted(p.name for p in (run.root / "checkpoints").iterdir())
    assert names == ["step-00000004", "step-00000006"]  # the previous one is kept
    # the same step saved again (a stage marked finished without new steps): replaced in place
    run.save(6, writer("g6b"), writer("s6b"), {"step": 6, "completed": [1]})
    assert (run.latest()["dir"] / "generator.safetensors").read_text() == "g6b"
    # a failing save of that same step leaves it in place
    with pytest.raises(Head360Error, match="cannot save"):
        run.save(6, writer("g6c"), lambda p: (_ for _ in ()).throw(OSError(5, "I/O error")), {"step": 6})
    assert (run.latest()["dir"] / "generator.safetensors").read_text() == "g6c"
    assert (run.latest()["dir"] / "state.safetensors").read_text() == "s6b"
    # resumed from step 4 after a kill: the later leftovers go when step 5 is saved
    (run.root / "latest.json").write_text(json.dumps({"step": 4, "dir": "checkpoints/step-00000004"}))
    run.save(5, writer("g5"), writer("s5"), {"step": 5})
    assert sorted(p.name for p in (run.root / "checkpoints").iterdir()) == ["step-00000004", "step-00000005"]
    assert run.checkpoint_path.read_text() == "g5"
