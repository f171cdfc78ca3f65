"""Fixtures for the animation tests: an untrained tiny checkpoint on the stand-in mesh model (fast
renders; the pictures mean nothing, the frame counts and plumbing do)."""

from __future__ import annotations

import numpy as np
import pytest

from head360.anim.arkit_io import WeightTrack
from head360.arkit import index_of


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    from head360.model.init_checkpoint import init_checkpoint
    from tests.model.standin import standin_mesh_model

    folder = tmp_path_factory.mktemp("anim-ckpt")
    standin_mesh_model(2).save(folder / "mesh.safetensors")
    path = folder / "tiny.safetensors"
    init_checkpoint(
        "tiny", str(folder / "mesh.safetensors"), str(path), subjects=2, seed=0, hairstyles=("short", "long", "curly")
    )
    return path


def jaw_track(frames: int = 9, fps: float = 12.0, head: bool = True) -> WeightTrack:
    """jawOpen rising 0 -> 1 and back, the head turning a little."""
    w = np.zeros((frames, 52), np.float32)
    w[:, index_of("jawOpen")] = np.sin(np.linspace(0, np.pi, frames))
    rot = np.stack([np.linspace(-20, 20, frames), np.zeros(frames), np.zeros(frames)], 1) if head else None
    return WeightTrack.from_frames(w, fps=fps, head_rotation=rot)
