"""`python main.py bench`: timings of a checkpoint, printed as JSON (see head360.model.bench)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--checkpoint", default=None, help="model checkpoint (.safetensors; default: the bundled demo model)"
    )
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--frames", type=int, default=10, help="frames timed per figure (default 10)")
    parser.add_argument("--mesh-resolution", type=int, default=256, help="grid of the timed mesh export")
    parser.add_argument("--no-paper", action="store_true", help="skip counting the paper preset's parameters")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")


def run(args: argparse.Namespace) -> int:
    import json

    from head360.assets import checkpoint_or_bundled
    from head360.device import resolve_device
    from head360.model.bench import run_bench
    from head360.model.checkpoint import load_checkpoint

    if args.threads is not None:
        import torch

        from head360.errors import Head360Error

        if args.threads < 1:
            raise Head360Error(f"--threads must be at least 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    ckpt = load_checkpoint(checkpoint_or_bundled(args.checkpoint), device=device)
    result = run_bench(ckpt, frames=args.frames, mesh_resolution=args.mesh_resolution, paper=not args.no_paper)
    print(json.dumps(result, indent=2))
    return 0
