"""`python main.py synth`: generate a multi-view full-head dataset, import artist meshes, or draw a
contact sheet of the procedural heads."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", help="dataset folder to write (a rerun resumes it)")
    p.add_argument("--preset", default="demo", help="paper | demo | tiny (default: demo)")
    p.add_argument("--subjects", type=int, help="number of subjects (overrides the preset)")
    p.add_argument("--resolution", type=int, help="image size in pixels (overrides the preset)")
    p.add_argument("--seed", type=int, help="random seed (default 0)")
    p.add_argument("--expressions", help="'all' or a comma-separated list of 'neutral' and ARKit names")
    p.add_argument("--hair", choices=("on", "off", "both"), help="images with hair, without, or both")
    p.add_argument("--no-meshes", action="store_true", help="do not write per-expression OBJ meshes")
    p.add_argument(
        "--hair-variants",
        type=int,
        metavar="K",
        help="also render each subject (neutral, every view) wearing K other hairstyles of the dataset, so "
        "hair swaps train on several heads per hairstyle (default 0)",
    )
    p.add_argument(
        "--from-meshes",
        metavar="MESHDIR",
        help="render rigged heads an artist exported (per subject folder: neutral.obj + 52 "
        "ARKit-named OBJs, a texture image, optional hair.obj) instead of procedural ones",
    )
    p.add_argument(
        "--contact-sheet", metavar="OUT.png", help="write one image of several subjects x expressions x views and exit"
    )
    p.add_argument("--workers", type=int, default=1, help="render subjects in this many processes (default 1)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    import json

    from head360.errors import Head360Error

    if args.contact_sheet:
        from head360.synth.contact_sheet import render_contact_sheet

        n = args.subjects if args.subjects is not None else 6
        if not 1 <= n <= 64:
            raise Head360Error(f"--subjects for a contact sheet must be between 1 and 64, got {n}")
        render_contact_sheet(args.contact_sheet, subjects=n, seed=args.seed or 0, resolution=args.resolution or 256)
        print(f"wrote {args.contact_sheet}")
        return 0
    if not 1 <= args.workers <= 256:
        raise Head360Error(f"--workers must be between 1 and 256, got {args.workers}")
    if not args.out:
        raise Head360Error("synth needs --out DIR (or --contact-sheet OUT.png)")
    from head360.synth.writer import make_config, parse_expressions

    expressions = parse_expressions(args.expressions) if args.expressions else None
    config = make_config(
        args.preset,
        subjects=args.subjects,
        resolution=args.resolution,
        seed=args.seed,
        expressions=expressions,
        hair=args.hair,
        write_meshes=False if args.no_meshes else None,
        hair_variants=args.hair_variants,
    )
    if args.from_meshes:
        from head360.synth.importer import import_meshes

        summary = import_meshes(args.from_meshes, args.out, config, progress=not args.quiet, workers=args.workers)
    else:
        from head360.synth.writer import DatasetWriter

        summary = DatasetWriter(args.out, config, progress=not args.quiet).run(workers=args.workers)
    print(json.dumps(summary))
    return 0
