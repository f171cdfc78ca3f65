import pytest
import torch

from tests.model.conftest import codes, generator, mesh_model, tiny_checkpoint  # noqa: F401  (shared fixtures)


@pytest.fixture()
def planes(generator):  # noqa: F811  (the fixture imported above)
    """Planes [batch 1] of the tiny generator's first code, wearing "long" hair."""
    t, s, b = codes(generator)
    with torch.no_grad():
        return generator.planes(t, s, b, "long")
