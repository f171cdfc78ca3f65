"""NaN, Inf and out-of-range numbers on the command line are refused with one line before any work,
and nothing is left in the output folder."""

from __future__ import annotations

import pytest

from tests.cli.helpers import assert_one_line_error, run_cli


@pytest.mark.parametrize(
    "args, message",
    [
        (["--yaw", "nan"], "--yaw must be a finite number"),
        (["--yaw", "inf"], "--yaw must be a finite number"),
        (["--pitch=-inf"], "--pitch must be a finite number"),
        (["--pitch", "nan"], "--pitch must be a finite number"),
        (["--pitch", "95"], "--pitch must be between -89 and 89"),
    ],
)
def test_render_refuses_angles_that_are_not_finite_or_past_the_pole(tiny_checkpoint, tmp_path, capsys, args, message):
    code, _, err = run_cli(capsys, "render", "--checkpoint", tiny_checkpoint, *args, "--out", tmp_path / "x.png")
    assert_one_line_error(code, err, message)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "out, args, message",
    [
        ("t.mp4", ["--fps", "1e-9"], "--fps must be between 0.1 and 240"),
        ("t.mp4", ["--fps", "nan"], "--fps must be between"),
        ("t.gif", ["--fps", "100"], "--fps must be between 0.1 and 50"),
        ("t.mp4", ["--pitch", "inf"], "--pitch must be a finite number"),
    ],
)
def test_turntable_refuses_rates_and_angles_it_cannot_encode(tiny_checkpoint, tmp_path, capsys, out, args, message):
    code, _, err = run_cli(capsys, "turntable", "--checkpoint", tiny_checkpoint, *args, "--out", tmp_path / out)
    assert_one_line_error(code, err, message)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "args, message",
    [
        (["--resolution", "5000"], "mesh resolution must be between 8 and 1024"),
        (["--decimate", "0"], "--decimate is the fraction"),
        (["--min-part", "1.5"], "--min-part is a fraction"),
        (["--scale", "nan"], "--scale must be a positive number"),
        (["--iso", "inf"], "--iso must be a positive density"),
    ],
)
def test_export_mesh_checks_its_settings_before_the_model_loads(tmp_path, capsys, args, message):
    missing = tmp_path / "no-such-model.safetensors"  # never opened: the settings are refused first
    code, _, err = run_cli(capsys, "export-mesh", "--checkpoint", missing, *args, "--out", tmp_path / "head.glb")
    assert_one_line_error(code, err, message)
    assert list(tmp_path.iterdir()) == []
