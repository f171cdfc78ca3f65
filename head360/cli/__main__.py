"""``python -m head360.cli COMMAND``: the command line (see :mod:`head360.cli.main`)."""

import sys

from head360.cli.main import main

sys.exit(main())
