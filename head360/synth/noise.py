"""Smooth procedural noise (vectorised numpy), deterministic for a seed.

Used by the hair builder (bumps, clumps) and the texture painters (blotches, pores, fibres).
Values are in about [-1, 1]; the lattice is hashed, so any point set can be evaluated without
precomputing a grid.
"""

from __future__ import annotations

import numpy as np

_P1, _P2, _P3 = np.uint32(73856093), np.uint32(19349663), np.uint32(83492791)


def _hash01(ix: np.ndarray, iy: np.ndarray, iz: np.ndarray, seed: int) -> np.ndarray:
    """Integer lattice coordinates -> pseudo-random floats in [0, 1)."""
    h = ix.astype(np.uint32) * _P1 ^ iy.astype(np.uint32) * _P2 ^ iz.astype(np.uint32) * _P3
    h ^= np.uint32((seed * 2654435761) & 0xFFFFFFFF)
    # xorshift-multiply finaliser (murmur-like) so neighbouring cells decorrelate
    h ^= h >> np.uint32(16)
    h *= np.uint32(0x7FEB352D)
    h ^= h >> np.uint32(15)
    h *= np.uint32(0x846CA68B)
    h ^= h >> np.uint32(16)
    return (h >> np.uint32(8)).astype(np.float32) * np.float32(1.0 / (1 << 24))


def value_noise3(points: np.ndarray, frequency: float, seed: int = 0) -> np.ndarray:
    """Smooth value noise at ``points`` [N, 3] (any leading shape [..., 3]) -> [...] in [-1, 1]."""
    p = np.asarray(points, dtype=np.float64) * float(frequency)
    shape = p.shape[:-1]
    p = p.reshape(-1, 3)
    i0 = np.floor(p).astype(np.int64)
    f = (p - i0).astype(np.float32)
    w = f * f * (3.0 - 2.0 * f)  # smoothstep weights
    out = np.zeros(len(p), np.float32)
    with np.errstate(over="ignore"):
        for dx in (0, 1):
            wx = w[:, 0] if dx else 1.0 - w[:, 0]
            for dy in (0, 1):
                wy = w[:, 1] if dy else 1.0 - w[:, 1]
                for dz in (0, 1):
                    wz = w[:, 2] if dz else 1.0 - w[:, 2]
                    v = _hash01(i0[:, 0] + dx, i0[:, 1] + dy, i0[:, 2] + dz, seed)
                    out += wx * wy * wz * v
    return (out * 2.0 - 1.0).reshape(shape)


def fbm3(points: np.ndarray, frequency: float, seed: int = 0, octaves: int = 4, gain: float = 0.5) -> np.ndarray:
    """Fractal sum of :func:`value_noise3` octaves, normalised to about [-1, 1]. points [..., 3] -> [...]."""
    total = None
    amp, norm, freq = 1.0, 0.0, float(frequency)
    for k in range(octaves):
        n = value_noise3(points, freq, seed + 1013 * k)
        total = n * amp if total is None else total + n * amp
        norm += amp
        amp *= gain
        freq *= 2.03
    return total / norm


def value_noise2(xy: np.ndarray, frequency: tuple[float, float] | float, seed: int = 0, period=None) -> np.ndarray:
    """2D value noise at ``xy`` [..., 2] -> [...] in [-1, 1].

    ``frequency`` may differ per axis (stretched noise, e.g. hair streaks). ``period`` (in lattice
    cells, per axis or None) makes the noise tile, so a texture can wrap around a cylinder seam.
    """
    fx, fy = (frequency, frequency) if np.isscalar(frequency) else frequency
    p = np.asarray(xy, dtype=np.float64) * np.array([fx, fy])
    shape = p.shape[:-1]
    p = p.reshape(-1, 2)
    i0 = np.floor(p).astype(np.int64)
    f = (p - i0).astype(np.float32)
    w = f * f * (3.0 - 2.0 * f)
    px, py = (None, None) if period is None else period
    out = np.zeros(len(p), np.float32)
    with np.errstate(over="ignore"):
        for dx in (0, 1):
            wx = w[:, 0] if dx else 1.0 - w[:, 0]
            ix = i0[:, 0] + dx
            if px:
                ix = np.mod(ix, px)
            for dy in (0, 1):
                wy = w[:, 1] if dy else 1.0 - w[:, 1]
                iy = i0[:, 1] + dy
                if py:
                    iy = np.mod(iy, py)
                out += wx * wy * _hash01(ix, iy, np.zeros_like(ix), seed)
    return (out * 2.0 - 1.0).reshape(shape)


def smoothstep(edge0, edge1, x):
    """Hermite step from 0 at ``edge0`` to 1 at ``edge1`` (either order), elementwise."""
    t = np.clip((np.asarray(x, dtype=np.float64) - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)
