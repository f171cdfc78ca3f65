"""Shared fixtures of the fitting tests: the astronaut photo and its landmarks (computed once)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("GLOG_minloglevel", "2")


@pytest.fixture(scope="session")
def astronaut():
    from skimage import data

    return data.astronaut()


@pytest.fixture(scope="session")
def astronaut_face(astronaut):
    from head360.fit.landmarks import detect_face

    return detect_face(astronaut, "astronaut")


@pytest.fixture(scope="session")
def face_model():
    from tests.fit.standin import face_standin_model

    return face_standin_model()


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory, face_model):
    """An untrained tiny-preset checkpoint over the face stand-in mesh (fast renders)."""
    from head360.model.init_checkpoint import init_checkpoint

    folder = tmp_path_factory.mktemp("fit_ckpt")
    mesh_path = folder / "mesh.safetensors"
    face_model.save(mesh_path)
    out = folder / "tiny.safetensors"
    init_checkpoint("tiny", str(mesh_path), str(out), subjects=2, seed=0, hairstyles=("short", "long", "curly"))
    return out


@pytest.fixture(scope="session")
def astronaut_png(tmp_path_factory, astronaut):
    from PIL import Image

    path = tmp_path_factory.mktemp("photos") / "astronaut.png"
    Image.fromarray(astronaut).save(path)
    return path
