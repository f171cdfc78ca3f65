"""`python main.py export-rig`: the head as a glTF 2.0 rig (.glb) with 52 ARKit morph targets, a baked
colour texture and the hair as its own mesh; optionally a take's animation."""

from __future__ import annotations

import argparse
import sys

from head360.cli._model_args import add_checkpoint_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_checkpoint_arguments(parser)
    parser.add_argument("--out", required=True, help="rig to write (.glb)")
    add_rig_arguments(parser)
    take = parser.add_mutually_exclusive_group()
    take.add_argument("--weights", default=None, help="a take to store as the rig's animation: ARKit .json or .csv")
    take.add_argument("--animation", default=None, help="... or a studio timeline (.json), at its frame rate")
    parser.add_argument("--no-head-pose", action="store_true", help="leave out the take's head rotation")
    parser.add_argument(
        "--timecode-fps", type=float, default=60.0, help="frame rate of Live Link Face timecodes (60 or 30)"
    )


def add_rig_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the rig itself (shared with `animate --out take.glb`)."""
    parser.add_argument(
        "--texture-resolution", type=int, default=1024, help="side of the baked colour texture (default 1024)"
    )
    parser.add_argument(
        "--hair-resolution", type=int, default=256, help="grid cells per side for the hair mesh (default 256)"
    )
    parser.add_argument("--hair-decimate", type=float, default=None, help="keep about this fraction of hair faces")


def rig_config(args: argparse.Namespace):
    from head360.export.rig import RigConfig

    return RigConfig(
        texture_resolution=args.texture_resolution,
        hair_resolution=args.hair_resolution,
        hair_decimate=args.hair_decimate,
    ).validate()


def run(args: argparse.Namespace) -> int:
    import time

    from head360.cli._model_args import check_output, load_model_and_subject
    from head360.errors import Head360Error
    from head360.export.rig import RIG_SUFFIXES, export_rig, read_take, summary

    out = check_output(args.out, RIG_SUFFIXES, "--out")
    if not args.timecode_fps > 0:
        raise Head360Error(f"--timecode-fps must be positive, got {args.timecode_fps}")
    config = rig_config(args)
    take = None
    if args.weights is not None or args.animation is not None:
        take, notes = read_take(args.weights, args.animation, args.timecode_fps)
        print(f"take: {len(take)} frame(s) at {take.fps:g} fps", file=sys.stderr)
        for line in notes:
            print(f"  {line}", file=sys.stderr)
    ckpt, subject, weights, hairstyle, hair = load_model_and_subject(args)
    start = time.perf_counter()
    rig = export_rig(
        ckpt.generator,
        subject,
        out,
        weights=weights,
        hairstyle=hairstyle if hair else None,
        config=config,
        take=take,
        head_pose=not args.no_head_pose,
    )
    print(f"wrote {out}: {summary(rig)} ({time.perf_counter() - start:.1f} s)")
    return 0
