"""Starting the studio from the command line: a clear message and exit code 2 without a display (never
DearPyGui's abort), the window opening with a display, and the message when no demo model is bundled."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.app.conftest import REPO, studio_env


def run_main(args, display, timeout=120):
    return subprocess.run(
        [sys.executable, str(REPO / "main.py"), *args],
        env=studio_env(display),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.parametrize("display", [None, ":987"], ids=["no DISPLAY", "unreachable display"])
def test_no_display_exits_2_with_the_headless_commands(display, tiny_checkpoint):
    result = run_main(["studio", "--checkpoint", str(tiny_checkpoint)], display)
    assert result.returncode == 2, result.stderr
    err = result.stderr
    assert "needs a display" in err
    for command in ("render", "turntable", "export-mesh", "fit"):
        assert f"python main.py {command}" in err
    assert "Traceback" not in err


def test_main_without_arguments_and_no_display_exits_2():
    result = run_main([], None)
    assert result.returncode == 2 and "needs a display" in result.stderr


@pytest.mark.gui
def test_main_without_arguments_names_the_missing_demo_model(xvfb_display, tmp_path, monkeypatch):
    monkeypatch.setenv("HEAD360_ASSETS", str(tmp_path))  # an installation without the bundled files
    result = run_main([], xvfb_display)
    assert result.returncode == 1
    assert "no bundled demo model" in result.stderr and "--checkpoint" in result.stderr


@pytest.mark.gui
def test_main_studio_opens_the_window(xvfb_display, tiny_checkpoint):
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "main.py"), "studio", "--checkpoint", str(tiny_checkpoint)],
        env=studio_env(xvfb_display),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        found = ""
        end = time.time() + 90
        while time.time() < end and proc.poll() is None and not found:
            found = subprocess.run(
                ["xdotool", "search", "--name", "Head360 Studio"],
                env=studio_env(xvfb_display),
                capture_output=True,
                text=True,
            ).stdout.strip()
            time.sleep(0.5)
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert found, "the studio window did not appear"
        title = subprocess.run(
            ["xdotool", "getwindowname", found.split()[0]], env=studio_env(xvfb_display), capture_output=True, text=True
        ).stdout
        assert "tiny.safetensors" in title
    finally:
        proc.terminate()
        proc.wait(20)


def test_bad_checkpoint_is_one_line_error(tmp_path, xvfb_display):
    bad = tmp_path / "broken.safetensors"
    bad.write_bytes(b"\x00" * 64)
    result = run_main(["studio", "--checkpoint", str(bad)], xvfb_display)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
