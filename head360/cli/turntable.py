"""`python main.py turntable`: a 360-degree orbit video (mp4 H.264 or GIF)."""

from __future__ import annotations

import argparse

from head360.cli._model_args import add_checkpoint_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_checkpoint_arguments(parser)
    parser.add_argument("--out", required=True, help="video to write: .mp4 (H.264) or .gif")
    parser.add_argument("--frames", type=int, default=120, help="frames for one full turn (default 120)")
    parser.add_argument("--fps", type=float, default=30.0, help="frames per second (default 30)")
    parser.add_argument("--resolution", type=int, default=None, help="frame side in pixels (default: the model's)")
    parser.add_argument("--pitch", type=float, default=0.0, help="camera elevation in degrees")
    parser.add_argument("--quality", default="full", help="render quality preset: full or preview")


def run(args: argparse.Namespace) -> int:
    from head360.cameras import check_orbit_angles
    from head360.cli._model_args import check_output, load_model_and_subject
    from head360.errors import Head360Error
    from head360.export.video import VIDEO_SUFFIXES, check_fps, turntable_frames, write_video

    out = check_output(args.out, VIDEO_SUFFIXES, "--out")
    if args.frames < 1 or args.frames > 10000:
        raise Head360Error(f"--frames must be between 1 and 10000, got {args.frames}")
    check_fps(args.fps, out)
    check_orbit_angles(pitch_deg=args.pitch)
    if args.resolution is not None and not 8 <= args.resolution <= 4096:
        raise Head360Error(f"--resolution must be between 8 and 4096, got {args.resolution}")
    ckpt, subject, weights, hairstyle, hair = load_model_and_subject(args)
    import torch
    from tqdm import tqdm

    from head360.model.checkpoint import subject_planes

    g = ckpt.generator
    g.quality(args.quality)  # unknown quality -> error before any work
    with torch.no_grad():
        planes = subject_planes(g, subject, weights, hairstyle if hair else None)
    with tqdm(total=args.frames, unit="frame", desc="turntable") as bar:
        frames = turntable_frames(
            g, planes, args.frames, args.resolution, args.pitch, args.quality, hair=hair, progress=bar.update
        )
        n = write_video(frames, out, fps=args.fps)
    print(f"wrote {out}: {n} frames at {args.fps:g} fps")
    return 0
