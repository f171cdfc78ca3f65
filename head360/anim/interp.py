"""Interpolation of keyed channels: cubic Hermite curves with monotone (Fritsch-Carlson) or Catmull-Rom
tangents on non-uniform key times, stepped and linear channels, yaw unwrapping, and rotation
interpolation by quaternion slerp / squad (never on raw quaternion components).

All functions are numpy, vectorised over the channel dimension. A channel is keys ``times [K]``
(strictly increasing seconds) and ``values [K, D]``; sampled at ``t [N]`` it gives ``[N, D]``.

Loops: with ``period`` set, the keys repeat every ``period`` seconds (the animation's duration) and
the curve is smooth across the loop point as well. ``closure [D]`` is what the values gain per
period (0 for weights; a multiple of 360 for a yaw channel that orbits).
"""

from __future__ import annotations

import numpy as np

METHODS = ("step", "linear", "catmull-rom", "monotone")


# --- tangents ---------------------------------------------------------------------------------
def catmull_rom_tangents(times: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Non-uniform Catmull-Rom (cardinal, tension 0) tangents ``[K, D]`` in value units per second:
    central differences inside, one-sided differences at the two ends."""
    k = len(times)
    m = np.zeros_like(values, dtype=np.float64)
    if k < 2:
        return m
    m[1:-1] = (values[2:] - values[:-2]) / (times[2:] - times[:-2])[:, None]
    m[0] = (values[1] - values[0]) / (times[1] - times[0])
    m[-1] = (values[-1] - values[-2]) / (times[-1] - times[-2])
    return m


def monotone_tangents(times: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Fritsch-Carlson tangents ``[K, D]`` (as scipy's PCHIP): the cubic between two keys never leaves
    the range of those two keys, so keys in [0, 1] give a curve in [0, 1] (no overshoot), and flat
    where the data turn around."""
    k = len(times)
    m = np.zeros_like(values, dtype=np.float64)
    if k < 2:
        return m
    h = np.diff(times)[:, None]  # [K-1, 1]
    delta = np.diff(values, axis=0) / h  # [K-1, D] secants
    if k == 2:
        m[0] = m[1] = delta[0]
        return m
    w1 = 2.0 * h[1:] + h[:-1]
    w2 = h[1:] + 2.0 * h[:-1]
    d0, d1 = delta[:-1], delta[1:]
    same_sign = (np.sign(d0) * np.sign(d1)) > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        harmonic = (w1 + w2) / (w1 / d0 + w2 / d1)
    m[1:-1] = np.where(same_sign, harmonic, 0.0)
    m[0] = _pchip_end(h[0], h[1], delta[0], delta[1])
    m[-1] = _pchip_end(h[-1], h[-2], delta[-1], delta[-2])
    return m


def _pchip_end(h0, h1, d0, d1):
    """One-sided three-point end tangent, limited so the end interval stays monotone (scipy's rule)."""
    d = ((2.0 * h0 + h1) * d0 - h0 * d1) / (h0 + h1)
    d = np.where(np.sign(d) != np.sign(d0), 0.0, d)
    d = np.where((np.sign(d0) != np.sign(d1)) & (np.abs(d) > np.abs(3.0 * d0)), 3.0 * d0, d)
    return d


# --- evaluation -------------------------------------------------------------------------------
def hermite(times: np.ndarray, values: np.ndarray, tangents: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Cubic Hermite spline through keys with given tangents, at ``t [N]`` -> ``[N, D]``; held constant
    before the first and after the last key."""
    t = np.asarray(t, np.float64)
    k = len(times)
    if k == 1:
        return np.repeat(values[:1].astype(np.float64), len(t), axis=0)
    tc = np.clip(t, times[0], times[-1])
    i = np.clip(np.searchsorted(times, tc, side="right") - 1, 0, k - 2)
    h = (times[i + 1] - times[i])[:, None]
    u = ((tc - times[i])[:, None]) / h
    u2, u3 = u * u, u * u * u
    h00 = 2 * u3 - 3 * u2 + 1
    h10 = u3 - 2 * u2 + u
    h01 = -2 * u3 + 3 * u2
    h11 = u3 - u2
    return h00 * values[i] + h10 * h * tangents[i] + h01 * values[i + 1] + h11 * h * tangents[i + 1]


def _linear(times, values, t):
    t = np.asarray(t, np.float64)
    if len(times) == 1:
        return np.repeat(values[:1].astype(np.float64), len(t), axis=0)
    return np.stack([np.interp(t, times, values[:, d]) for d in range(values.shape[1])], axis=1)


def _step(times, values, t):
    i = np.clip(np.searchsorted(times, np.asarray(t, np.float64), side="right") - 1, 0, len(times) - 1)
    return values[i].astype(np.float64)


def periodic_keys(
    times: np.ndarray, values: np.ndarray, period: float, closure: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Repeat keys over three periods (the one holding [0, period) in the middle) so that tangents and
    segments across the loop point come out right.

    If the last key sits exactly one period after the first, it is the first key's next repetition:
    the values then gain ``last - first`` per period (e.g. an orbit keyed 0 deg .. 360 deg) and
    ``closure`` is ignored. Otherwise the values gain ``closure`` per period (default 0).
    """
    times = np.asarray(times, np.float64)
    values = np.asarray(values, np.float64)
    d = values.shape[1]
    if len(times) >= 2 and abs((times[-1] - times[0]) - period) <= 1e-9 * max(1.0, period):
        gain = values[-1] - values[0]
        times, values = times[:-1], values[:-1]
    else:
        gain = np.zeros(d) if closure is None else np.asarray(closure, np.float64)
    ext_t = np.concatenate([times - period, times, times + period])
    ext_v = np.concatenate([values - gain, values, values + gain])
    return ext_t, ext_v


def sample(
    times,
    values,
    t,
    method: str = "monotone",
    period: float | None = None,
    closure: np.ndarray | None = None,
) -> np.ndarray:
    """Sample a keyed channel: ``times [K]``, ``values [K, D]``, ``t [N]`` -> ``[N, D]`` (float64).

    method: "step" (hold each key until the next), "linear", "catmull-rom" (C1, may overshoot the
    keys), "monotone" (C1 where the data are monotone, never overshoots). Without ``period`` the
    first / last key is held before / after the keys; with ``period`` the keys repeat (see
    :func:`periodic_keys`) and ``t`` is taken modulo the period.
    """
    if method not in METHODS:
        raise ValueError(f"unknown interpolation '{method}'; choose one of {', '.join(METHODS)}")
    times = np.asarray(times, np.float64)
    values = np.asarray(values, np.float64)
    if values.ndim == 1:
        values = values[:, None]
    t = np.atleast_1d(np.asarray(t, np.float64))
    if len(times) == 0:
        raise ValueError("cannot sample a channel without keys")
    gain = None
    if period is not None and period > 0 and len(times) >= 1:
        base_t, base_v = times, values
        times, values = periodic_keys(base_t, base_v, period, closure)
        # the three-period copy gains `span_gain` per period: wrap t into the middle period, then add
        # back the whole periods that were removed
        span_gain = (values[len(values) // 3] - values[0]) if len(values) >= 3 else np.zeros(values.shape[1])
        k = np.floor(t / period)
        t = t - k * period
        gain = k[:, None] * span_gain[None]
    if method == "step":
        out = _step(times, values, t)
    elif method == "linear":
        out = _linear(times, values, t)
    else:
        tangents = monotone_tangents(times, values) if method == "monotone" else catmull_rom_tangents(times, values)
        out = hermite(times, values, tangents, t)
    return out if gain is None else out + gain


# --- angles -------------------------------------------------------------------------------------
def wrap_degrees(angle):
    """Angle(s) wrapped into (-180, 180]."""
    a = np.mod(np.asarray(angle, np.float64) + 180.0, 360.0) - 180.0
    return np.where(a == -180.0, 180.0, a)


def unwrap_yaw(yaws_deg, turns=None) -> np.ndarray:
    """Keyed yaw angles -> continuous angles: each key is reached from the previous one along the
    shortest way round (a change of at most 180 deg), plus ``turns[k]`` extra full turns (positive:
    increasing yaw) on the way into key ``k``. The first key keeps its value."""
    yaws = np.asarray(yaws_deg, np.float64).reshape(-1)
    turns = np.zeros(len(yaws)) if turns is None else np.asarray(turns, np.float64).reshape(-1)
    out = yaws.copy()
    for k in range(1, len(yaws)):
        out[k] = out[k - 1] + wrap_degrees(yaws[k] - out[k - 1]) + 360.0 * turns[k]
    return out


# --- rotations ----------------------------------------------------------------------------------
def quat_from_matrix(r: np.ndarray) -> np.ndarray:
    """Rotation matrices ``[..., 3, 3]`` -> unit quaternions ``[..., 4]`` as (w, x, y, z), w >= 0."""
    from scipy.spatial.transform import Rotation

    r = np.asarray(r, np.float64)
    q = Rotation.from_matrix(r.reshape(-1, 3, 3)).as_quat()  # (x, y, z, w)
    q = np.concatenate([q[:, 3:], q[:, :3]], axis=1)
    q *= np.where(q[:, :1] < 0, -1.0, 1.0)
    return q.reshape(r.shape[:-2] + (4,))


def matrix_from_quat(q: np.ndarray) -> np.ndarray:
    """Quaternions ``[..., 4]`` (w, x, y, z; any length) -> rotation matrices ``[..., 3, 3]``."""
    from scipy.spatial.transform import Rotation

    q = np.asarray(q, np.float64)
    flat = q.reshape(-1, 4)
    m = Rotation.from_quat(np.concatenate([flat[:, 1:], flat[:, :1]], axis=1)).as_matrix()
    return m.reshape(q.shape[:-1] + (3, 3))


def _qmul(a, b):
    aw, ax, ay, az = np.moveaxis(a, -1, 0)
    bw, bx, by, bz = np.moveaxis(b, -1, 0)
    return np.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        axis=-1,
    )


def _qconj(q):
    return q * np.array([1.0, -1.0, -1.0, -1.0])


def _qlog(q):
    """Unit quaternion -> rotation vector / 2 (the pure quaternion's vector part) [..., 3]."""
    v = q[..., 1:]
    s = np.linalg.norm(v, axis=-1, keepdims=True)
    angle = np.arctan2(s, q[..., :1])
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(s > 1e-12, angle / s, 1.0)
    return v * scale


def _qexp(v):
    """[..., 3] -> unit quaternion exp((0, v))."""
    a = np.linalg.norm(v, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.where(a > 1e-12, np.sin(a) / a, 1.0)
    return np.concatenate([np.cos(a), v * s], axis=-1)


def slerp(q0: np.ndarray, q1: np.ndarray, u, shortest: bool = True) -> np.ndarray:
    """Spherical linear interpolation: q0, q1 [..., 4] (w, x, y, z), u in [0, 1]. ``shortest`` takes
    the shorter arc (the same rotations either way); squad's inner blends need the arc as given."""
    q0 = np.asarray(q0, np.float64)
    q1 = np.asarray(q1, np.float64)
    u = np.asarray(u, np.float64)[..., None]
    if shortest:
        dot = np.sum(q0 * q1, axis=-1, keepdims=True)
        q1 = np.where(dot < 0, -q1, q1)
    rel = _qmul(_qconj(q0), q1)
    return _qmul(q0, _qexp(_qlog(rel) * u))


def make_hemisphere_consistent(q: np.ndarray) -> np.ndarray:
    """Flip signs so that consecutive quaternions [K, 4] have a non-negative dot product (the same
    rotation either way, but interpolation then takes the short way)."""
    q = np.array(q, np.float64)
    for k in range(1, len(q)):
        if np.dot(q[k - 1], q[k]) < 0:
            q[k] = -q[k]
    return q


def squad(times: np.ndarray, quats: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Smooth (C1 for evenly spaced keys) rotation curve through key quaternions ``[K, 4]`` at
    ``times [K]``: Shoemake's spherical quadrangle interpolation, slerp of slerps with inner control
    points from the neighbouring keys. Returns unit quaternions ``[N, 4]``; held outside the keys."""
    times = np.asarray(times, np.float64)
    q = make_hemisphere_consistent(np.asarray(quats, np.float64))
    t = np.atleast_1d(np.asarray(t, np.float64))
    k = len(q)
    if k == 1:
        return np.repeat(q[:1], len(t), axis=0)
    # virtual neighbours beyond the ends continue the end segments (like one-sided differences for
    # positions), so two keys give plain constant-speed slerp
    before = _qmul(q[0], _qexp(-_qlog(_qmul(_qconj(q[0]), q[1]))))
    after = _qmul(q[-1], _qexp(_qlog(_qmul(_qconj(q[-2]), q[-1]))))
    prev = np.concatenate([before[None], q[:-1]])
    nxt = np.concatenate([q[1:], after[None]])
    inv = _qconj(q)
    inner = _qmul(q, _qexp(-(_qlog(_qmul(inv, nxt)) + _qlog(_qmul(inv, prev))) / 4.0))
    tc = np.clip(t, times[0], times[-1])
    i = np.clip(np.searchsorted(times, tc, side="right") - 1, 0, k - 2)
    u = (tc - times[i]) / (times[i + 1] - times[i])
    a = slerp(q[i], q[i + 1], u)  # keys are hemisphere-consistent: this is the short arc
    b = slerp(inner[i], inner[i + 1], u, shortest=False)
    out = slerp(a, b, 2.0 * u * (1.0 - u), shortest=False)
    return out / np.linalg.norm(out, axis=-1, keepdims=True)
