"""Shared fixtures of the training tests: one toy dataset per session (see ``tests.train.toy``) and a
helper to run the training library in-process with the tiny preset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

SUBPROCESS_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
"""Training commands the tests start use one thread, like the in-process runs (see below)."""


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """The tiny networks train several times faster on one thread than on two when the machine is busy
    (OpenMP threads spin while they wait); one thread also keeps in-process and subprocess runs
    bit-identical. The previous setting comes back afterwards."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def toy_data(tmp_path_factory) -> Path:
    from tests.train.toy import write_toy_dataset

    return write_toy_dataset(tmp_path_factory.mktemp("toy") / "data")


def run_training(data: Path, out: Path, **kwargs):
    """``main.py train`` in this process: tiny preset, CPU, no progress bar, TensorBoard off unless asked."""
    from head360.train.trainer import TrainOptions, train

    options = {"preset": "tiny", "stage": "1", "device": "cpu", "progress": False, **kwargs}
    return train(TrainOptions(data=str(data), out=str(out), **options))


def read_log(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]


def state_tensors(run: Path) -> dict:
    from head360.train.state import RunDir, load_state_file

    tensors, _ = load_state_file(RunDir(run).latest()["dir"] / "state.safetensors")
    return tensors
