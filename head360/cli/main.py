"""The command line: ``python main.py COMMAND`` in a source checkout, ``head360 COMMAND`` once installed,
``python -m head360.cli COMMAND`` anywhere. With no command it opens the studio; every studio action
also exists here so that everything can run headless: ``--help`` lists the commands."""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    from head360.cli import COMMANDS

    parser = argparse.ArgumentParser(
        prog="main.py" if sys.argv and Path(sys.argv[0]).name == "main.py" else "head360",
        description="Head360 Studio: a parametric 360-degree full-head model. "
        "Run without a command to open the studio.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name, name, help_text in COMMANDS:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module_name)
        _add_arguments(module_name, p)
    return parser


def _add_arguments(module_name: str, parser: argparse.ArgumentParser) -> None:
    module = importlib.import_module(module_name)
    module.add_arguments(parser)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    if not argv:
        from head360.cli import COMMANDS

        if any(name == "studio" for _, name, _ in COMMANDS):
            argv = ["studio"]
        else:
            parser.print_help()
            return 0
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    from head360.errors import Head360Error

    module = importlib.import_module(args._module)
    try:
        return int(module.run(args) or 0)
    except Head360Error as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except OSError as e:  # a folder or file the system refused where no command expected it (read-only, full disk)
        where = f" '{e.filename}'" if e.filename else ""
        remedy = "check the path, its permissions and free space"
        print(f"error: cannot use{where}: {e.strerror or e}; {remedy}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
