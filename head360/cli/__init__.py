"""Command-line subcommands. Each module here defines ``NAME``, ``HELP``, ``add_arguments(parser)``
and ``run(args) -> int``; ``main.py`` builds the parser from :data:`COMMANDS` and imports a command's
module only when it runs, so ``python main.py --help`` stays fast."""

# (module name, command name, one-line help) in the order `python main.py` lists them.
COMMANDS: list[tuple[str, str, str]] = [
    ("head360.cli.synth", "synth", "generate (or import) a multi-view full-head dataset"),
    ("head360.cli.blendshapes", "blendshapes", "list the 52 ARKit blendshape names"),
]
