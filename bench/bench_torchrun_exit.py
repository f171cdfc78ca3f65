"""How often a 2-process torchrun (gloo, CPU) training ends with exit code 0, as JSON: the command of
``tests/train/test_distributed.py`` (tiny preset, all stages, 6 steps) run ``--runs`` times, ``--parallel``
jobs at once to make the machine busy. A finished run that torchrun reports as failed shows up here
(the gloo teardown abort that ``head360/cli/train.py``'s ``_leave_worker`` avoids).

    python bench/bench_torchrun_exit.py [--runs 60] [--parallel 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def one_run(data: Path, out: Path) -> dict:
    from tests.train.toy import torchrun_train

    done = torchrun_train(data, out, "--stage", "all", "--steps", "6", "--batch", "2")
    return {
        "exit": done.returncode,
        "finished": "finished at step 6" in done.stdout,
        "aborted": "SIGABRT" in done.stderr,
    }


def main() -> int:
    from tests.train.toy import write_toy_dataset

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=60)
    p.add_argument("--parallel", type=int, default=3, help="runs at once (a busy machine)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = write_toy_dataset(Path(tmp) / "data")
        with ThreadPoolExecutor(max(1, args.parallel)) as pool:
            results = list(pool.map(lambda i: one_run(data, Path(tmp) / f"run{i}"), range(args.runs)))
    report = {
        "runs": args.runs,
        "parallel": args.parallel,
        "exit_0": sum(r["exit"] == 0 for r in results),
        "finished_but_failed": sum(r["finished"] and r["exit"] != 0 for r in results),
        "aborted": sum(r["aborted"] for r in results),
    }
    print(json.dumps(report, indent=1))
    return 0 if report["exit_0"] == args.runs else 1


if __name__ == "__main__":
    sys.exit(main())
