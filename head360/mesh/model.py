"""The bilinear mesh model ``V(s, b)``: shape code ``s`` [50] and ARKit weights ``b`` [52] -> vertices.

``V(s, b) = mean + sum_k s_k S_k + sum_j b_j (E_j + sum_{k<K} s_k X_jk)``

This is a Tucker (bilinear) model of the (identity x expression) mesh tensor whose identity-expression
core is truncated to the first ``K`` identity directions (the others act on the neutral only). The shape
code is whitened: ``s ~ N(0, I)`` over the identities it was fitted on, so +-3 means +-3 sigma.

Stored as one safetensors file; the JSON metadata (names, counts, units) sits in the file's header.
Nothing is pickled. To keep the file small (it ships inside the demo model) the bases are quantised
to integers with a float32 scale per (direction, coordinate), and each direction keeps only the vertices
it moves (its support); loading rebuilds the dense float32 arrays. Identity directions and mean
blendshape deltas are int16 (error < 1/65534 of each one's largest displacement), the
shape x expression interactions int8 (error < 1/254 of theirs, hundredths of a millimetre).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import save_file

from head360.arkit import ARKIT_NAMES
from head360.errors import Head360Error
from head360.fileio import atomic_path

FORMAT = "head360-mesh-model/2"
FORMATS_READ = ("head360-mesh-model/1", FORMAT)
SHAPE_DIM = 50


@dataclass
class MeshModel:
    """Arrays (numpy, float32 unless noted):

    mean:               [V, 3]      neutral mean head
    shape_basis:        [S, V, 3]   identity directions (S = 50), scaled to unit variance of ``s``
    expr_basis:         [52, V, 3]  mean blendshape deltas (ARKit order)
    expr_shape_basis:   [52, K, V, 3] how each blendshape delta changes along the first K shape dirs
    faces:              [F, 3] int32 vertex indices (counter-clockwise seen from outside)
    uvs:                [T, 2]      texture coordinates in [0, 1] (v up, OpenGL style)
    faces_uv:           [F, 3] int32 indices into ``uvs``
    face_label:         [F] uint8   ``head360.labels.Label`` of each face (skin, eyes, mouth, neck)
    landmark_vertices:  [L] int32   template vertices of the semantic landmarks (see ``landmarks``)
    info:               JSON-able dict (landmark names and mediapipe indices, fit report, ...)
    """

    mean: np.ndarray
    shape_basis: np.ndarray
    expr_basis: np.ndarray
    expr_shape_basis: np.ndarray
    faces: np.ndarray
    uvs: np.ndarray
    faces_uv: np.ndarray
    face_label: np.ndarray
    landmark_vertices: np.ndarray
    info: dict = field(default_factory=dict)
    _torch_cache: dict = field(default_factory=dict, repr=False, compare=False)

    # --- sizes --------------------------------------------------------------------------------
    @property
    def num_vertices(self) -> int:
        return int(self.mean.shape[0])

    @property
    def shape_dim(self) -> int:
        return int(self.shape_basis.shape[0])

    @property
    def interaction_rank(self) -> int:
        return int(self.expr_shape_basis.shape[1])

    # --- evaluation ---------------------------------------------------------------------------
    def vertices_np(self, shape=None, weights=None) -> np.ndarray:
        """Numpy ``V(s, b)``: shape [S] or None, weights [52] or None -> [V, 3] float32."""
        s = np.zeros(self.shape_dim, np.float32) if shape is None else np.asarray(shape, np.float32)
        b = np.zeros(len(ARKIT_NAMES), np.float32) if weights is None else np.asarray(weights, np.float32)
        v = self.mean + np.tensordot(s, self.shape_basis, axes=1)
        k = self.interaction_rank
        deltas = self.expr_basis + np.tensordot(s[:k], self.expr_shape_basis, axes=([0], [1]))
        return (v + np.tensordot(b, deltas, axes=1)).astype(np.float32)

    def vertices(self, shape: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """Differentiable ``V(s, b)``: shape [B, S], weights [B, 52] -> vertices [B, V, 3]."""
        dev, dt = shape.device, shape.dtype
        mean, sb, eb, xb = self._tensors(dev, dt)
        b, k = shape.shape[0], self.interaction_rank
        v = mean[None] + (shape @ sb).view(b, -1, 3)
        # sum_j b_j E_j  +  sum_j sum_k b_j s_k X_jk
        v = v + (weights @ eb).view(b, -1, 3)
        if k:
            bs = (weights[:, :, None] * shape[:, None, :k]).reshape(b, -1)  # [B, 52*K]
            v = v + (bs @ xb).view(b, -1, 3)
        return v

    def _tensors(self, device, dtype):
        key = (str(device), dtype)
        if key not in self._torch_cache:
            n = len(ARKIT_NAMES)
            self._torch_cache.clear()
            self._torch_cache[key] = (
                torch.as_tensor(self.mean, dtype=dtype, device=device),
                torch.as_tensor(self.shape_basis.reshape(self.shape_dim, -1), dtype=dtype, device=device),
                torch.as_tensor(self.expr_basis.reshape(n, -1), dtype=dtype, device=device),
                torch.as_tensor(
                    self.expr_shape_basis.reshape(n * self.interaction_rank, -1), dtype=dtype, device=device
                ),
            )
        return self._torch_cache[key]

    def faces_tensor(self, device=None) -> torch.Tensor:
        return torch.as_tensor(self.faces.astype(np.int64), device=device)

    # --- io -----------------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Write atomically as safetensors: quantised bases (int16 shape and mean blendshape deltas, int8
        interactions), each direction / blendshape on its support only."""
        n_expr = len(ARKIT_NAMES)
        moved = np.abs(self.expr_basis).max(2)  # [52, V]
        if self.interaction_rank:
            moved = moved + np.abs(self.expr_shape_basis).max((1, 3))
        support = [np.nonzero(moved[j] > SUPPORT_EPS)[0] for j in range(n_expr)]
        offsets = np.concatenate([[0], np.cumsum([len(s_) for s_ in support])]).astype(np.int64)
        idx = np.concatenate(support) if offsets[-1] else np.zeros(0, np.int64)
        expr_vals = np.concatenate([self.expr_basis[j, support[j]] for j in range(n_expr)])  # [N, 3]
        k = self.interaction_rank
        owner = np.repeat(np.arange(n_expr), np.diff(offsets))
        e_q, e_scale = _quantize_grouped(expr_vals, owner, n_expr, np.int16)
        # interactions: each (blendshape, identity direction) pair on the vertices it matters for
        x_mag = np.abs(self.expr_shape_basis).max(3) if k else np.zeros((n_expr, 0, self.num_vertices))
        x_support = [np.nonzero(x_mag[j, kk] > SUPPORT_EPS)[0] for j in range(n_expr) for kk in range(k)]
        x_offsets = np.concatenate([[0], np.cumsum([len(x) for x in x_support])]).astype(np.int64)
        x_idx = np.concatenate(x_support) if k else np.zeros(0, np.int64)
        x_owner = np.repeat(np.arange(n_expr * k), np.diff(x_offsets))
        x_vals = (
            self.expr_shape_basis.reshape(n_expr * k, self.num_vertices, 3)[x_owner, x_idx] if k else np.zeros((0, 3))
        )
        x_q, x_scale = _quantize_grouped(x_vals, x_owner, max(n_expr * k, 1))
        # identity directions are local (nose, eyes, jaw...): keep each on the vertices it moves
        s_mag = np.abs(self.shape_basis).max(2)  # [S, V]
        s_support = [np.nonzero(s_mag[i] > SUPPORT_EPS)[0] for i in range(self.shape_dim)]
        s_offsets = np.concatenate([[0], np.cumsum([len(x) for x in s_support])]).astype(np.int64)
        s_idx = np.concatenate(s_support)
        s_owner = np.repeat(np.arange(self.shape_dim), np.diff(s_offsets))
        s_q, s_scale = _quantize_grouped(self.shape_basis[s_owner, s_idx], s_owner, self.shape_dim, np.int16)
        small = self.num_vertices < 65536
        index_dtype = np.uint16 if small else np.int32
        tensors = {
            "mean": self.mean.astype(np.float32),
            "shape_support": s_idx.astype(index_dtype),
            "shape_support_offsets": s_offsets,
            "shape_basis_q": s_q,
            "shape_basis_scale": s_scale,
            "expr_support": idx.astype(index_dtype),
            "expr_support_offsets": offsets,
            "expr_basis_q": e_q,
            "expr_basis_scale": e_scale,
            "expr_shape_support": x_idx.astype(index_dtype),
            "expr_shape_support_offsets": x_offsets,
            "expr_shape_basis_q": x_q,
            "expr_shape_basis_scale": x_scale,
            "faces": self.faces.astype(index_dtype),
            "uvs": self.uvs.astype(np.float32),
            "faces_uv": self.faces_uv.astype(np.uint16 if len(self.uvs) < 65536 else np.int32),
            "face_label": self.face_label.astype(np.uint8),
            "landmark_vertices": self.landmark_vertices.astype(np.int32),
        }
        meta = {
            "format": FORMAT,
            "blendshapes": json.dumps(list(ARKIT_NAMES)),
            "info": json.dumps(self.info),
            "num_vertices": str(self.num_vertices),
            "interaction_rank": str(k),
        }
        with atomic_path(path) as tmp:
            save_file({k_: np.ascontiguousarray(v) for k_, v in tensors.items()}, str(tmp), metadata=meta)

    @staticmethod
    def load(path: str | Path) -> MeshModel:
        path = Path(path)
        if not path.is_file():
            raise Head360Error(f"mesh model '{path}' not found; create one with `python main.py synth`")
        try:
            data = path.read_bytes()
        except OSError as e:
            raise Head360Error(f"cannot read mesh model '{path}' ({e.strerror or e}); check the file") from e
        return MeshModel.from_bytes(data, f"'{path}'")

    @staticmethod
    def from_bytes(data: bytes, source: str) -> MeshModel:
        """A mesh model from the bytes of its file (e.g. the copy inside a checkpoint); ``source`` names it
        in error messages ("the mesh model inside checkpoint 'x.safetensors'")."""
        try:
            from safetensors.numpy import load

            meta = _safetensors_metadata(data)
            arrays = load(data)
        except Exception as e:  # safetensors raises several types for a damaged file
            raise Head360Error(f"{source} is not a readable mesh model ({e}); regenerate it") from e
        if meta.get("format") not in FORMATS_READ:
            raise Head360Error(f"{source} is not a Head360 mesh model (format {meta.get('format')!r})")
        try:
            blendshapes = json.loads(meta["blendshapes"])
            model = MeshModel._from_arrays(meta, arrays)
        except (KeyError, ValueError, IndexError, TypeError) as e:
            raise Head360Error(f"{source} is a damaged mesh model ({type(e).__name__}: {e}); regenerate it") from e
        if blendshapes != list(ARKIT_NAMES):
            raise Head360Error(f"{source} uses a different blendshape list than this version of Head360")
        for name in ("mean", "shape_basis", "expr_basis", "expr_shape_basis"):
            if not np.isfinite(getattr(model, name)).all():
                raise Head360Error(f"{source} holds NaN or infinite numbers in '{name}'; regenerate it")
        return model

    @staticmethod
    def _from_arrays(meta: dict, arrays: dict) -> MeshModel:
        common = dict(
            faces=arrays["faces"].astype(np.int64),
            uvs=arrays["uvs"].astype(np.float32),
            faces_uv=arrays["faces_uv"].astype(np.int64),
            face_label=arrays["face_label"],
            landmark_vertices=arrays["landmark_vertices"].astype(np.int64),
            info=json.loads(meta.get("info", "{}")),
        )
        if meta["format"] == "head360-mesh-model/1":
            f32 = {k: arrays[k].astype(np.float32) for k in ("mean", "shape_basis", "expr_basis", "expr_shape_basis")}
            return MeshModel(**f32, **common)
        mean = arrays["mean"].astype(np.float32)
        nv = mean.shape[0]
        n_expr = len(ARKIT_NAMES)
        k = int(meta["interaction_rank"])
        s_dim = len(arrays["shape_support_offsets"]) - 1
        s_owner = np.repeat(np.arange(s_dim), np.diff(arrays["shape_support_offsets"].astype(np.int64)))
        shape_basis = np.zeros((s_dim, nv, 3), np.float32)
        shape_basis[s_owner, arrays["shape_support"].astype(np.int64)] = (
            arrays["shape_basis_q"].astype(np.float32) * arrays["shape_basis_scale"][s_owner]
        )
        idx = arrays["expr_support"].astype(np.int64)
        offsets = arrays["expr_support_offsets"].astype(np.int64)
        owner = np.repeat(np.arange(n_expr), np.diff(offsets))
        expr_basis = np.zeros((n_expr, nv, 3), np.float32)
        expr_basis[owner, idx] = arrays["expr_basis_q"].astype(np.float32) * arrays["expr_basis_scale"][owner]
        expr_shape = np.zeros((n_expr * k, nv, 3), np.float32)
        if k:
            x_owner = np.repeat(np.arange(n_expr * k), np.diff(arrays["expr_shape_support_offsets"].astype(np.int64)))
            expr_shape[x_owner, arrays["expr_shape_support"].astype(np.int64)] = (
                arrays["expr_shape_basis_q"].astype(np.float32) * arrays["expr_shape_basis_scale"][x_owner]
            )
        expr_shape = expr_shape.reshape(n_expr, k, nv, 3)
        return MeshModel(
            mean=mean, shape_basis=shape_basis, expr_basis=expr_basis, expr_shape_basis=expr_shape, **common
        )


