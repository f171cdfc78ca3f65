"""Arguments and helpers shared by the commands that drive a checkpoint (render, turntable,
export-mesh, bench). Light at import time: torch and the model load inside the functions."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from head360.errors import Head360Error


def add_checkpoint_arguments(parser: argparse.ArgumentParser, subject: bool = True) -> None:
    parser.add_argument(
        "--checkpoint", default=None, help="model checkpoint (.safetensors; default: the bundled demo model)"
    )
    parser.add_argument("--device", default="auto", help="auto (cuda when available), cpu or cuda")
    if subject:
        parser.add_argument(
            "--subject", default=None, help="index into the checkpoint's subject table (default 0) or a .h360 file"
        )
        parser.add_argument(
            "--blendshape",
            action="append",
            default=[],
            metavar="NAME=W",
            help="set an ARKit blendshape weight in [0, 1], e.g. jawOpen=0.6 (repeatable)",
        )
        hair = parser.add_mutually_exclusive_group()
        hair.add_argument("--hairstyle", default=None, help="hairstyle name (default: the subject's)")
        hair.add_argument("--no-hair", action="store_true", help="render the head without hair")
        parser.add_argument(
            "--hair-color",
            default=None,
            metavar="COLOR",
            help="hair colour as #RRGGBB or R,G,B in 0..1 (default: the subject's; needs a model trained with it)",
        )


def parse_blendshapes(items: list[str], base=None):
    """``["jawOpen=0.6", ...]`` -> weights [52] float32 starting from ``base`` (zeros by default)."""
    import numpy as np

    from head360.arkit import NUM_BLENDSHAPES, index_of

    weights = np.zeros(NUM_BLENDSHAPES, np.float32) if base is None else np.array(base, np.float32)
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise Head360Error(f"--blendshape takes NAME=WEIGHT (e.g. jawOpen=0.6), got '{item}'")
        idx = index_of(name)
        try:
            w = float(value)
        except ValueError:
            raise Head360Error(f"blendshape weight for {name} must be a number in [0, 1], got '{value}'") from None
        if not 0.0 <= w <= 1.0:
            raise Head360Error(f"blendshape weight for {name} must be in [0, 1], got {w:g}")
        weights[idx] = w
    return weights


def parse_hair_color(text: str) -> tuple[float, float, float]:
    """``--hair-color``: ``#RRGGBB`` (or ``RRGGBB``) or ``R,G,B`` in 0..1 -> sRGB (r, g, b) in 0..1."""
    value = text.strip()
    hexdigits = value[1:] if value.startswith("#") else value
    if len(hexdigits) == 6 and all(c in "0123456789abcdefABCDEF" for c in hexdigits):
        return tuple(int(hexdigits[i : i + 2], 16) / 255.0 for i in (0, 2, 4))
    parts = value.split(",")
    try:
        rgb = tuple(float(x) for x in parts)
    except ValueError:
        rgb = ()
    if len(rgb) != 3 or not all(0.0 <= x <= 1.0 for x in rgb):
        raise Head360Error(f"--hair-color takes #RRGGBB or R,G,B with each in 0..1 (e.g. 0.6,0.4,0.2), got '{text}'")
    return rgb


def check_output(path: str, suffixes: tuple[str, ...], what: str) -> Path:
    """Fail early (before any rendering) on a wrong suffix or a folder that cannot be written."""
    out = Path(path)
    if out.suffix.lower() not in suffixes:
        raise Head360Error(f"{what} must end in {' or '.join(suffixes)}, got '{out.name}'")
    if out.is_dir():
        raise Head360Error(f"--out '{out}' is a folder; give a file name ending in {suffixes[0]}")
    folder = out.parent if str(out.parent) else Path(".")
    existing = folder
    while not existing.exists():
        existing = existing.parent
    try:
        if not existing.is_dir():
            raise NotADirectoryError(f"'{existing}' is not a folder")
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".write-test-"):
            pass
    except OSError as e:
        raise Head360Error(f"cannot write '{out}' ({e.strerror or e}); choose another --out") from e
    return out


def load_model_and_subject(args: argparse.Namespace):
    """-> (checkpoint, subject, blend weights [52], hairstyle name or None, hair on?)."""
    from head360.assets import checkpoint_or_bundled
    from head360.device import resolve_device
    from head360.model.checkpoint import load_checkpoint, resolve_subject

    device = resolve_device(args.device)
    ckpt = load_checkpoint(checkpoint_or_bundled(args.checkpoint), device=device)
    subject = resolve_subject(ckpt, args.subject)
    weights = parse_blendshapes(args.blendshape, subject.blend_weights)
    hairstyle = subject.hairstyle if args.hairstyle is None else args.hairstyle
    if hairstyle is not None:
        ckpt.generator.hairstyle_index(hairstyle)  # unknown name -> Head360Error listing the known ones
        if str(hairstyle).lower() == "none":
            hairstyle = None
    if getattr(args, "hair_color", None) is not None:
        color = parse_hair_color(args.hair_color)
        if ckpt.generator.hair_color is None:
            raise Head360Error(
                "--hair-color needs a model trained with hair colour as an input; this checkpoint was not"
            )
        subject.hair_color = color
    return ckpt, subject, weights, hairstyle, not args.no_hair
