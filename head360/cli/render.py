"""`python main.py render`: one image of a head from a checkpoint."""

from __future__ import annotations

import argparse

from head360.cli._model_args import add_checkpoint_arguments
from head360.export.render import MESH_PREVIEW_RESOLUTION, MODES

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_checkpoint_arguments(parser)
    parser.add_argument("--yaw", type=float, default=0.0, help="degrees; 0 front, 90 subject's left, 180 back")
    parser.add_argument("--pitch", type=float, default=0.0, help="degrees; positive looks down from above")
    parser.add_argument(
        "--mode",
        choices=MODES,
        default="rgb",
        help="rgb (default), the raw neural image, depth, alpha, or the marching-cubes mesh that export-mesh "
        "writes, shaded in clay (mesh) or with its vertex colours (mesh_color)",
    )
    parser.add_argument("--resolution", type=int, default=None, help="output side in pixels (default: the model's)")
    parser.add_argument("--quality", default="full", help="render quality preset: full or preview")
    parser.add_argument(
        "--mesh-resolution",
        type=int,
        default=MESH_PREVIEW_RESOLUTION,
        help=f"mesh modes: density grid cells per side (default {MESH_PREVIEW_RESOLUTION})",
    )
    parser.add_argument(
        "--iso", type=float, default=None, help="mesh modes: density level of the surface (default: as export-mesh)"
    )
    parser.add_argument("--out", required=True, help="image to write (.png or .jpg)")


def run(args: argparse.Namespace) -> int:
    from head360.cameras import check_orbit_angles
    from head360.cli._model_args import check_output, load_model_and_subject
    from head360.errors import Head360Error
    from head360.export.mesh import check_mesh_options

    out = check_output(args.out, IMAGE_SUFFIXES, "--out")
    check_orbit_angles(args.yaw, args.pitch)
    if args.resolution is not None and not 8 <= args.resolution <= 4096:
        raise Head360Error(f"--resolution must be between 8 and 4096, got {args.resolution}")
    check_mesh_options(args.mesh_resolution, iso=args.iso)
    ckpt, subject, weights, hairstyle, hair = load_model_and_subject(args)
    from head360.export.render import render_image
    from head360.fileio import write_image

    image = render_image(
        ckpt.generator,
        subject,
        weights,
        hairstyle,
        yaw=args.yaw,
        pitch=args.pitch,
        mode=args.mode,
        resolution=args.resolution,
        hair=hair,
        quality=args.quality,
        mesh_resolution=args.mesh_resolution,
        mesh_iso=args.iso,
    )
    write_image(out, image)
    print(f"wrote {out} ({image.shape[1]}x{image.shape[0]}, {args.mode})")
    return 0
