"""Fitting the bilinear (Tucker) mesh model ``V(s, b) = mean + s S + b (E + s[:K] X)`` on generated
identities, its held-out report, and projecting a mesh onto the shape space.

The identity space is linear with whitened codes by construction (``identity.py``: each field is one
sigma, codes ~ N(0, I)), so the shape basis S is the identity basis itself and the model's shape code
``s`` *is* the identity code the data factory samples. What is fitted is the expression part: for
every blendshape j and vertex coordinate, a least-squares regression over the training identities of
that identity's delta on ``[1, s_1 .. s_K]`` gives E_j (the delta at the mean identity) and X_jk (how
it changes along the first K identity directions, the expression-relevant ones: jaw, face length,
mouth, eyes...). Everything is accumulated identity by identity (normal equations), so memory stays
at a few hundred MB and the fit takes well under a minute.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from head360.arkit import ARKIT_NAMES, NUM_BLENDSHAPES
from head360.labels import Label
from head360.mesh.model import MeshModel, roundtrip


@dataclass
class MeshModelFitConfig:
    """Settings of the mesh-model fit."""

    train_identities: int = 120
    """Identities the expression regression is fitted on."""
    test_identities: int = 30
    """Held-out identities the report is measured on."""
    interaction_rank: int = 16
    """K: identity directions whose effect on the blendshapes is modelled (IDENTITY_NAMES is ordered
    by that effect; each adds ~0.1 MB to the file)."""
    mixes_per_identity: int = 4
    """Random blendshape mixes per held-out identity in the report."""
    seed: int = 0


def fit_mesh_model(config: MeshModelFitConfig | None = None, template=None, verbose: bool = False) -> MeshModel:
    """Generate identities x (neutral + 52 blendshapes), fit the bilinear model, and report its
    held-out reconstruction error in ``info["fit_report"]`` (mm)."""
    from head360.mesh.blendshapes import blendshape_deltas
    from head360.mesh.identity import IDENTITY_NAMES, NUM_IDENTITY, identity_basis, sample_identity
    from head360.mesh.template import Part, build_template

    cfg = config or MeshModelFitConfig()
    t0 = time.perf_counter()
    t = template or build_template()
    k = int(cfg.interaction_rank)
    basis = identity_basis(t).astype(np.float64)  # [S, V, 3]
    nv = t.num_vertices
    mean = t.vertices.astype(np.float64)
    rng = np.random.default_rng(cfg.seed)
    train = np.stack([sample_identity(rng) for _ in range(cfg.train_identities)]).astype(np.float64)
    test = np.stack([sample_identity(rng) for _ in range(cfg.test_identities)]).astype(np.float64)

    # the vertices each blendshape moves are fixed by the template's region weights: regress only there
    support = np.abs(blendshape_deltas(t, mean)).max(2).reshape(-1) > 0  # [52 * V]
    flat = np.nonzero(support)[0]
    # normal equations of delta_ij ~ E_j + sum_k s_ik X_jk, shared by every blendshape and coordinate
    design = np.concatenate([np.ones((len(train), 1)), train[:, :k]], 1)  # [N, K+1]
    gram = design.T @ design
    rhs = np.zeros((k + 1, len(flat) * 3))
    for i, s in enumerate(train):
        neutral = mean + np.tensordot(s, basis, axes=1)
        deltas = blendshape_deltas(t, neutral).reshape(-1, 3)[flat].reshape(-1).astype(np.float64)
        rhs += design[i][:, None] * deltas[None]
        if verbose and (i + 1) % 20 == 0:
            print(f"  fitted {i + 1}/{len(train)} identities ({time.perf_counter() - t0:.0f} s)")
    coef_sparse = np.linalg.solve(gram, rhs).reshape(k + 1, len(flat), 3)
    coef = np.zeros((k + 1, NUM_BLENDSHAPES * nv, 3))
    coef[:, flat] = coef_sparse
    coef = coef.reshape(k + 1, NUM_BLENDSHAPES, nv, 3)
    expr_basis = coef[0]
    expr_shape_basis = np.moveaxis(coef[1:], 0, 1)  # [52, K, V, 3]
    del coef, rhs

    landmarks = t.landmark_table()
    info = {
        "units": "1 = 10 cm; +y up, face along +z, +x = subject's left",
        "shape_code": "whitened identity code: s ~ N(0, I) is a plausible head; IDENTITY_NAMES[i] names s[i]",
        "identity_names": list(IDENTITY_NAMES),
        "landmarks": landmarks,
        "parts": {name: list(rng_) for name, rng_ in t.part_ranges.items()},
        "part_names": [p.name.lower() for p in Part],
        "face_label_meaning": {str(int(lab)): lab.name.lower() for lab in Label},
        "template_topology": t.topology_hash(),
        "fit": {
            "train_identities": cfg.train_identities,
            "test_identities": cfg.test_identities,
            "interaction_rank": k,
            "seed": cfg.seed,
        },  # fmt: skip
    }
    model = MeshModel(
        mean=mean.astype(np.float32),
        shape_basis=basis.astype(np.float32),
        expr_basis=expr_basis.astype(np.float32),
        expr_shape_basis=expr_shape_basis.astype(np.float32),
        faces=t.faces.astype(np.int64),
        uvs=t.uvs.astype(np.float32),
        faces_uv=t.faces_uv.astype(np.int64),
        face_label=t.face_label.astype(np.uint8),
        landmark_vertices=t.landmark_vertices(),
        info=info,
    )
    assert NUM_IDENTITY == model.shape_dim
    model = roundtrip(model)  # report on (and return) exactly what is saved
    report = evaluate_mesh_model(model, t, test, cfg.mixes_per_identity, np.random.default_rng(cfg.seed + 1))
    report["fit_seconds"] = round(time.perf_counter() - t0, 1)
    model.info["fit_report"] = report
    return model


def _random_mix(rng: np.random.Generator) -> np.ndarray:
    """A plausible random expression: a handful of blendshapes at random weights."""
    b = np.zeros(NUM_BLENDSHAPES)
    active = rng.choice(NUM_BLENDSHAPES, size=rng.integers(3, 9), replace=False)
    b[active] = rng.uniform(0.2, 1.0, size=len(active))
    return b


def evaluate_mesh_model(model: MeshModel, template, test_codes: np.ndarray, mixes: int, rng) -> dict:
    """Per-vertex errors (mm) of the model against the procedural ground truth on held-out codes:
    neutral, each single blendshape at weight 1, and random mixes; also the error without the
    shape x expression interaction (K = 0) for comparison."""
    from head360.mesh.blendshapes import blendshape_deltas
    from head360.mesh.identity import identity_vertices

    mm = 100.0  # 1 unit = 10 cm = 100 mm
    neutral_err, single_err, mix_err, mix_err_k0 = [], [], [], []
    for s in test_codes:
        truth_neutral = identity_vertices(template, s).astype(np.float64)
        deltas = blendshape_deltas(template, truth_neutral).astype(np.float64)
        neutral_err.append(np.linalg.norm(model.vertices_np(s) - truth_neutral, axis=1) * mm)
        model_deltas = model.expr_basis + np.tensordot(
            s[: model.interaction_rank], model.expr_shape_basis, axes=([0], [1])
        )
        single_err.append(np.linalg.norm(model_deltas - deltas, axis=2).max(1) * mm)  # [52] max over vertices
        model_neutral = model.vertices_np(s).astype(np.float64)
        for _ in range(mixes):
            b = _random_mix(rng)
            truth = truth_neutral + np.tensordot(b, deltas, axes=1)
            pred = model_neutral + np.tensordot(b, model_deltas, axes=1)
            mix_err.append(np.linalg.norm(pred - truth, axis=1) * mm)
            k0 = model_neutral + np.tensordot(b, model.expr_basis, axes=1)
            mix_err_k0.append(np.linalg.norm(k0 - truth, axis=1) * mm)
    neutral_err, mix_err, mix_err_k0 = map(np.concatenate, (neutral_err, mix_err, mix_err_k0))
    single = np.max(np.stack(single_err), axis=0)
    worst = np.argsort(-single)[:5]
    return {
        "held_out_identities": int(len(test_codes)),
        "neutral_mean_mm": round(float(neutral_err.mean()), 4),
        "neutral_max_mm": round(float(neutral_err.max()), 4),
        "mix_mean_mm": round(float(mix_err.mean()), 4),
        "mix_max_mm": round(float(mix_err.max()), 4),
        "mix_mean_mm_without_interaction": round(float(mix_err_k0.mean()), 4),
        "mix_max_mm_without_interaction": round(float(mix_err_k0.max()), 4),
        "single_blendshape_max_mm": round(float(single.max()), 3),
        "worst_blendshapes_max_mm": {ARKIT_NAMES[j]: round(float(single[j]), 3) for j in worst},
    }


def build_default_mesh_model(seed: int = 0) -> MeshModel:
    """The project's default mesh model (what ``assets/mesh_model.safetensors`` holds)."""
    return fit_mesh_model(MeshModelFitConfig(seed=seed))


