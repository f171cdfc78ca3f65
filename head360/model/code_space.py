"""Editing in the parametric space: leading directions of the code spaces and interpolation between heads.

The studio's identity sliders and A<->B interpolation call these; they are plain numpy and work for any
checkpoint (also untrained ones with a handful of subjects).

* Texture codes ``t`` [Zt] are trained with a N(0, I) prior: the leading directions are the principal
  components of the checkpoint's training-subject codes, completed (when there are fewer subjects than
  directions asked for) by an orthonormal basis of the remaining space, where the prior's spread (1) is
  the scale.
* Shape codes ``s`` [50] are whitened by the mesh model (``s ~ N(0, I)``, directions already sorted by
  variance): their leading directions are the first coordinates.
* Interpolation: texture codes spherically (a straight line between two N(0, I) samples passes through
  atypically short codes), shape codes and blendshape weights linearly (the mesh is linear in both).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from head360.errors import Head360Error


@dataclass
class CodeDirections:
    """Orthonormal directions of a code space and the spread along each.

    mean:       [Z]     centre of the codes (the training subjects' mean)
    directions: [K, Z]  orthonormal rows, leading (most varied) first
    sigma:      [K]     standard deviation along each direction (slider unit)
    """

    mean: np.ndarray
    directions: np.ndarray
    sigma: np.ndarray

    @property
    def count(self) -> int:
        return int(self.directions.shape[0])

    def coefficients(self, code: np.ndarray) -> np.ndarray:
        """code [Z] -> position along each direction in units of its sigma: [K]."""
        return (np.asarray(code, np.float64) - self.mean) @ self.directions.T / self.sigma

    def with_coefficient(self, code: np.ndarray, index: int, value: float) -> np.ndarray:
        """``code`` moved along direction ``index`` so that its coefficient there becomes ``value``
        (sigma units); the other coefficients and the part outside the directions are kept: [Z] float32."""
        code = np.asarray(code, np.float64)
        current = self.coefficients(code)[index]
        moved = code + (value - current) * self.sigma[index] * self.directions[index]
        return moved.astype(np.float32)


def texture_directions(codes: np.ndarray, count: int, seed: int = 0) -> CodeDirections:
    """Leading directions of texture codes [N, Z]: PCA of the subjects, completed by an orthonormal
    basis of the rest of the space (sigma 1, the prior) when N - 1 < count. ``count`` <= Z."""
    codes = np.asarray(codes, np.float64)
    if codes.ndim != 2:
        raise Head360Error(f"texture codes must be [N, Z], got shape {codes.shape}")
    n, z = codes.shape
    count = min(int(count), z)
    mean = codes.mean(0) if n else np.zeros(z)
    dirs: list[np.ndarray] = []
    sig: list[float] = []
    if n >= 2:
        _, s, vt = np.linalg.svd(codes - mean, full_matrices=False)
        std = s / np.sqrt(n - 1)
        for k in range(min(count, len(s))):
            if std[k] > 1e-6 * max(1.0, std[0]):
                dirs.append(vt[k])
                sig.append(float(std[k]))
    if len(dirs) < count:
        rng = np.random.default_rng(seed)
        basis = np.array(dirs).reshape(-1, z)
        while len(dirs) < count:
            v = rng.standard_normal(z)
            if len(basis):
                v -= basis.T @ (basis @ v)
            norm = np.linalg.norm(v)
            if norm < 1e-6:
                continue
            dirs.append(v / norm)
            sig.append(1.0)
            basis = np.array(dirs)
    return CodeDirections(mean=mean, directions=np.array(dirs).reshape(count, z), sigma=np.array(sig))


def shape_directions(shape_dim: int, count: int) -> CodeDirections:
    """The whitened mesh model's first ``count`` shape coordinates (mean 0, sigma 1)."""
    count = min(int(count), int(shape_dim))
    return CodeDirections(np.zeros(shape_dim), np.eye(shape_dim)[:count], np.ones(count))


def slerp(a: np.ndarray, b: np.ndarray, alpha: float) -> np.ndarray:
    """Spherical interpolation of two codes [Z] (angle and length interpolated), alpha in [0, 1]."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na < 1e-8 or nb < 1e-8:
        return ((1 - alpha) * a + alpha * b).astype(np.float32)
    ua, ub = a / na, b / nb
    omega = float(np.arccos(np.clip(ua @ ub, -1.0, 1.0)))
    if omega < 1e-5:
        direction = (1 - alpha) * ua + alpha * ub
    else:
        direction = (np.sin((1 - alpha) * omega) * ua + np.sin(alpha * omega) * ub) / np.sin(omega)
    return (direction * ((1 - alpha) * na + alpha * nb)).astype(np.float32)


def lerp(a: np.ndarray, b: np.ndarray, alpha: float) -> np.ndarray:
    """Linear interpolation of two arrays of the same shape, alpha in [0, 1]."""
    return ((1 - alpha) * np.asarray(a, np.float64) + alpha * np.asarray(b, np.float64)).astype(np.float32)


def interpolate_head(a, b, texture_alpha: float, shape_alpha: float, expression_alpha: float):
    """Codes between two heads, each part with its own alpha (the paper's parametric interpolation).

    a, b: objects with ``texture_code [Zt]``, ``shape_code [50]`` and ``blend_weights [52]`` (e.g.
    :class:`head360.model.checkpoint.Subject`) -> (texture_code, shape_code, blend_weights) float32.
    """
    for name in ("texture_code", "shape_code", "blend_weights"):
        if np.shape(getattr(a, name)) != np.shape(getattr(b, name)):
            raise Head360Error(f"cannot interpolate heads whose {name} sizes differ (made with different models)")
    texture = slerp(a.texture_code, b.texture_code, texture_alpha)
    shape = lerp(a.shape_code, b.shape_code, shape_alpha)
    weights = np.clip(lerp(a.blend_weights, b.blend_weights, expression_alpha), 0.0, 1.0)
    return texture, shape, weights