SUPPORT_EPS = 2e-5
"""Vertices a blendshape moves by less than this (in any direction of the model, 2 micrometres) are
left out of its stored support."""


def _quantize_grouped(values: np.ndarray, group: np.ndarray, n_groups: int, dtype=np.int8):
    """Integer values [N, 3] with one float32 scale per (group, coordinate): values ~= q * scale[group]."""
    top = 127 if dtype == np.int8 else 32767
    scale = np.zeros((n_groups, 3), np.float64)
    if len(values):
        np.maximum.at(scale, group, np.abs(values))
    scale = np.where(scale > 0, scale / top, 1.0)
    q = np.rint(values / scale[group]) if len(values) else np.zeros((0, 3))
    return np.clip(q, -top, top).astype(dtype), scale.astype(np.float32)


def roundtrip(model: MeshModel) -> MeshModel:
    """The model exactly as :meth:`MeshModel.save` stores it (quantised), without touching disk."""
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "model.safetensors"
        model.save(path)
        return MeshModel.load(path)


def _safetensors_metadata(data: bytes) -> dict:
    """The ``__metadata__`` of a safetensors file's bytes (an 8-byte little-endian header length, then
    the JSON header)."""
    n = int.from_bytes(data[:8], "little")
    if len(data) < 8 or not 0 < n <= len(data) - 8:
        raise ValueError("not a safetensors file (bad header length)")
    return json.loads(data[8 : 8 + n]).get("__metadata__") or {}
