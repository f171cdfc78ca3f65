"""`python main.py blendshapes`: list the 52 ARKit blendshape names, grouped."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--flat", action="store_true", help="one name per line, in weight-vector order")


def run(args: argparse.Namespace) -> int:
    from head360.arkit import ARKIT_NAMES, GROUPS

    if args.flat:
        print("\n".join(ARKIT_NAMES))
        return 0
    for group, names in GROUPS.items():
        print(f"{group}: {', '.join(names)}")
    return 0
