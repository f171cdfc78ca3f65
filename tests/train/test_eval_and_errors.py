"""``main.py eval`` JSON, and the clear one-line errors of ``main.py train`` / ``eval`` on bad input."""

from __future__ import annotations

import json
import math
import shutil

import pytest

import main as cli
from tests.train.conftest import run_training


@pytest.fixture(scope="module")
def short_run(toy_data, tmp_path_factory):
    run = tmp_path_factory.mktemp("short") / "run"
    run_training(toy_data, run, stage="1", steps=2)
    return run


def _cli(argv, capsys):
    code = cli.main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _one_line_error(code, err):
    assert code == 1
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


def test_eval_reports_every_group_by_yaw(short_run, toy_data, tmp_path, capsys):
    out_file = tmp_path / "eval.json"
    argv = ["eval", "--checkpoint", str(short_run), "--data", str(toy_data), "--max-images", "6"]
    code, out, err = _cli([*argv, "--fit-steps", "3", "--device", "cpu", "--out", str(out_file)], capsys)
    assert code == 0, err
    report = json.loads(out)
    assert json.loads(out_file.read_text()) == report
    assert report["resolution"] == report["model_resolution"] == 64
    assert report["metrics"] == ["psnr", "ssim"] and "unavailable" in report["lpips"]
    assert report["split"]["holdout_subjects"] == ["s002"]
    assert report["split"]["holdout_expressions"] == ["mouthSmileLeft"]
    assert report["split"]["holdout_views"] == [29, 35, 41, 47]
    groups = report["groups"]
    assert set(groups) == {"held_out_views", "held_out_expressions", "held_out_subjects", "training_images"}
    for name, group in groups.items():
        assert group["images"] == 6, name
        assert 3.0 < group["psnr"] < 60.0 and -1.0 <= group["ssim"] <= 1.0
        assert set(group["by_yaw"]) == {"front", "side", "back"}
        assert sum(g["images"] for g in group["by_yaw"].values()) == 6
        for g in group["by_yaw"].values():
            assert g["psnr"] is None or math.isfinite(g["psnr"])
    held = groups["held_out_subjects"]
    assert held["subjects"] == ["s002"] and "fitted" in held["texture_codes"] and "frozen" in held["texture_codes"]


def test_held_out_codes_are_fitted_toward_the_subjects_photos(short_run, toy_data):
    """What the renders grid shows for a person the model never saw: a code fitted on that subject's
    front views renders those views closer than the code it started from."""
    import numpy as np
    import torch

    from head360.data.dataset import HeadDataset
    from head360.train.evaluate import _Evaluator, fit_held_out_codes

    fitted = fit_held_out_codes(str(short_run), str(toy_data), fit_steps=25, device="cpu")
    assert list(fitted) == ["s002"]
    s002 = fitted["s002"]
    record = next(s for s in HeadDataset(toy_data).subjects if s["id"] == "s002")
    np.testing.assert_array_equal(s002["shape_code"], np.asarray(record["shape"], np.float32))
    assert s002["hairstyle"] == record["hairstyle"]
    ev = _Evaluator(str(short_run), str(toy_data), "cpu")
    front = [i for i, r in enumerate(ev.ds.records) if r["subject"] == "s002" and r["view"] == 24]
    start = torch.as_tensor(np.stack([s.texture_code for s in ev.ckpt.subjects]).mean(0))

    def error(code):
        return -np.mean([r["psnr"] for r in ev.measure(front, lambda _sid: torch.as_tensor(code))])

    assert error(s002["texture_code"]) < error(start)


def test_eval_of_an_untrained_checkpoint_is_a_clear_error(toy_data, tmp_path, capsys):
    from head360.model.init_checkpoint import init_checkpoint

    ckpt = tmp_path / "untrained.safetensors"
    init_checkpoint("tiny", str(toy_data / "mesh_model.safetensors"), str(ckpt), hairstyles=("short", "long"))
    code, _, err = _cli(["eval", "--checkpoint", str(ckpt), "--data", str(toy_data)], capsys)
    assert "not written by training" in _one_line_error(code, err)


