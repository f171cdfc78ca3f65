"""A mesh model file that is damaged or holds NaN / Inf is refused on load with one line naming the
file (or the source the caller names), never a traceback or a temporary file's name."""

from __future__ import annotations

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from head360.errors import Head360Error
from head360.mesh.model import MeshModel
from tests.model.standin import standin_mesh_model


def test_non_finite_numbers_are_refused(tmp_path):
    model = standin_mesh_model()
    model.mean[0, 0] = np.nan
    model.save(tmp_path / "m.safetensors")
    with pytest.raises(Head360Error, match=r"m\.safetensors' holds NaN or infinite numbers in 'mean'"):
        MeshModel.load(tmp_path / "m.safetensors")


def test_a_damaged_model_is_reported_under_the_name_the_caller_gives(tmp_path):
    from safetensors import safe_open

    path = tmp_path / "m.safetensors"
    standin_mesh_model().save(path)
    with safe_open(str(path), framework="numpy") as f:
        meta = f.metadata()
    arrays = load_file(str(path))
    del arrays["faces"]
    save_file(arrays, str(path), metadata=meta)
    source = "the mesh model inside checkpoint 'head.safetensors'"
    with pytest.raises(Head360Error, match="damaged mesh model") as e:
        MeshModel.from_bytes(path.read_bytes(), source)
    assert str(e.value).startswith(source) and "\n" not in str(e.value)
    with pytest.raises(Head360Error, match="not a readable mesh model") as e:
        MeshModel.from_bytes(path.read_bytes()[:100], source)
    assert str(e.value).startswith(source)
