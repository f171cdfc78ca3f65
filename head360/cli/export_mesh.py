"""`python main.py export-mesh`: marching cubes of a head's density field -> OBJ / PLY / GLB."""

from __future__ import annotations

import argparse

from head360.cameras import METRES_PER_UNIT
from head360.cli._model_args import add_checkpoint_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_checkpoint_arguments(parser)
    parser.add_argument("--out", required=True, help="mesh to write: .obj (vertex colours), .ply or .glb")
    parser.add_argument("--resolution", type=int, default=256, help="density grid cells per side (default 256)")
    parser.add_argument(
        "--iso",
        type=float,
        default=None,
        help="density level of the surface (default: 10, or midway between the field's extremes below 10)",
    )
    parser.add_argument("--decimate", type=float, default=None, help="keep about this fraction of the faces")
    parser.add_argument(
        "--min-part",
        type=float,
        default=None,
        help="drop separate pieces with fewer than this fraction of the faces (default 0.005; 0 keeps them all)",
    )
    parser.add_argument(
        "--scale",
        type=float,
        default=METRES_PER_UNIT,
        help=f"multiply positions (default {METRES_PER_UNIT:g}: metres, as glTF expects; 1: world units of 10 cm)",
    )


def run(args: argparse.Namespace) -> int:
    import math
    import time

    from head360.cli._model_args import check_output, load_model_and_subject
    from head360.errors import Head360Error
    from head360.export.mesh import MESH_SUFFIXES, MIN_PART, check_mesh_options, extract_mesh, save_mesh

    out = check_output(args.out, MESH_SUFFIXES, "--out")
    min_part = MIN_PART if args.min_part is None else args.min_part
    check_mesh_options(args.resolution, args.decimate, min_part, args.iso)
    if not (math.isfinite(args.scale) and args.scale > 0):
        raise Head360Error(f"--scale must be a positive number, got {args.scale}")
    ckpt, subject, weights, hairstyle, hair = load_model_and_subject(args)
    import torch

    from head360.model.checkpoint import subject_planes

    start = time.perf_counter()
    with torch.no_grad():
        planes = subject_planes(ckpt.generator, subject, weights, hairstyle if hair else None)
        mesh = extract_mesh(
            ckpt.generator, planes, args.resolution, args.iso, hair=hair, decimate=args.decimate, min_part=min_part
        )
    save_mesh(mesh, out, scale=args.scale)
    took = time.perf_counter() - start
    print(f"wrote {out}: {len(mesh.vertices)} vertices, {len(mesh.faces)} faces, iso {mesh.iso:.3g} ({took:.1f} s)")
    return 0
