"""The bilinear (Tucker) mesh model fitted on generated identities."""

from __future__ import annotations

import numpy as np
import pytest

from head360.errors import Head360Error
from head360.mesh.fit import MeshModelFitConfig, evaluate_mesh_model, fit_mesh_model, project_shape
from head360.mesh.identity import identity_vertices, sample_identity
from head360.mesh.model import MeshModel


@pytest.fixture(scope="module")
def small_model(template):
    # a quick fit (the default model uses 120 identities; the regression has K + 1 = 17 unknowns)
    return fit_mesh_model(MeshModelFitConfig(train_identities=30, test_identities=6, mixes_per_identity=2), template)


def test_report_and_info(small_model, template):
    m = small_model
    r = m.info["fit_report"]
    # Thresholds: the shape part is the identity basis itself (exact up to int16 storage); the
    # expression part is exact for the first K identity directions and first-order-only elsewhere,
    # so the residual is what the remaining 34 directions change in the deltas: sub-millimetre on
    # average, a few millimetres at the worst vertex of an extreme held-out head.
    assert r["neutral_max_mm"] < 0.05
    assert r["mix_mean_mm"] < 0.05 and r["mix_max_mm"] < 4.0
    assert r["mix_mean_mm"] < 0.5 * r["mix_mean_mm_without_interaction"]  # the interaction helps
    assert m.info["template_topology"] == template.topology_hash()
    assert len(m.info["landmarks"]) == len(template.landmarks)
    assert m.info["face_label_meaning"]["4"] == "mouth_interior"
    assert m.shape_dim == 50 and m.interaction_rank == 16


def test_model_reproduces_the_procedural_head(small_model, template):
    from head360.mesh.blendshapes import blendshape_deltas

    s = sample_identity(np.random.default_rng(123))
    neutral = identity_vertices(template, s).astype(np.float64)
    assert np.abs(small_model.vertices_np(s) - neutral).max() < 5e-4
    b = np.zeros(52)
    b[17] = 0.8  # jawOpen
    b[0] = 1.0  # eyeBlinkLeft
    truth = neutral + np.tensordot(b, blendshape_deltas(template, neutral).astype(np.float64), axes=1)
    assert np.abs(small_model.vertices_np(s, b) - truth).max() < 0.03  # < 3 mm anywhere
    torch = pytest.importorskip("torch")
    v = small_model.vertices(torch.tensor(s[None]), torch.tensor(b[None], dtype=torch.float32))
    assert np.allclose(v[0].numpy(), small_model.vertices_np(s, b), atol=1e-4)


def test_save_load_small_file(small_model, tmp_path):
    path = tmp_path / "mesh_model.safetensors"
    small_model.save(path)
    assert path.stat().st_size < 8e6  # ships inside the demo model
    m = MeshModel.load(path)
    for name in ("mean", "shape_basis", "expr_basis", "expr_shape_basis"):
        # the report was measured on the stored (quantised) model: saving it again changes ~nothing
        assert np.allclose(getattr(m, name), getattr(small_model, name), atol=3e-5), name  # < 0.003 mm
    assert np.array_equal(m.faces, small_model.faces) and m.info == small_model.info
    (tmp_path / "junk.safetensors").write_bytes(b"not a model")
    with pytest.raises(Head360Error):
        MeshModel.load(tmp_path / "junk.safetensors")


def test_project_shape_recovers_code(small_model, template):
    s = sample_identity(np.random.default_rng(5))
    v = small_model.vertices_np(s)
    assert np.abs(project_shape(small_model, v) - s).max() < 1e-2
    b = np.zeros(52)
    b[23] = 1.0  # mouthSmileLeft
    assert np.abs(project_shape(small_model, small_model.vertices_np(s, b), weights=b) - s).max() < 2e-2
    with pytest.raises(Head360Error, match="vertices"):
        project_shape(small_model, v[:-3])


def test_evaluate_measures_errors(small_model, template):
    """The report is not a constant: a model with its interaction removed scores worse."""
    import dataclasses

    crippled = dataclasses.replace(small_model, expr_shape_basis=np.zeros_like(small_model.expr_shape_basis))
    codes = np.stack([sample_identity(np.random.default_rng(9), scale=2.5)])
    good = evaluate_mesh_model(small_model, template, codes, 3, np.random.default_rng(0))
    bad = evaluate_mesh_model(crippled, template, codes, 3, np.random.default_rng(0))
    assert bad["mix_max_mm"] > 1.5 * good["mix_max_mm"] and bad["mix_mean_mm"] > 1.3 * good["mix_mean_mm"]
