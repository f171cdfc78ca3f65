"""`python main.py fit PHOTO --out subject.h360`: fit an animatable 360-degree head to one portrait."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("photo", help="portrait photo (JPEG, PNG, WebP...; one face looking at the camera)")
    parser.add_argument("--out", required=True, help="subject file to write (.h360)")
    parser.add_argument(
        "--checkpoint", default=None, help="model checkpoint (.safetensors; default: the bundled demo model)"
    )
    parser.add_argument(
        "--steps",
        type=int,
        default=None,
        help="inversion steps (default 300, about 70 s with the demo model on 2 CPU cores; more = closer, slower)",
    )
    parser.add_argument(
        "--hairstyle", default="auto", help="auto (classify the photo), none (bald) or a hairstyle of the model"
    )
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda or auto (cuda when available)")
    parser.add_argument("--images", default=None, metavar="DIR", help="also save the stages' images (PNG) here")
    parser.add_argument("--report", default=None, metavar="JSON", help="also write the fit's diagnostics here")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    import json
    import sys
    from pathlib import Path

    from head360.cli._model_args import check_output
    from head360.device import resolve_device
    from head360.errors import Head360Error
    from head360.model.checkpoint import SUBJECT_SUFFIX

    out = check_output(args.out, (SUBJECT_SUFFIX,), "--out")
    if args.steps is not None and args.steps < 1:
        raise Head360Error(f"--steps must be at least 1, got {args.steps}")
    photo = Path(args.photo)
    if not photo.is_file():
        raise Head360Error(f"photo '{photo}' not found" if not photo.exists() else f"'{photo}' is not a file")
    device = resolve_device(args.device)
    from head360.assets import checkpoint_or_bundled
    from head360.fit.pipeline import FitConfig, fit_photo
    from head360.model.checkpoint import load_checkpoint

    ckpt_path = checkpoint_or_bundled(args.checkpoint)
    ckpt = load_checkpoint(ckpt_path, device=device)
    hair = args.hairstyle.strip()
    config = FitConfig(hairstyle=None if hair.lower() == "none" else ("auto" if hair.lower() == "auto" else hair))
    if config.hairstyle not in (None, "auto"):
        ckpt.generator.hairstyle_index(config.hairstyle)  # unknown name: fail before any work

    bar = None
    if not args.quiet:
        from tqdm import tqdm

        bar = tqdm(total=1, desc="fit", unit="step", file=sys.stderr, dynamic_ncols=True)

    def progress(step: int, total: int, loss: float, image) -> None:
        if bar is None:
            return
        bar.total = total
        bar.n = step
        if loss == loss:  # not NaN: an inversion step
            bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
        bar.refresh()

    def log(message: str) -> None:
        if bar is not None:
            bar.write(message, file=sys.stderr)

    try:
        result = fit_photo(photo, ckpt, steps=args.steps, progress=progress, config=config, log=log)
    finally:
        if bar is not None:
            bar.close()
    for w in result.warnings:
        print(f"warning: {w}", file=sys.stderr)
    result.subject.save(out)
    if args.images:
        result.save_images(args.images)
    summary = result.summary()
    if args.report:
        from head360.fileio import write_json

        write_json(args.report, summary, indent=1)
    print(json.dumps({k: summary[k] for k in ("hairstyle", "landmark_error_px", "psnr_face_db", "seconds")}))
    print(f"wrote {out} (hairstyle {result.hairstyle or 'none'}); render it with "
          f"`python main.py render --checkpoint {ckpt_path} --subject {out} --out front.png`")  # fmt: skip
    return 0
