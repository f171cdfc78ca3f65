"""The bilinear mesh model ``V(s, b)``: shape code ``s`` [50] and ARKit weights ``b`` [52] -> vertices.

``V(s, b) = mean + sum_k s_k S_k + sum_j b_j (E_j + sum_{k<K} s_k X_jk)``

This is a Tucker (bilinear) model of the (identity x expression) mesh tensor whose identity-expression
core is truncated to the first ``K`` identity directions (the others act on the neutral only). The shape
code is whitened: ``s ~ N(0, I)`` over the identities it was fitted on, so +-3 means +-3 sigma.

Stored as one safetensors file; the JSON metadata (names, counts, units) sits in the file's header.
Nothing is pickled.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import load_file, save_file

from head360.arkit import ARKIT_NAMES
from head360.errors import Head360Error
from head360.fileio import atomic_path

FORMAT = "head360-mesh-model/1"
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
        """Write atomically as safetensors (float16 bases to keep the file small, indices as int32)."""
        tensors = {
            "mean": self.mean.astype(np.float32),
            "shape_basis": self.shape_basis.astype(np.float16),
            "expr_basis": self.expr_basis.astype(np.float16),
            "expr_shape_basis": self.expr_shape_basis.astype(np.float16),
            "faces": self.faces.astype(np.int32),
            "uvs": self.uvs.astype(np.float32),
            "faces_uv": self.faces_uv.astype(np.int32),
            "face_label": self.face_label.astype(np.uint8),
            "landmark_vertices": self.landmark_vertices.astype(np.int32),
        }
        meta = {"format": FORMAT, "blendshapes": json.dumps(list(ARKIT_NAMES)), "info": json.dumps(self.info)}
        with atomic_path(path) as tmp:
            save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(tmp), metadata=meta)

    @staticmethod
    def load(path: str | Path) -> MeshModel:
        path = Path(path)
        if not path.is_file():
            raise Head360Error(f"mesh model '{path}' not found; create one with `python main.py synth`")
        try:
            from safetensors import safe_open

            with safe_open(str(path), framework="numpy") as f:
                meta = f.metadata() or {}
            arrays = load_file(str(path))
        except Exception as e:  # safetensors raises several types for a damaged file
            raise Head360Error(f"'{path}' is not a readable mesh model file ({e}); regenerate it") from e
        if meta.get("format") != FORMAT:
            raise Head360Error(f"'{path}' is not a Head360 mesh model (format {meta.get('format')!r})")
        if json.loads(meta["blendshapes"]) != list(ARKIT_NAMES):
            raise Head360Error(f"'{path}' uses a different blendshape list than this version of Head360")
        f32 = {k: arrays[k].astype(np.float32) for k in ("mean", "shape_basis", "expr_basis", "expr_shape_basis")}
        return MeshModel(
            **f32,
            faces=arrays["faces"].astype(np.int64),
            uvs=arrays["uvs"],
            faces_uv=arrays["faces_uv"].astype(np.int64),
            face_label=arrays["face_label"],
            landmark_vertices=arrays["landmark_vertices"].astype(np.int64),
            info=json.loads(meta.get("info", "{}")),
        )
