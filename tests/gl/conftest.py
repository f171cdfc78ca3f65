"""Shared fixtures for the OpenGL tests: a GL context (fails loudly, never hangs) and simple meshes."""

from __future__ import annotations

import pytest

import head360.gl  # noqa: F401  (chooses the EGL platform before OpenGL is imported)
from head360.errors import Head360Error


@pytest.fixture(scope="session")
def gl_context():
    from head360.gl.context import thread_context

    try:
        return thread_context()
    except Head360Error as e:
        pytest.fail(f"no OpenGL context for the renderer tests: {e}", pytrace=False)
