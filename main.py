#!/usr/bin/env python3
"""Head360 Studio command line, run from a source checkout (installed, the same is the ``head360``
command). With no command it opens the studio; every studio action also exists here so that everything
can run headless: `python main.py --help` lists the commands. The parser lives in head360.cli.main."""

from __future__ import annotations

import sys

from head360.cli.main import build_parser, main

__all__ = ["build_parser", "main"]

if __name__ == "__main__":
    sys.exit(main())
