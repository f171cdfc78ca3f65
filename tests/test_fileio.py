"""Files are written under a temporary name and renamed; what a killed writer left behind is cleaned up
by the next write of the same file, and nothing else is touched."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from head360.fileio import atomic_path, write_text


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_killed_writers_part_file_is_removed_by_the_next_write(tmp_path):
    stale = tmp_path / f".head.{_dead_pid()}-abc123.part.glb"
    stale.write_bytes(b"half a mesh")
    old_naming = tmp_path / ".head.k2j4h5g6.part.glb"
    old_naming.write_bytes(b"older half")
    hour_ago = time.time() - 7200
    os.utime(old_naming, (hour_ago, hour_ago))
    live = tmp_path / f".head.{os.getpid()}-zzz999.part.glb"  # a writer still at work (this process)
    live.write_bytes(b"in progress")
    others = [tmp_path / ".other.1-abc.part.glb", tmp_path / "head.part.glb", tmp_path / ".head.notes.txt"]
    for p in others:
        p.write_bytes(b"not ours")
    write_text(tmp_path / "head.glb", "mesh")
    assert (tmp_path / "head.glb").read_text() == "mesh"
    assert not stale.exists() and not old_naming.exists()
    assert live.exists() and all(p.exists() for p in others)


def test_a_failed_write_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "x.obj") as tmp:
            tmp.write_text("partial")
            raise RuntimeError("renderer failed")
    assert list(tmp_path.iterdir()) == []


def test_a_write_the_system_refuses_is_reported_under_the_final_name(tmp_path):
    from head360.errors import Head360Error

    with pytest.raises(Head360Error) as e:
        with atomic_path(tmp_path / "head.ply") as tmp:
            raise OSError(28, "No space left on device", str(tmp))
    message = str(e.value)
    assert f"'{tmp_path / 'head.ply'}'" in message and ".part" not in message and "No space left" in message
    assert list(tmp_path.iterdir()) == []
