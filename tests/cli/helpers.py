"""Running ``main.py`` commands in this process for the command-line tests."""

from __future__ import annotations

import main as cli


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``main.py ARGV``."""
    code = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code: int, err: str, message: str) -> None:
    assert code != 0, err
    assert message in err and err.strip().count("\n") == 0, err
