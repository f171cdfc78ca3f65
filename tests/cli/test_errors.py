"""Errors the file system raises where no command expected them are one line with a non-zero exit."""

from __future__ import annotations

import pytest

from tests.cli.helpers import assert_one_line_error, run_cli


@pytest.fixture(scope="module")
def toy_dataset(tmp_path_factory):
    from tests.train.toy import write_toy_dataset

    return write_toy_dataset(tmp_path_factory.mktemp("toy") / "data")


def test_train_into_a_folder_that_cannot_be_made(toy_dataset, capsys):
    code, _, err = run_cli(
        capsys, "train", "--data", toy_dataset, "--out", "/proc/head360-run", "--preset", "tiny", "--device", "cpu",
        "--quiet", "--steps", "1",
    )  # fmt: skip
    assert_one_line_error(code, err, "'/proc/head360-run'")
    assert "Traceback" not in err and err.startswith("error: cannot write to folder")  # checked before training


def test_eval_on_a_damaged_dataset(toy_dataset, tmp_path, capsys):
    import shutil

    from tests.train.conftest import run_training

    run = tmp_path / "run"
    run_training(toy_dataset, run, stage="1", steps=1)
    damaged = tmp_path / "damaged"
    shutil.copytree(toy_dataset, damaged)
    for png in (damaged / "images").rglob("*.png"):
        png.write_bytes(png.read_bytes()[:60])  # cut short, as by a full disk or an interrupted copy
    code, _, err = run_cli(
        capsys, "eval", "--checkpoint", run, "--data", damaged, "--max-images", "2", "--fit-steps", "1"
    )
    assert_one_line_error(code, err, "the dataset is damaged; rerun synth")


@pytest.mark.parametrize("field, outside", [("mesh_model", "/etc/passwd"), ("image", "../../elsewhere/0.png")])
def test_train_refuses_a_dataset_that_points_outside_its_folder(toy_dataset, tmp_path, capsys, field, outside):
    import json
    import shutil

    data = tmp_path / "data"
    shutil.copytree(toy_dataset, data)
    index = json.loads((data / "dataset.json").read_text())
    if field == "mesh_model":
        index["mesh_model"] = outside
    else:
        index["labels"][0][0] = index["images"][0]["path"] = outside
    (data / "dataset.json").write_text(json.dumps(index))
    code, _, err = run_cli(
        capsys, "train", "--data", data, "--out", tmp_path / "run", "--preset", "tiny", "--device", "cpu", "--quiet",
        "--steps", "1",
    )  # fmt: skip
    assert_one_line_error(code, err, "outside its folder")
    assert not (tmp_path / "run").exists()
