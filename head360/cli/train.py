"""`python main.py train`: train the generator in three stages (also under torchrun)."""

from __future__ import annotations

import argparse
import time

_STARTED = time.monotonic()


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="dataset folder (from `main.py synth`) or online[:SUBJECTS[:RES]]")
    p.add_argument("--preset", default="demo", help="paper | demo | tiny: the model size and the training settings")
    p.add_argument("--stage", default="all", help="1 (full network), 2 (hair detachment), 3 (RefineNet) or all")
    p.add_argument("--out", required=True, help="run folder (checkpoints, log.jsonl, samples, tb)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out where it stopped")
    p.add_argument(
        "--init",
        metavar="CHECKPOINT",
        help="start from a trained model's weights (e.g. assets/demo.safetensors) to fine-tune it on --data",
    )
    p.add_argument("--steps", type=int, help="steps of the stage (with --stage all: of all stages together)")
    p.add_argument("--batch", type=int, help="global batch size (split over the processes of a torchrun job)")
    p.add_argument("--max-minutes", type=float, help="stop cleanly, with a final checkpoint, before this many minutes")
    p.add_argument("--device", default="auto", help="cpu, cuda or auto (default: cuda when available)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--bf16", action="store_true", default=None, help="bf16 autocast (faster on recent GPUs)")
    p.add_argument("--workers", type=int, help="DataLoader worker processes per training process")
    p.add_argument("--checkpoint-every", type=int, help="steps between checkpoints (default: the preset's)")
    p.add_argument(
        "--recipe", choices=("gan", "reconstruction"),
        help="gan (the paper's, for GPUs) or reconstruction (the CPU recipe); default: the preset's",
    )  # fmt: skip
    p.add_argument(
        "--threads", type=int,
        help="torch threads per process (default on the CPU: 1, measured faster on a busy 2-core machine)",
    )  # fmt: skip
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    import os
    import sys

    from head360.errors import Head360Error
    from head360.train.trainer import TrainOptions, train

    if args.max_minutes is not None and args.max_minutes <= 0:
        raise Head360Error(f"--max-minutes must be positive, got {args.max_minutes}")
    if args.workers is not None and args.workers < 0:
        raise Head360Error(f"--workers must be >= 0, got {args.workers}")
    if args.batch is not None and args.batch < 1:
        raise Head360Error(f"--batch must be at least 1, got {args.batch}")
    if args.threads is not None and args.threads < 1:
        raise Head360Error(f"--threads must be at least 1, got {args.threads}")
    from pathlib import Path

    from head360.fileio import ensure_writable_dir

    out_existed = Path(args.out).exists()
    ensure_writable_dir(args.out)  # a read-only or impossible --out: one line now, not a traceback later
    import torch

    if args.threads is not None or args.device == "cpu" or not torch.cuda.is_available():
        torch.set_num_threads(args.threads or 1)
    opts = TrainOptions(
        data=args.data,
        out=args.out,
        preset=args.preset,
        stage=str(args.stage),
        resume=args.resume,
        steps=args.steps,
        batch=args.batch,
        max_minutes=args.max_minutes,
        device=args.device,
        seed=args.seed,
        bf16=args.bf16,
        workers=args.workers,
        checkpoint_every=args.checkpoint_every,
        init=args.init,
        recipe=args.recipe,
        progress=not args.quiet,
        started_at=_STARTED,
    )
    try:
        result = train(opts)
    except Head360Error as e:
        if not out_existed:
            _remove_if_empty(Path(args.out))  # a run refused before it wrote anything leaves no folder behind
        if int(os.environ.get("WORLD_SIZE", "1")) > 1:  # a torchrun worker: say it and leave (see below)
            sys.stderr.write(f"error: {e}\n")  # one write: the ranks share the terminal
            _leave_worker(1)
        raise
    trainer = result.trainer
    code = _report(result)
    if trainer is not None and trainer.ctx.enabled:
        _leave_worker(code)
    return code


def _remove_if_empty(folder) -> None:
    """Remove ``folder`` if it is empty; a folder with files, or one another rank removed, stays as it is."""
    import contextlib

    with contextlib.suppress(OSError):
        folder.rmdir()


def _report(result) -> int:
    """Print how the run ended (the main process only); the exit code."""
    import sys

    if result.trainer is not None and not result.trainer.ctx.is_main:
        return 0  # rank 0 reports
    where = f"; checkpoint: {result.checkpoint}" if result.checkpoint else ""
    if result.stopped == "signal":
        print(f"interrupted at step {result.step} (stage {result.stage}){where}; go on with --resume", file=sys.stderr)
        return 130
    how = "stopped at the time limit" if result.stopped == "time limit" else "finished"
    print(f"{how} at step {result.step} (stage {result.stage}){where}")
    return 0


def _leave_worker(code: int) -> None:
    """End a torchrun worker now that its process group is destroyed and its files are closed.

    A gloo worker thread may still be releasing the last collective's tensors when the interpreter
    shuts down; that needs the GIL, which shutdown no longer gives, and the process aborts ("terminate
    called without an active exception", SIGABRT; a core dump shows ``~AsyncAllgatherWork`` in
    ``ProcessGroupGloo::runLoop`` during ``Py_FinalizeEx``). torchrun then reports a failed job after a
    finished run: CI saw it once, and shell loops of the 2-process test on two busy cores 2 times in ~275.
    Nothing is left to do in Python, so the worker leaves without that shutdown."""
    import os
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