def project_shape(model: MeshModel, vertices, weights=None) -> np.ndarray:
    """Least-squares shape code [S] of a mesh with the model's topology.

    vertices: [V, 3] (same vertex order as the model); weights: optional [52] blendshape weights the
    mesh was posed with (their deltas at the mean identity are removed first; default: neutral).
    Returns s such that ``model.vertices_np(s, weights)`` is closest to ``vertices`` in the shape
    space (codes beyond +-5 sigma say the mesh is not a head of this model).
    """
    from head360.errors import Head360Error

    v = np.asarray(vertices, np.float64)
    if v.shape != (model.num_vertices, 3):
        raise Head360Error(
            f"the mesh has {v.shape[0] if v.ndim == 2 else '?'} vertices but the mesh model has "
            f"{model.num_vertices}: import meshes with the model's topology (an OBJ exported by Head360)"
        )
    target = v - model.mean
    b = None if weights is None else np.asarray(weights, np.float64)
    s = np.zeros(model.shape_dim)
    a = model.shape_basis.reshape(model.shape_dim, -1).T.astype(np.float64)  # [V*3, S]
    for _ in range(1 if b is None else 3):  # with an expression, alternate: the deltas depend on s[:K]
        r = target.copy()
        if b is not None:
            deltas = model.expr_basis + np.tensordot(
                s[: model.interaction_rank], model.expr_shape_basis, axes=([0], [1])
            )
            r = r - np.tensordot(b, deltas, axes=1)
        s = np.linalg.lstsq(a, r.reshape(-1), rcond=None)[0]
    return s.astype(np.float32)


