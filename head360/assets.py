"""Where the bundled files live (``assets/`` at the repository root) and how to find the demo model."""

from __future__ import annotations

from pathlib import Path

ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"
"""The repository's ``assets/`` folder (the bundled demo model and small static data)."""


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
