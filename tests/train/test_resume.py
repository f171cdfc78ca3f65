"""Checkpoints survive kills: a run killed at any moment resumes exactly where its latest checkpoint
stopped (bit-identical weights to an uninterrupted run), Ctrl-C saves and exits, a full disk loses
nothing, and --max-minutes stops cleanly in time."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tests.train.conftest import SUBPROCESS_ENV, read_log, run_training, state_tensors

ROOT = Path(__file__).resolve().parents[2]


def _cli(args: list[str]) -> list[str]:
    return [sys.executable, str(ROOT / "main.py"), "train", "--preset", "tiny", "--device", "cpu", "--quiet", *args]


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), **SUBPROCESS_ENV}


def _wait_for_checkpoint(run: Path, proc: subprocess.Popen, min_step: int, timeout: float = 240.0) -> int:
    latest = run / "latest.json"
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if latest.is_file():
            try:
                step = json.loads(latest.read_text())["step"]
            except (json.JSONDecodeError, KeyError):
                step = -1
            if step >= min_step:
                return step
        if proc.poll() is not None:
            raise AssertionError(f"training exited early ({proc.returncode}): {proc.stderr.read()}")
        time.sleep(0.02)
    raise AssertionError("no checkpoint appeared in time")


def test_sigkill_then_resume_gives_the_weights_of_an_uninterrupted_run(toy_data, tmp_path):
    args = ["--data", str(toy_data), "--stage", "1", "--steps", "6", "--checkpoint-every", "2"]
    killed = tmp_path / "killed"
    proc = subprocess.Popen(_cli([*args, "--out", str(killed)]), env=_env(), stderr=subprocess.PIPE, text=True)
    _wait_for_checkpoint(killed, proc, 2)
    proc.send_signal(signal.SIGKILL)  # anywhere after the first checkpoint, possibly while writing the next
    proc.wait()
    # whatever latest.json names is complete and loadable
    from head360.model.checkpoint import load_checkpoint
    from head360.train.state import RunDir

    latest = RunDir(killed).latest()
    assert latest["step"] in (2, 4, 6)
    load_checkpoint(latest["dir"] / "generator.safetensors")
    resumed = subprocess.run(
        _cli([*args, "--out", str(killed), "--resume"]), env=_env(), capture_output=True, text=True, timeout=600
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "finished at step 6" in resumed.stdout

    straight = tmp_path / "straight"
    run_training(toy_data, straight, steps=6, checkpoint_every=2)
    a, b = state_tensors(straight), state_tensors(killed)
    assert set(a) == set(b)
    # weights, EMA, discriminator, optimiser moments and the torch RNG (numpy's global RNG is not
    # used by training and differs between this test process and the command's)
    different = [k for k in a if not k.endswith("/numpy") and not torch.equal(a[k], b[k])]
    assert not different, f"resumed run differs in {different[:5]}"
    # the resumed log has each logged step once
    steps = [e["step"] for e in read_log(killed) if "event" not in e]
    assert steps == sorted(set(steps)) and steps[-1] == 6


def test_ctrl_c_finishes_the_step_saves_and_exits(toy_data, tmp_path):
    run = tmp_path / "run"
    cmd = _cli(
        ["--data", str(toy_data), "--stage", "1", "--steps", "200", "--checkpoint-every", "2", "--out", str(run)]
    )
    proc = subprocess.Popen(cmd, env=_env(), stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    first = _wait_for_checkpoint(run, proc, 2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted at step" in err and "--resume" in err
    log = read_log(run)
    stopped = [e for e in log if e.get("event") == "stopped"][-1]
    assert stopped["reason"] == "signal"
    latest = json.loads((run / "latest.json").read_text())
    assert latest["step"] == stopped["step"] >= first
    assert (run / "checkpoint.safetensors").is_file()


def test_a_stop_before_the_first_step_still_saves_so_resume_works(toy_data, tmp_path, monkeypatch):
    """The studio's Stop as soon as the log says "started": nothing trained yet, but the run says "go on
    with --resume", so there must be a checkpoint to go on from."""
    from head360.train.progress import RunLogger

    real_event = RunLogger.event

    def event(self, kind, step, /, **fields):
        real_event(self, kind, step, **fields)
        if kind == "started":
            os.kill(os.getpid(), signal.SIGINT)  # caught by the trainer's handler: stop before step 1

    monkeypatch.setattr(RunLogger, "event", event)
    run = tmp_path / "run"
    result = run_training(toy_data, run, steps=3)
    assert result.stopped == "signal" and result.step == 0
    assert json.loads((run / "latest.json").read_text())["step"] == 0
    monkeypatch.setattr(RunLogger, "event", real_event)
    resumed = run_training(toy_data, run, steps=3, resume=True)
    assert resumed.stopped == "done" and resumed.step == 3


def test_out_of_disk_space_keeps_the_previous_checkpoint(toy_data, tmp_path, monkeypatch):
    import errno

    from head360.errors import Head360Error
    from head360.model.checkpoint import load_checkpoint
    from head360.train import state

    run = tmp_path / "run"
    real_save = state.save_state_file
    calls = {"n": 0}

    def failing_save(path, tensors, st):
        calls["n"] += 1
        if calls["n"] >= 2:
            with open(path.parent / "partial.bin", "wb") as f:
                f.write(b"x" * 100)
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(path, tensors, st)

    monkeypatch.setattr(state, "save_state_file", failing_save)
    monkeypatch.setattr("head360.train.trainer.save_state_file", failing_save)
    with pytest.raises(Head360Error, match="out of disk space") as info:
        run_training(toy_data, run, steps=4, checkpoint_every=2)
    assert "\n" not in str(info.value) and "--resume" in str(info.value)
    latest = json.loads((run / "latest.json").read_text())
    assert latest["step"] == 2
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["step-00000002"]
    assert load_checkpoint(run / "checkpoint.safetensors").info["step"] == 2


def test_max_minutes_stops_every_stage_in_time_with_a_final_checkpoint(toy_data, tmp_path):
    run = tmp_path / "run"
    limit_min = 0.3
    t0 = time.monotonic()
    result = run_training(toy_data, run, stage="all", steps=100_000, max_minutes=limit_min, started_at=t0)
    elapsed = time.monotonic() - t0
    assert elapsed < limit_min * 60, f"took {elapsed:.1f} s for a {limit_min * 60:.0f} s limit"
    assert result.stopped == "time limit"
    log = read_log(run)
    started = [e["stage"] for e in log if e.get("event") == "stage_started"]
    finished = [e["stage"] for e in log if e.get("event") == "stage_finished"]
    assert started == [1, 2, 3] and finished == [1, 2, 3]
    latest = json.loads((run / "latest.json").read_text())
    assert latest["step"] == result.step > 0 and latest["stage"] == 3
