"""`python main.py studio` (also `python main.py` with no command): open the desktop studio.

The studio lives in ``app/`` and is imported only when this command runs. Without a usable display it
prints which headless commands do the same work and exits with code 2 (DearPyGui would abort).
"""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", default=None, help="model checkpoint (.safetensors); default: the bundled demo")
    parser.add_argument("--subject", default=None, help="index into the checkpoint's subject table or a .h360 file")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda or auto (cuda when available)")
    parser.add_argument("--width", type=int, default=1280, help="window width in pixels (default 1280)")
    parser.add_argument("--height", type=int, default=800, help="window height in pixels (default 800)")


def run(args: argparse.Namespace) -> int:
    from app.display import display_problem, headless_message

    problem = display_problem()
    if problem is not None:
        print(headless_message(problem), file=sys.stderr)
        return 2

    from head360.assets import checkpoint_or_bundled

    args.checkpoint = str(checkpoint_or_bundled(args.checkpoint))
    from app.studio import StudioOptions, run_studio

    options = StudioOptions(
        checkpoint=args.checkpoint, subject=args.subject, device=args.device, width=args.width, height=args.height
    )
    return run_studio(options)
