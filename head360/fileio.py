"""Crash-safe file writing: everything goes to a temporary name in the same folder, then is renamed.

A killed process therefore never leaves a file that later reads as complete.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import time
from pathlib import Path

from head360.errors import Head360Error


def ensure_writable_dir(path: str | os.PathLike) -> Path:
    """Create ``path`` (and parents) and check that files can be written there."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as e:
        raise Head360Error(f"cannot write to folder '{path}': {e.strerror or e}; choose another --out") from e
    return path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path next to ``path``; on success rename it over ``path``.

    The temporary name keeps the final suffix so that writers that choose a format by extension work.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise Head360Error(f"cannot create folder '{path.parent}': {e.strerror or e}") from e
    _remove_stale_parts(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.{os.getpid()}-", suffix=f".part{path.suffix}")
    except OSError as e:
        raise Head360Error(f"cannot write '{path}': {e.strerror or e}; choose another location") from e
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        # mkstemp makes 0600 (and some writers recreate the file): exports should read like any file
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except OSError as e:  # named after the file asked for: the temporary name means nothing to the user
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise Head360Error(f"cannot write '{path}': {e.strerror or e}; check free space and permissions") from e
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def stays_inside(relative: str) -> bool:
    """Whether a path read from a file (a dataset index, an OBJ's ``mtllib``, an MTL's ``map_Kd``) is
    relative and stays inside the folder it is relative to: no absolute path, no drive, no ``..``.
    Decided from the text alone, before anything is opened."""
    parts = relative.replace("\\", "/").split("/")
    return bool(relative) and not (relative.startswith(("/", "\\", "~")) or ":" in parts[0] or ".." in parts)


STALE_PART_SECONDS = 24 * 3600
"""A temporary file of :func:`atomic_path` this old is stale even when its writer's process id is running
again (ids are reused) or cannot be checked (another machine on a shared disk)."""


def _remove_stale_parts(path: Path) -> None:
    """Delete what killed writers of ``path`` left behind: ``.{stem}.{pid}-{random}.part{suffix}`` files
    whose process is gone (or that are older than STALE_PART_SECONDS), and parts of the earlier naming
    without a process id (``.{stem}.{random}.part{suffix}``) older than an hour. Other files are never
    touched."""
    pattern = re.compile(rf"\.{re.escape(path.stem)}\.(?:(\d+)-)?[A-Za-z0-9_]+\.part{re.escape(path.suffix)}")
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return
    now = time.time()
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if match is None:
            continue
        with contextlib.suppress(OSError):
            age = now - entry.stat(follow_symlinks=False).st_mtime
            pid = match.group(1)
            if age > STALE_PART_SECONDS or (age > 3600 if pid is None else not _running(int(pid))):
                os.unlink(entry.path)


def _running(pid: int) -> bool:
    if pid == os.getpid() or os.name == "nt":  # Windows' os.kill would end the process: keep the file
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # it exists (another user's) or cannot be told: keep its file
    return True


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: str | os.PathLike, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike, obj, indent: int | None = None) -> None:
    write_text(path, json.dumps(obj, indent=indent))


def write_image(path: str | os.PathLike, image) -> None:
    """Write a uint8 image ``[H, W]``, ``[H, W, 3]`` or ``[H, W, 4]`` (PNG/JPEG by suffix) atomically."""
    from PIL import Image

    path = Path(path)
    with atomic_path(path) as tmp:
        Image.fromarray(image).save(tmp, format=_pil_format(path.suffix))


def _pil_format(suffix: str) -> str:
    s = suffix.lower()
    if s in (".jpg", ".jpeg"):
        return "JPEG"
    if s == ".webp":
        return "WEBP"
    return "PNG"
