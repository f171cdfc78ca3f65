"""Shared fixtures for the mesh tests: the template (built once per session) and helpers."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session")
def template():
    from head360.mesh.template import build_template

    return build_template()


@pytest.fixture(scope="session")
def neutral_deltas(template):
    """Blendshape deltas [52, V, 3] of the mean identity."""
    from head360.mesh.blendshapes import blendshape_deltas

    return blendshape_deltas(template, template.vertices).astype(np.float64)
