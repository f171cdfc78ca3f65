"""A non-editable install works away from the source checkout: ``pip install .`` gives a ``head360``
command that finds the bundled model, mesh model and shaders where the install put them."""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(argv, cwd, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in argv], cwd=cwd, capture_output=True, text=True, timeout=300, **kwargs)


def _not_source(folder: str, names: list[str]) -> list[str]:
    top = {".git", ".venv", "build", "data", "runs", "out"} if Path(folder) == ROOT else set()
    return [n for n in names if n in top or n in ("node_modules", "__pycache__") or n.endswith((".egg-info", "_cache"))]


def test_an_installed_wheel_runs_the_commands_from_anywhere(tmp_path):
    source = tmp_path / "source"  # a clean copy: nothing from the checkout's build/ or data folders
    shutil.copytree(ROOT, source, ignore=_not_source)
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", tmp_path, source]
    built = _run(pip_wheel, source)
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = tmp_path.glob("head360_studio-*.whl")
    venv = tmp_path / "venv"
    assert _run([sys.executable, "-m", "venv", venv], tmp_path).returncode == 0
    python = venv / "bin" / "python"
    # the dependencies come from this environment (one path line: its own .pth files, among them the
    # editable install of this checkout, are not read); head360 itself only from the wheel
    own = _run([python, "-c", "import site; print(site.getsitepackages()[0])"], tmp_path).stdout.strip()
    Path(own, "dependencies.pth").write_text("\n".join(p for p in site.getsitepackages() if "site-packages" in p))
    installed = _run([python, "-m", "pip", "install", "--no-deps", "--no-index", "-q", wheel], tmp_path)
    assert installed.returncode == 0, installed.stderr[-2000:]
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DISPLAY", "HEAD360_ASSETS")}
    env.update(OMP_NUM_THREADS="1")
    found = "import head360, head360.assets as a; print(head360.__file__, a.ASSETS_DIR, a.data_folder('shaders'))"
    where = _run([python, "-c", found], work, env=env)
    assert where.stdout.count(str(venv)) == 3 and str(ROOT) not in where.stdout, where.stdout + where.stderr
    assert (venv / "share" / "head360" / "shaders" / "mesh.frag").is_file()
    assert _run([python, "-c", "import head360.data.dataset, app.studio"], work, env=env).returncode == 0
    head360 = venv / "bin" / "head360"
    assert "export-mesh" in _run([head360, "--help"], work, env=env).stdout
    rendered = _run([head360, "render", "--resolution", "32", "--quality", "preview", "--out", "x.png"], work, env=env)
    assert rendered.returncode == 0 and (work / "x.png").is_file(), rendered.stderr[-2000:]
    studio = _run([head360, "studio"], work, env=env)  # the studio package imports; no display here
    assert studio.returncode == 2 and "needs a display" in studio.stderr, studio.stderr[-2000:]
    assert "head360 render --checkpoint C" in studio.stderr and "main.py" not in studio.stderr
