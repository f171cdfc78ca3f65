"""Fixtures for the studio tests: an Xvfb display the tests start themselves, a tiny untrained checkpoint
(stand-in mesh model), and a runner that launches the studio with a driver script under that display."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HARNESS = Path(__file__).resolve().parent / "harness.py"


def _free_display() -> int:
    for n in range(91, 400):
        if not Path(f"/tmp/.X{n}-lock").exists() and not Path(f"/tmp/.X11-unix/X{n}").exists():
            return n
    raise RuntimeError("no free X display number")


@pytest.fixture(scope="session")
def xvfb_display():
    """A fresh Xvfb server (1280x800x24) for the session: ':N'."""
    if shutil.which("Xvfb") is None:
        pytest.fail("Xvfb is not installed (make system-deps)", pytrace=False)
    for _ in range(5):
        n = _free_display()
        proc = subprocess.Popen(
            ["Xvfb", f":{n}", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        end = time.time() + 10
        while time.time() < end and proc.poll() is None and not Path(f"/tmp/.X11-unix/X{n}").exists():
            time.sleep(0.05)
        if proc.poll() is None and Path(f"/tmp/.X11-unix/X{n}").exists():
            break
        proc.kill()
    else:
        pytest.fail("could not start Xvfb", pytrace=False)
    try:
        yield f":{n}"
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """An untrained `tiny` checkpoint on the stand-in mesh model, with 4 subjects and 3 hairstyles.

    Freshly initialised, its density is almost constant (0.2-0.3 per unit everywhere): below the
    occupancy threshold, so every ray would be skipped and every view would look the same. The density
    row of the decoder's last layer is scaled up 10x so that the field has structure (occupied where
    the untrained planes happen to be large): views then differ and the mesh (jawOpen) shows, as with
    a trained model. Only this test fixture is changed, not the model code."""
    import torch

    from head360.model.checkpoint import load_checkpoint, save_checkpoint
    from head360.model.init_checkpoint import init_checkpoint
    from tests.model.standin import standin_mesh_model

    folder = tmp_path_factory.mktemp("studio-model")
    mesh = folder / "mesh.safetensors"
    standin_mesh_model(subdivisions=2).save(mesh)
    out = folder / "tiny.safetensors"
    init_checkpoint("tiny", str(mesh), str(out), subjects=4, hairstyles=("short", "long", "curly"))
    ckpt = load_checkpoint(out)
    with torch.no_grad():
        ckpt.generator.decoder.fc1.weight[0] *= 10.0
        ckpt.generator.decoder.fc1.bias[0] *= 10.0
    save_checkpoint(out, ckpt.generator, ckpt.subjects, info=dict(ckpt.info, test_fixture="density x10"))
    return out


def studio_env(display: str | None) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.pop("DISPLAY", None)
    if display is not None:
        env["DISPLAY"] = display
    env.setdefault("OMP_NUM_THREADS", "2")
    return env


def run_driver(display: str, checkpoint: Path, workdir: Path, driver_source: str, timeout: float = 240) -> dict:
    """Launch the studio (subprocess, under ``display``) with a driver; returns the driver's report."""
    workdir.mkdir(parents=True, exist_ok=True)
    driver = workdir / "driver.py"
    driver.write_text(textwrap.dedent(driver_source))
    report_path = workdir / "report.json"
    cmd = [sys.executable, str(HARNESS), str(driver), str(checkpoint), str(workdir / "exports"), str(report_path)]
    result = subprocess.run(cmd, env=studio_env(display), cwd=workdir, capture_output=True, text=True, timeout=timeout)
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    if result.returncode != 0 or "error" in report or not report.get("finished"):
        raise AssertionError(
            f"studio driver failed (exit {result.returncode})\n{report.get('error', '')}\n"
            f"--- stdout ---\n{result.stdout[-3000:]}\n--- stderr ---\n{result.stderr[-5000:]}"
        )
    report["_stderr"] = result.stderr
    return report
