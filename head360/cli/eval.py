"""`python main.py eval`: image metrics of a trained checkpoint on held-out data, printed as JSON."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True, help="a run folder or its checkpoint.safetensors")
    p.add_argument("--data", required=True, help="the dataset folder the model was trained on")
    p.add_argument("--max-images", type=int, default=200, help="at most this many images per group (default 200)")
    p.add_argument("--fit-steps", type=int, default=300, help="Adam steps fitting each held-out subject's code")
    p.add_argument("--device", default="auto", help="cpu, cuda or auto")
    p.add_argument("--out", help="also write the JSON to this file")


def run(args: argparse.Namespace) -> int:
    import json

    from head360.errors import Head360Error
    from head360.train.evaluate import evaluate

    if args.max_images < 1:
        raise Head360Error(f"--max-images must be at least 1, got {args.max_images}")
    if args.fit_steps < 0:
        raise Head360Error(f"--fit-steps must be >= 0, got {args.fit_steps}")
    report = evaluate(args.checkpoint, args.data, args.max_images, args.fit_steps, args.device)
    text = json.dumps(report, indent=2)
    if args.out:
        from head360.fileio import write_text

        write_text(args.out, text + "\n")
    print(text)
    return 0
