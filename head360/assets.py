"""Where the files that ship beside the code live (``assets/``, ``shaders/``) and how to find the demo
model: the one place that knows.

A folder is found, in order: where the environment variable names it (``HEAD360_ASSETS`` for the
assets); beside the package (a source checkout or an editable install); where a non-editable install
puts it (``<prefix>/share/head360/<folder>``, pyproject's data files).
"""

from __future__ import annotations

import os
import site
import sys
from pathlib import Path

from head360.errors import Head360Error


def data_folder(name: str, env: str | None = None) -> Path:
    """The folder ``name`` (``assets`` or ``shaders``) of this installation."""
    if env and os.environ.get(env):
        return Path(os.environ[env])
    source = Path(__file__).resolve().parent.parent / name
    if source.is_dir():
        return source
    for prefix in (sys.prefix, site.getuserbase()):
        installed = Path(prefix) / "share" / "head360" / name
        if installed.is_dir():
            return installed
    return source


ASSETS_DIR = data_folder("assets", "HEAD360_ASSETS")
"""The bundled demo model and small static data (mesh model, hairstyle classifier, landmark table, ...)."""


def is_checkpoint_file(path: str | Path) -> bool:
    """Whether ``path`` is a Head360 generator checkpoint (reads only the safetensors header)."""
    from head360.model.checkpoint import CHECKPOINT_FORMAT

    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="numpy") as f:
            return (f.metadata() or {}).get("format") == CHECKPOINT_FORMAT
    except Exception:  # not safetensors, unreadable: not a checkpoint
        return False


def bundled_checkpoint(folder: str | Path | None = None) -> Path | None:
    """The bundled demo checkpoint: a Head360 checkpoint in ``assets/`` (files named ``*demo*`` first,
    then any other, by name), or None when there is none."""
    folder = ASSETS_DIR if folder is None else Path(folder)
    if not folder.is_dir():
        return None
    candidates = sorted(folder.rglob("*.safetensors"), key=lambda p: ("demo" not in p.name.lower(), str(p)))
    for path in candidates:
        if is_checkpoint_file(path):
            return path
    return None


def checkpoint_or_bundled(path: str | Path | None) -> Path:
    """``path``, or the bundled demo model when it is None (every command's default ``--checkpoint``)."""
    if path is not None:
        return Path(path)
    found = bundled_checkpoint()
    if found is None:
        raise Head360Error(
            f"no bundled demo model in '{ASSETS_DIR}': pass --checkpoint C (train one with `python main.py train`, "
            "or write an untrained one with `python -m head360.model.init_checkpoint`)"
        )
    return found
