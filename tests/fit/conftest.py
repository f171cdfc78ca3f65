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