def _train(argv_extra, capsys, data, out):
    base = ["train", "--data", str(data), "--out", str(out), "--preset", "tiny", "--device", "cpu", "--quiet"]
    return _cli([*base, *argv_extra], capsys)


def test_empty_or_missing_dataset_folder(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    line = _one_line_error(*_train([], capsys, tmp_path / "empty", tmp_path / "run")[::2])
    assert "no dataset.json" in line
    line = _one_line_error(*_train([], capsys, tmp_path / "nowhere", tmp_path / "run")[::2])
    assert "does not exist" in line
    assert not (tmp_path / "run" / "latest.json").exists()


def _copy_dataset(src, dst, edit):
    shutil.copytree(src, dst, symlinks=True, ignore=shutil.ignore_patterns("images"))
    (dst / "images").symlink_to(src / "images")
    index = json.loads((src / "dataset.json").read_text())
    edit(index)
    (dst / "dataset.json").write_text(json.dumps(index))
    return dst


def test_malformed_dataset_json(toy_data, tmp_path, capsys):
    bad = _copy_dataset(toy_data, tmp_path / "bad", lambda d: d.pop("subjects"))
    assert "malformed" in _one_line_error(*_train([], capsys, bad, tmp_path / "run")[::2])
    (bad / "dataset.json").write_text("{not json")
    assert "malformed" in _one_line_error(*_train([], capsys, bad, tmp_path / "run")[::2])


def test_dataset_that_does_not_fit_the_preset(toy_data, tmp_path, capsys):
    small = _copy_dataset(toy_data, tmp_path / "small", lambda d: d.update(resolution=8))
    line = _one_line_error(*_train([], capsys, small, tmp_path / "run")[::2])
    assert "too small for the 'tiny' preset" in line and "--resolution" in line

    def rename(d):
        d["expressions"] = [e if e != "jawOpen" else "yawn" for e in d["expressions"]]

    odd = _copy_dataset(toy_data, tmp_path / "odd", rename)
    assert "'neutral' or ARKit" in _one_line_error(*_train([], capsys, odd, tmp_path / "run")[::2])


def test_resume_errors_leave_the_run_untouched(short_run, toy_data, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(short_run, run)
    before = (run / "latest.json").read_text()
    code, _, err = _cli(
        ["train", "--data", str(toy_data), "--out", str(run), "--preset", "demo", "--resume", "--device", "cpu"], capsys
    )
    line = _one_line_error(code, err)
    assert "preset 'tiny'" in line and "--preset tiny" in line
    assert "already holds a training run" in _one_line_error(*_train([], capsys, toy_data, run)[::2])
    assert "continues a trained run" in _one_line_error(
        *_train(["--stage", "2"], capsys, toy_data, tmp_path / "fresh")[::2]
    )
    assert "no checkpoint to resume" in _one_line_error(
        *_train(["--resume"], capsys, toy_data, tmp_path / "fresh")[::2]
    )

    def rename_subject(d):
        d["subjects"][0]["id"] = "zzz"
        for record in d["images"]:
            record["subject"] = "zzz" if record["subject"] == "s000" else record["subject"]

    other = _copy_dataset(toy_data, tmp_path / "other", rename_subject)
    assert "not the dataset this run was trained on" in _one_line_error(*_train(["--resume"], capsys, other, run)[::2])
    assert (run / "latest.json").read_text() == before


def test_out_folder_that_cannot_be_written_is_one_line_before_training(toy_data, tmp_path, capsys):
    (tmp_path / "afile").write_text("a file, not a folder")  # root writes into read-only folders: this it cannot
    out = tmp_path / "afile" / "run"
    line = _one_line_error(*_train([], capsys, toy_data, out)[::2])
    assert line.startswith(f"error: cannot write to folder '{out}'") and "choose another --out" in line
    assert (tmp_path / "afile").read_text() == "a file, not a folder"
    # a run refused before training leaves no new folder behind; an existing one stays
    _one_line_error(*_train([], capsys, tmp_path / "nowhere", tmp_path / "fresh")[::2])
    assert not (tmp_path / "fresh").exists()
    (tmp_path / "kept").mkdir()
    _one_line_error(*_train([], capsys, tmp_path / "nowhere", tmp_path / "kept")[::2])
    assert (tmp_path / "kept").is_dir()
