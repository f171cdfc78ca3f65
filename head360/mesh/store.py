"""Where the project's default bilinear mesh model comes from.

``assets/mesh_model.safetensors`` ships with the project. It records a fingerprint of the procedural
head (template, identity space, blendshapes) it was fitted on; if the code has changed since, the model
is refitted (about a minute) instead of silently using a stale one. ``python -m head360.mesh.store``
refits and rewrites the shipped file.
"""

from __future__ import annotations

import hashlib
import sys

import numpy as np

from head360.assets import ASSETS_DIR

DEFAULT_PATH = ASSETS_DIR / "mesh_model.safetensors"
_cache: dict = {}


def procedural_fingerprint() -> dict:
    """What a fitted mesh model depends on: the template topology (exact hash of the integer arrays)
    and probes of the float arrays (template, identity basis, blendshape deltas at the mean head),
    compared with a tolerance so that numpy versions and CPUs that round differently still match."""
    from head360.mesh.blendshapes import blendshape_deltas
    from head360.mesh.identity import identity_basis
    from head360.mesh.template import build_template

    t = build_template()
    h = hashlib.sha256()
    for a in (t.faces, t.faces_uv, t.face_label):
        a = np.ascontiguousarray(a.astype(np.int64))
        h.update(str(a.shape).encode() + a.tobytes())
    probes = []
    for a in (t.vertices, t.uvs, identity_basis(t), blendshape_deltas(t, t.vertices)):
        flat = np.asarray(a, np.float64).reshape(-1)
        idx = np.random.default_rng(len(flat)).choice(len(flat), size=min(256, len(flat)), replace=False)
        probes += [round(float(x), 6) for x in flat[idx]] + [round(float(np.abs(flat).sum()) / len(flat), 6)]
    return {"topology": h.hexdigest()[:16], "probes": probes}


def fingerprints_match(a, b) -> bool:
    if not isinstance(a, dict) or not isinstance(b, dict) or a.get("topology") != b.get("topology"):
        return False
    pa, pb = np.asarray(a.get("probes", []), np.float64), np.asarray(b.get("probes", []), np.float64)
    return pa.shape == pb.shape and bool(np.allclose(pa, pb, atol=2e-4, rtol=1e-3))


def default_mesh_model():
    """The shipped mesh model if it matches the current procedural head, else a freshly fitted one."""
    from head360.mesh.model import MeshModel

    if "model" in _cache:
        return _cache["model"]
    fingerprint = procedural_fingerprint()
    model = None
    if DEFAULT_PATH.is_file():
        shipped = MeshModel.load(DEFAULT_PATH)
        if fingerprints_match(shipped.info.get("fingerprint"), fingerprint):
            model = shipped
    if model is None:
        print("fitting the bilinear mesh model (the shipped one is missing or out of date)...", file=sys.stderr)
        model = _fit(fingerprint)
    _cache["model"] = model
    return model


def _fit(fingerprint: dict):
    from head360.mesh.fit import build_default_mesh_model

    model = build_default_mesh_model(seed=0)
    model.info["fingerprint"] = fingerprint
    return model


if __name__ == "__main__":
    import sys as _sys

    if "--refresh-fingerprint" in _sys.argv:  # same arrays, new fingerprint format
        from head360.mesh.model import MeshModel

        m = MeshModel.load(DEFAULT_PATH)
        m.info["fingerprint"] = procedural_fingerprint()
        m.save(DEFAULT_PATH)
        print(f"updated the fingerprint of {DEFAULT_PATH}")
        _sys.exit(0)
    m = _fit(procedural_fingerprint())
    m.save(DEFAULT_PATH)
    print(f"wrote {DEFAULT_PATH} ({DEFAULT_PATH.stat().st_size / 1e6:.1f} MB): {m.info.get('fit_report')}")
