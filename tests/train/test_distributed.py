"""torchrun with two CPU processes (gloo): every stage runs under DistributedDataParallel, only rank 0
writes, and both ranks end with identical weights; a bad dataset is one error line and exit code 1."""

from __future__ import annotations

from tests.train.conftest import read_log
from tests.train.toy import torchrun_train


def test_two_gloo_processes_train_all_stages_and_end_identical(toy_data, tmp_path):
    run = tmp_path / "run"
    done = torchrun_train(toy_data, run, "--stage", "all", "--steps", "6", "--batch", "2")
    assert done.returncode == 0, f"stdout: {done.stdout[-1500:]}\nstderr: {done.stderr[-6000:]}"
    assert done.stdout.count("finished at step 6") == 1  # rank 0 reports, rank 1 stays quiet
    log = read_log(run)
    assert [e["world_size"] for e in log if e.get("event") == "started"] == [2]  # one writer
    assert [e["stage"] for e in log if e.get("event") == "stage_finished"] == [1, 2, 3]
    sync = [e for e in log if e.get("event") == "ranks_in_sync"]
    assert len(sync) == 1 and len(sync[0]["digests"]) == 2 and sync[0]["same"] is True
    assert sync[0]["digests"][0] == sync[0]["digests"][1]
    assert (run / "checkpoint.safetensors").is_file()
    steps = [e["step"] for e in log if "event" not in e]
    assert steps == sorted(set(steps))  # no rank logged twice


def test_a_bad_dataset_under_torchrun_is_a_one_line_error_and_exit_code_1(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    done = torchrun_train(empty, tmp_path / "run", "--steps", "2", timeout=300)
    assert done.returncode == 1
    # the first rank to fail says why; torchrun may stop the other before it says it too
    assert done.stderr.count(f"error: '{empty}' is not a dataset: no dataset.json\n") in (1, 2)
    assert "exitcode  : 1" in done.stderr and "SIGABRT" not in done.stderr
    assert not (tmp_path / "run" / "checkpoint.safetensors").exists()
