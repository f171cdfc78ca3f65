"""Where the project's default bilinear mesh model comes from.

``assets/mesh_model.safetensors`` ships with the project. It records a fingerprint of the procedural
head (template, identity space, blendshapes) it was fitted on; if the code has changed since, the model
is refitted (about a minute) instead of silently using a stale one. ``python -m head360.mesh.store``
refits and rewrites the shipped file.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np

ASSETS = Path(__file__).resolve().parents[2] / "assets"
DEFAULT_PATH = ASSETS / "mesh_model.safetensors"
_cache: dict = {}


def procedural_fingerprint() -> str:
    """Hash of what a fitted mesh model depends on: template, identity basis and blendshape deltas."""
    from head360.mesh.blendshapes import blendshape_deltas
    from head360.mesh.identity import identity_basis
    from head360.mesh.template import build_template

    t = build_template()
    h = hashlib.sha256()
    for a in (t.vertices, t.faces, t.uvs, t.faces_uv, t.face_label, identity_basis(t),
              blendshape_deltas(t, t.vertices)):  # fmt: skip
        a = np.ascontiguousarray(a)
        h.update(str(a.dtype).encode() + str(a.shape).encode())
        h.update(np.round(a.astype(np.float64), 5).tobytes() if a.dtype.kind == "f" else a.tobytes())
    return h.hexdigest()[:16]


def default_mesh_model():
    """The shipped mesh model if it matches the current procedural head, else a freshly fitted one."""
    from head360.mesh.model import MeshModel

    if "model" in _cache:
        return _cache["model"]
    fingerprint = procedural_fingerprint()
    model = None
    if DEFAULT_PATH.is_file():
        shipped = MeshModel.load(DEFAULT_PATH)
        if shipped.info.get("fingerprint") == fingerprint:
            model = shipped
    if model is None:
        print("fitting the bilinear mesh model (the shipped one is missing or out of date)...", file=sys.stderr)
        model = _fit(fingerprint)
    _cache["model"] = model
    return model


def _fit(fingerprint: str):
    from head360.mesh.fit import build_default_mesh_model

    model = build_default_mesh_model(seed=0)
    model.info["fingerprint"] = fingerprint
    return model


if __name__ == "__main__":
    m = _fit(procedural_fingerprint())
    m.save(DEFAULT_PATH)
    print(f"wrote {DEFAULT_PATH} ({DEFAULT_PATH.stat().st_size / 1e6:.1f} MB): {m.info.get('fit_report')}")