def fit_mesh_model_from_meshes(
    neutrals: np.ndarray,
    deltas_of,
    faces: np.ndarray,
    uvs: np.ndarray,
    faces_uv: np.ndarray,
    face_label: np.ndarray,
    interaction_rank: int = 16,
) -> MeshModel:
    """Fit the bilinear model on meshes of one topology that are not procedural (imported rigs).

    neutrals: [N, V, 3] neutral heads of N subjects; deltas_of(i) -> [52, V, 3] blendshape deltas of
    subject i (read one subject at a time, so N x 52 meshes never sit in memory together).
    The shape space is the whitened PCA of the neutrals (min(50, N - 1) directions, the rest zero);
    each blendshape's delta is regressed on [1, s_1 .. s_K] like :func:`fit_mesh_model`.
    """
    neutrals = np.asarray(neutrals, np.float64)
    n, nv = neutrals.shape[:2]
    mean = neutrals.mean(0)
    centred = (neutrals - mean).reshape(n, -1)
    u, sing, vt = np.linalg.svd(centred, full_matrices=False)
    keep = int(min(50, max(n - 1, 0), int((sing > 1e-9 * max(sing.max(initial=0.0), 1e-12)).sum())))
    scale = np.sqrt(max(n - 1, 1))
    shape_basis = np.zeros((50, nv, 3))
    shape_basis[:keep] = (vt[:keep] * (sing[:keep] / scale)[:, None]).reshape(keep, nv, 3)
    codes = np.zeros((n, 50))
    codes[:, :keep] = u[:, :keep] * scale
    k = int(min(interaction_rank, keep))
    design = np.concatenate([np.ones((n, 1)), codes[:, :k]], 1)  # [N, K+1]
    gram = design.T @ design
    rhs = np.zeros((k + 1, NUM_BLENDSHAPES * nv * 3))
    for i in range(n):
        rhs += design[i][:, None] * np.asarray(deltas_of(i), np.float64).reshape(1, -1)
    coef = np.linalg.lstsq(gram, rhs, rcond=None)[0].reshape(k + 1, NUM_BLENDSHAPES, nv, 3)
    model = MeshModel(
        mean=mean.astype(np.float32),
        shape_basis=shape_basis.astype(np.float32),
        expr_basis=coef[0].astype(np.float32),
        expr_shape_basis=np.moveaxis(coef[1:], 0, 1).astype(np.float32),
        faces=np.asarray(faces, np.int64),
        uvs=np.asarray(uvs, np.float32),
        faces_uv=np.asarray(faces_uv, np.int64),
        face_label=np.asarray(face_label, np.uint8),
        landmark_vertices=np.zeros(0, np.int64),
        info={
            "units": "1 = 10 cm; +y up, face along +z, +x = subject's left",
            "shape_code": f"whitened PCA of {n} imported neutral heads ({keep} directions, the rest unused)",
            "landmarks": [],
            "fit": {"subjects": n, "shape_directions": keep, "interaction_rank": k, "source": "imported meshes"},
        },
    )
    return roundtrip(model)
