import pytest
import torch

from head360.cameras import Camera
from head360.model.config import make_config
from head360.model.generator import Head360Generator
from tests.model.standin import standin_mesh_model


@pytest.fixture(scope="session")
def mesh_model():
    return standin_mesh_model(2)


@pytest.fixture()
def generator(mesh_model):
    torch.manual_seed(0)
    return Head360Generator(make_config("tiny"), mesh_model).eval()


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory, mesh_model):
    from head360.model.init_checkpoint import init_checkpoint

    folder = tmp_path_factory.mktemp("ckpt")
    mesh_model.save(folder / "mesh.safetensors")
    path = folder / "tiny.safetensors"
    init_checkpoint("tiny", str(folder / "mesh.safetensors"), str(path), subjects=3, seed=0)
    return path


def codes(g, batch=1, seed=0):
    gen = torch.Generator().manual_seed(seed)
    t = torch.randn(batch, g.config.texture.code_dim, generator=gen)
    s = torch.randn(batch, 50, generator=gen) * 0.5
    b = torch.zeros(batch, 52)
    return t, s, b


def cameras(*yaws, pitch=0.0):
    return torch.tensor([Camera.orbit(y, pitch).label() for y in yaws], dtype=torch.float32)
