"""Fixtures for the data-factory tests: the template and a few identities built on it."""

from __future__ import annotations

import numpy as np
import pytest

import head360.gl  # noqa: F401  (chooses the EGL platform before OpenGL is imported)


@pytest.fixture(scope="session")
def template():
    from head360.mesh.template import build_template

    return build_template()


def _identities(template, count: int, seed: int) -> list[np.ndarray]:
    """Neutral meshes of ``count`` random identities (the identity model's, when it exists)."""
    rng = np.random.default_rng(seed)
    try:
        from head360.mesh.identity import identity_vertices, sample_identity
    except ImportError:  # identity model not merged yet: smooth random proportions of the template
        from head360.synth.noise import value_noise3

        out = []
        v = np.asarray(template.vertices, np.float64)
        bottom = -1.6  # the neck stays cut at the bottom of the head box
        for k in range(count):
            sx, sy, sz = rng.uniform(0.92, 1.08, 3)
            bulge = np.stack([value_noise3(v, 1.2, seed * 100 + 10 * k + a) for a in range(3)], 1)
            w = np.clip((v[:, 1:2] - bottom) / 0.6, 0.0, 1.0)  # no change at the neck cut
            head = v.copy()
            head[:, 0] *= sx
            head[:, 2] *= sz
            head[:, 1] = bottom + (v[:, 1] - bottom) * min(sy, 2.8 / (v[:, 1].max() - bottom))
            out.append((head + 0.04 * bulge * w).astype(np.float32))
        return out
    return [identity_vertices(template, sample_identity(rng)) for _ in range(count)]


@pytest.fixture(scope="session")
def identities(template) -> list[np.ndarray]:
    """The mean head and two random identities: [V, 3] each."""
    return [np.asarray(template.vertices)] + _identities(template, 2, seed=7)
