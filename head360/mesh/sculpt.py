"""The sculpted skin surface of the mean head, as a radial heightfield seen from inside the head.

Every skin point of the head is ``skin_radius(d) * d`` for a unit direction ``d`` [N, 3]: the head
is star-shaped from the world origin (between the ears, a little below eye level). The neck below the
jaw is cast with horizontal rays from the neck axis instead (``skin_radius(d, origins)``), so that it
is not met at a grazing angle. The radius along a ray is combined from simple solids with smooth
unions measured along the ray (so blend widths are lengths):

* cranium: an egg-tapered ellipsoid (breadth ~15 cm, length ~19.5 cm with the face, vertex y = 1.2);
* face: a front "mask" solid ``z < Zf(x, y)`` whose front depth ``Zf`` is a superellipse tube
  following measured mid-sagittal and frontal profiles, plus the nose (dorsum, tip, columella), the
  lips (upper and lower vermilion meeting at the mouth line), the muzzle, philtrum, chin, brow
  ridge, cheekbones, nasolabial folds and the orbital hollows; bounded below by the mandible border
  and behind by the ramus;
* neck: an elliptic cylinder leaning slightly forward, down to the bottom of the head box;
* eyelids: a shell around each eyeball (eyeball radius + lid thickness) that emerges from the
  orbital hollow; the eye openings are cut out of it later, along the lid margins;
* alae (nostril wings) as small ellipsoids, nostrils carved under the tip.

Units: 1 = 10 cm; frame +y up, face along +z, +x = subject's left (see ``head360.cameras``).
All anatomical numbers live in :class:`Anatomy`; the identity model perturbs the finished mesh, not
these numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np


@dataclass(frozen=True)
class Anatomy:
    """Landmark positions of the mean head (world units, 1 = 10 cm), from adult anthropometry."""

    vertex_y: float = 1.20
    """Top of the head."""
    eye_center: tuple[float, float, float] = (0.315, 0.085, 0.605)
    """Centre of the subject's LEFT eyeball (+x); the right one is mirrored. IPD 6.3 cm."""
    eyeball_radius: float = 0.12
    lid_offset: float = 0.016
    """Distance of the outer eyelid skin from the eyeball surface."""
    nose_tip: tuple[float, float] = (-0.29, 1.085)
    """(y, z) of the pronasale."""
    subnasale: tuple[float, float] = (-0.365, 0.865)
    stomion_y: float = -0.575
    mouth_half_width: float = 0.25
    menton: tuple[float, float] = (-1.055, 0.70)
    jaw_hinge: tuple[float, float, float] = (0.49, -0.10, 0.03)
    """Left condyle (x, y, z): the jaw rotates about the x axis through both condyles."""
    tragus: tuple[float, float, float] = (0.70, -0.04, -0.06)
    neck_bottom_y: float = -1.6


ANATOMY = Anatomy()


# ----------------------------------------------------------------------------------------------
# small smooth helpers
# ----------------------------------------------------------------------------------------------
def smax(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    """Smooth maximum (polynomial, blend width ``k`` in the units of a and b)."""
    h = np.clip(0.5 + 0.5 * (a - b) / k, 0.0, 1.0)
    return b + (a - b) * h + k * h * (1.0 - h)


def smin(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    return -smax(-a, -b, k)


def smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def bump(q: np.ndarray) -> np.ndarray:
    """Smooth compact bump of the squared normalised radius ``q``: 1 at 0, 0 for q >= 1 (C2)."""
    t = np.clip(1.0 - q, 0.0, 1.0)
    return t * t * t


def gauss(q: np.ndarray) -> np.ndarray:
    return np.exp(-q)


class Profile:
    """A monotone-cubic (PCHIP) profile y -> value through keypoints, held constant beyond them.

    Tabulated densely once and read back with linear interpolation (fast, and identical everywhere).
    """

    def __init__(self, ys, values, samples: int = 2048, smooth: float = 0.045):
        from scipy.interpolate import PchipInterpolator

        order = np.argsort(ys)
        ys = np.asarray(ys, np.float64)[order]
        vals = np.asarray(values, np.float64)[order]
        self.y0, self.dy = ys[0], (ys[-1] - ys[0]) / (samples - 1)
        vals = PchipInterpolator(ys, vals)(np.linspace(ys[0], ys[-1], samples))
        # smooth the curvature jumps at the keypoints (they would show as creases in the shading)
        sigma = smooth / self.dy
        k = np.arange(-int(3 * sigma), int(3 * sigma) + 1)
        kern = np.exp(-0.5 * (k / sigma) ** 2)
        kern /= kern.sum()
        padded = np.concatenate([np.full(len(k) // 2, vals[0]), vals, np.full(len(k) // 2, vals[-1])])
        self.vals = np.convolve(padded, kern, mode="valid")
        self.last = samples - 1

    def __call__(self, y: np.ndarray) -> np.ndarray:
        t = np.clip((np.asarray(y, np.float64) - self.y0) / self.dy, 0.0, self.last)
        i = np.minimum(t.astype(np.int64), self.last - 1)
        f = t - i
        return self.vals[i] * (1.0 - f) + self.vals[i + 1] * f


# ----------------------------------------------------------------------------------------------
# profiles (y -> value), mean adult head; tuned by looking at renders
# ----------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _profiles() -> dict[str, Profile]:
    p = {}
    # mid-sagittal front depth of the face mask without nose / lips / chin / brow bumps
    p["z0"] = Profile(
        [1.00, 0.85, 0.70, 0.55, 0.40, 0.25, 0.10, -0.10, -0.30, -0.45, -0.55, -0.70, -0.85, -1.00, -1.12],
        [0.30, 0.60, 0.74, 0.835, 0.87, 0.872, 0.86, 0.80, 0.80, 0.72, 0.70, 0.68, 0.69, 0.66, 0.55],
    )
    # half width of the face mask (where its side turns to face sideways)
    p["rx"] = Profile(
        [1.00, 0.70, 0.40, 0.25, 0.10, -0.10, -0.30, -0.50, -0.70, -0.85, -1.00, -1.12],
        [0.46, 0.60, 0.68, 0.665, 0.675, 0.67, 0.67, 0.665, 0.62, 0.54, 0.42, 0.30],
    )
    # depth of the front curvature (how far back the sides reach) and superellipse exponent
    p["rz"] = Profile(
        [1.00, 0.40, 0.25, 0.10, -0.10, -0.30, -0.50, -0.70, -0.90, -1.12],
        [0.92, 0.93, 0.85, 0.80, 0.62, 0.62, 0.74, 0.85, 0.78, 0.70],
    )
    p["n"] = Profile(
        [1.00, 0.40, 0.10, -0.10, -0.30, -0.50, -0.70, -0.90, -1.12],
        [2.3, 2.5, 2.5, 2.5, 2.8, 3.2, 2.6, 2.2, 2.0],
    )
    # the muzzle: how far the mouth region (dental arches, lips, chin) stands out at the midline,
    # and its half width
    p["muzzle_h"] = Profile(
        [-0.25, -0.32, -0.40, -0.50, -0.60, -0.70, -0.80, -0.90, -1.00, -1.08],
        [0.0, 0.045, 0.11, 0.15, 0.155, 0.13, 0.105, 0.10, 0.07, 0.0],
    )
    p["muzzle_w"] = Profile([-0.30, -0.50, -0.70, -0.90, -1.05], [0.36, 0.35, 0.34, 0.32, 0.26])
    # nose: dorsum depth (absolute z), half width of its base, cross-section exponents
    p["nose_z"] = Profile(
        [0.20, 0.12, 0.04, -0.03, -0.10, -0.17, -0.23, -0.27, -0.295, -0.32, -0.34, -0.355, -0.368],
        [0.880, 0.880, 0.914, 0.958, 1.005, 1.048, 1.078, 1.092, 1.094, 1.078, 1.040, 0.975, 0.880],
    )
    p["nose_w"] = Profile(
        [0.20, 0.12, 0.05, -0.05, -0.12, -0.20, -0.27, -0.31, -0.345, -0.37],
        [0.110, 0.105, 0.118, 0.145, 0.172, 0.200, 0.215, 0.215, 0.190, 0.135],
    )
    p["nose_p"] = Profile([0.20, 0.05, -0.05, -0.15, -0.27, -0.34], [2.0, 1.9, 1.9, 1.8, 1.9, 2.1])
    p["nose_q"] = Profile([0.20, 0.05, -0.05, -0.15, -0.27, -0.34], [1.8, 1.6, 1.45, 1.3, 1.3, 1.4])
    return p


def mouth_line_y(x: np.ndarray) -> np.ndarray:
    """Height of the mouth line (where the lips meet) at ``x`` (|x| <= mouth half width)."""
    a = ANATOMY
    u = np.clip(np.abs(x) / a.mouth_half_width, 0.0, 1.0)
    # gentle upward curve toward the corners, a slight dip under the upper-lip tubercle
    return a.stomion_y + 0.012 * u**2 - 0.004 * np.exp(-((x / 0.045) ** 2))


def lid_margin_2d(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Lid margins of the LEFT eye in eye-local front coordinates ``(ex, ey)`` [n, 2] each.

    ``ex`` points to the subject's left (lateral for the left eye), ``ey`` up, relative to the
    eyeball centre. Both curves run from the inner corner (medial canthus) to the outer corner.
    Returns (upper [n, 2], lower [n, 2]); their first and last points coincide.
    """
    inner = np.array([-0.150, -0.012])
    outer = np.array([0.142, 0.010])
    t = np.linspace(0.0, 1.0, n)[:, None]

    def bezier(p1, p2):
        p1, p2 = np.array(p1), np.array(p2)
        return (1 - t) ** 3 * inner + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t**2 * p2 + t**3 * outer

    upper = bezier((-0.105, 0.058), (0.065, 0.072))
    lower = bezier((-0.085, -0.060), (0.080, -0.058))
    return upper, lower


# ----------------------------------------------------------------------------------------------
# the face mask front depth Zf(x, y)
# ----------------------------------------------------------------------------------------------
def _face_base(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    p = _profiles()
    z0, rx, rz, n = p["z0"](y), p["rx"](y), p["rz"](y), p["n"](y)
    u = np.abs(x) / rx
    s = (1.0 - np.minimum(u, 1.0) ** n) ** (1.0 / n)
    # beyond the side: fall away steeply (the closed tube test in _face_inside bounds it anyway)
    return z0 - rz + rz * s - 4.0 * np.maximum(u - 1.0, 0.0) * rx


def _eye_region(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Blend the face depth ``z`` into the eyelids around each eye.

    The lids are a shell around the eyeball (eyeball radius + lid thickness); they take over inside
    an ellipse around the eye (upper lid ~7 mm above the centre, lower ~8 mm below, the corners)
    and blend into the face over the next ~7 mm. A soft orbital hollow first brings the face toward
    the lids, and a shallow groove marks the upper lid crease.
    """
    a = ANATOMY
    cx, cy, cz = a.eye_center
    dx = np.abs(x) - cx
    dy = y - cy
    # the orbit: a broad depression around the eye, so the lids stand out of it as on real faces,
    # a little deeper under the brow (the upper sulcus) and toward the nose
    qh = ((dx + 0.015) / 0.175) ** 2 + ((dy - 0.01) / np.where(dy > 0.01, 0.15, 0.165)) ** 2
    z = z - 0.072 * np.exp(-qh)
    # the lid surface: the shell around the eyeball, continued beyond its silhouette by a surface
    # that levels off (so the eye corners do not sink into pits)
    rr = a.eyeball_radius + a.lid_offset
    rho = np.sqrt(dx * dx + dy * dy)
    rk = 0.88 * rr
    s_knee = np.sqrt(rr * rr - rk * rk)
    g_knee = rk / s_knee  # steepness of the sphere at the knee
    tau = 0.018
    inside = np.sqrt(np.maximum(rr * rr - rho * rho, 0.0))
    tail = s_knee - g_knee * tau * (1.0 - np.exp(-np.maximum(rho - rk, 0.0) / tau))
    lid = cz + np.where(rho < rk, inside, tail)
    ax = np.where(dx > 0, 0.142, 0.122)
    ay = np.where(dy > 0, 0.078, 0.088)
    e = np.sqrt((dx / ax) ** 2 + (dy / ay) ** 2)
    t = np.clip((1.6 - e) / 0.65, 0.0, 1.0)
    w = t * t * t * (t * (6.0 * t - 15.0) + 10.0)  # C2 smoothstep
    z = (1.0 - w) * z + w * lid
    # upper lid crease
    crease = np.exp(-(((e - 1.12) / 0.38) ** 2)) * smoothstep(0.0, 0.05, dy) * smoothstep(0.17, 0.05, np.abs(dx))
    return z - 0.006 * crease


def _lip_profile(s: np.ndarray) -> np.ndarray:
    """Forward offset of the lips at the midline as a function of the height above the mouth line
    (s > 0 upper lip, s < 0 lower lip). Zero on the line (where the lips meet in a crease)."""
    up = np.maximum(s, 0.0)
    lo = np.maximum(-s, 0.0)

    def upper(t):
        return 0.040 * np.exp(-(((t - 0.030) / 0.030) ** 2)) + 0.004 * np.exp(-(((t - 0.078) / 0.016) ** 2))

    def lower(t):
        return 0.046 * np.exp(-(((t - 0.042) / 0.036) ** 2)) - 0.018 * np.exp(-(((t - 0.185) / 0.050) ** 2))

    return np.where(
        s >= 0,
        upper(up) - upper(0.0) * np.exp(-((up / 0.05) ** 2)),
        lower(lo) - lower(0.0) * np.exp(-((lo / 0.05) ** 2)),
    )


def _face_without_nose(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    a = ANATOMY
    ax = np.abs(x)
    z = _face_base(x, y)

    # brow ridge: soft, strongest above the inner half of the eyes; glabella between
    brow_y = 0.265 + 0.02 * np.exp(-(((ax - 0.30) / 0.15) ** 2))
    z = z + 0.022 * gauss(((y - brow_y) / 0.075) ** 2) * smoothstep(0.62, 0.30, ax)
    z = z + 0.008 * gauss((x / 0.10) ** 2 + ((y - 0.24) / 0.08) ** 2)
    # temples: a slight hollow behind the brow's outer end
    z = z - 0.015 * gauss(((ax - 0.60) / 0.09) ** 2 + ((y - 0.30) / 0.15) ** 2)
    # orbits and eyelids
    z = _eye_region(x, y, z)
    # cheekbones (malar prominence), forward and lateral of the lower orbit, and cheek fat below
    z = z + 0.040 * gauss(((ax - 0.46) / 0.16) ** 2 + ((y + 0.10) / 0.12) ** 2)
    z = z + 0.018 * gauss(((ax - 0.33) / 0.12) ** 2 + ((y + 0.30) / 0.14) ** 2)
    # muzzle: the region around the mouth follows the dental arches and stands out of the cheeks
    pr = _profiles()
    mw = pr["muzzle_w"](y)
    z = z + pr["muzzle_h"](y) * np.clip(1.0 - (x / mw) ** 2, 0.0, None) ** 1.6
    # nasolabial fold: a soft crease from the ala curving down beside the mouth
    t = np.clip((-0.34 - y) / 0.30, 0.0, 1.0)
    fold_x = 0.20 + 0.10 * np.sqrt(t)
    along = smoothstep(-0.01, 0.06, -0.34 - y) * smoothstep(-0.70, -0.56, y)
    d = ax - fold_x
    z = z - 0.007 * along * gauss((d / 0.03) ** 2)
    z = z + 0.008 * along * gauss(((d - 0.05) / 0.05) ** 2)

    # lips: upper and lower vermilion meeting at the mouth line, fading toward the corners
    ym = mouth_line_y(np.clip(x, -a.mouth_half_width, a.mouth_half_width))
    u = np.clip(ax / a.mouth_half_width, 0.0, 1.5)
    env = np.clip(1.0 - u**2, 0.0, None) ** 0.7
    z = z + env * _lip_profile(y - ym)
    # cupid's bow: the upper vermilion border dips at the middle
    # philtrum: two soft columns with a groove between, from the nose to the upper vermilion
    ph = smoothstep(-0.36, -0.40, y) * smoothstep(ym + 0.06, ym + 0.09, y)
    z = z + ph * (0.003 * gauss(((ax - 0.05) / 0.02) ** 2) - 0.003 * gauss((x / 0.025) ** 2))
    # mouth corners sink a little (modiolus)
    q = ((ax - a.mouth_half_width - 0.01) / 0.045) ** 2 + ((y - a.stomion_y) / 0.05) ** 2
    z = z - 0.010 * gauss(q)
    # chin (mentalis) prominence
    z = z + 0.022 * gauss((x / 0.17) ** 2 + ((y + 0.92) / 0.09) ** 2)

    return z


@lru_cache(maxsize=1)
def _midline_table() -> tuple[np.ndarray, np.ndarray]:
    ys = np.linspace(-0.40, 0.24, 1281)
    return ys, _face_without_nose(np.zeros_like(ys), ys)


def _midline_without_nose(y: np.ndarray) -> np.ndarray:
    ys, zs = _midline_table()
    return np.interp(y, ys, zs)


def face_depth(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Front depth ``Zf(x, y)`` of the face mask with all its features (nose, lips, brows...)."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    ax = np.abs(x)
    z = _face_without_nose(x, y)
    # nose: added on top of the face, a ridge whose cross-section is z = h (1 - u^p)^q, h raising
    # the face's midline to the dorsum profile
    p = _profiles()
    yn = np.clip(y, -0.372, 0.20)
    nz, nw, npow, nq = p["nose_z"](yn), p["nose_w"](yn), p["nose_p"](yn), p["nose_q"](yn)
    h = np.maximum(nz - _midline_without_nose(yn), 0.0)
    h = h * smoothstep(-0.372, -0.362, y) * smoothstep(0.22, 0.13, y)
    un = np.clip(ax / nw, 0.0, 1.0)
    z = z + h * (1.0 - un**npow) ** nq
    # alae (nostril wings) and the alar crease around their upper, outer and back edges
    qa = ((ax - 0.135) / 0.065) ** 2 + ((y + 0.318) / 0.047) ** 2
    z = z + 0.022 * np.exp(-(qa**1.4))
    ring = np.sqrt(qa)
    side = smoothstep(0.09, 0.14, ax + 0.6 * (y + 0.318))
    z = z - 0.010 * np.exp(-(((ring - 1.18) / 0.16) ** 2)) * side
    return z


# ----------------------------------------------------------------------------------------------
# solids as ray distances
# ----------------------------------------------------------------------------------------------
def _bisect(inside_fn, o, d, t_lo=0.0, t_hi=2.2, steps=30, iters=14, bracket=None):
    """Outermost boundary crossing of a solid along each ray (o [N, 3] + t d [N, 3]) -> t [N].

    A coarse march over [t_lo, t_hi] finds the last inside sample (robust where a solid is not
    exactly star-shaped), bisection refines it. ``bracket`` = (lo [N], hi [N]) skips the march when
    the crossing is already known to lie in it (used while relaxing the mesh).
    """
    n = len(d)
    if bracket is None:
        ts = np.linspace(t_lo, t_hi, steps + 1)[1:]
        p = o[:, None, :] + ts[None, :, None] * d[:, None, :]
        ins = inside_fn(p.reshape(-1, 3)).reshape(n, steps)
        last = np.where(ins.any(1), steps - 1 - np.argmax(ins[:, ::-1], axis=1), -1)
        step = ts[1] - ts[0]
        lo = np.where(last >= 0, ts[np.maximum(last, 0)], t_lo)
        hi = lo + step
    else:
        lo, hi = bracket
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        p = o + mid[:, None] * d
        ins = inside_fn(p)
        lo = np.where(ins, mid, lo)
        hi = np.where(ins, hi, mid)
    return 0.5 * (lo + hi)


def _cranium_inside(p: np.ndarray) -> np.ndarray:
    x, y, z = p[:, 0], p[:, 1], p[:, 2]
    cy, cz = 0.28, -0.10
    ay = ANATOMY.vertex_y - cy
    az = 0.93
    zz = (z - cz) / az
    ax = 0.755 * (1.0 - 0.10 * zz - 0.10 * zz**2)  # egg taper: narrower forehead, full parietal
    # the bottom of the cranium is flattened toward the skull base
    yy = np.abs(y - cy) / np.where(y < cy, ay * 0.96, ay)
    # a superquadric in the frontal plane: a broad, rounded-box vault rather than an egg
    e = 2.35
    xy = ((np.abs(x) / ax) ** e + yy**e) ** (2.0 / e)
    return xy + zz**2 < 1.0


def _face_inside(p: np.ndarray) -> np.ndarray:
    x, y, z = p[:, 0], p[:, 1], p[:, 2]
    a = ANATOMY
    zf = face_depth(x, y)
    # mandible border: from the menton rising toward the jaw angle, then the ramus goes up
    ment_y, ment_z = a.menton
    t = np.clip((ment_z - z) / 0.74, 0.0, 1.0)
    y_jaw = ment_y + 0.27 * t**1.1 - 0.03 * np.exp(-((x / 0.12) ** 2)) * (1 - t)
    # the tube is closed behind: its back half is the mirror of the bare superellipse front
    p_ = _profiles()
    rx, rz, n = p_["rx"](y), p_["rz"](y), p_["n"](y)
    zc = p_["z0"](y) - rz
    back = (np.abs(x) / rx) ** n + (np.maximum(zc - z, 0.0) / (0.7 * rz)) ** n - 1.0
    # the ramus: its posterior border slopes from the condyle down to the jaw angle
    z_back = np.where(y < -0.05, -0.10 - 0.04 * np.clip((-0.05 - y) / 0.7, 0, 1), -2.0)
    f = smax(smax(z - zf, y_jaw - y, 0.05), z_back - z, 0.22)
    f = smax(f, back * 0.3, 0.02)
    f = smax(f, y - 0.95, 0.05)
    # above the cheeks the cranium makes the sides and back: keep the mask in front (its cut edge
    # stays inside the cranium)
    f = smax(f, np.where(y > -0.05, -0.55 + 0.35 * smoothstep(0.3, 0.8, y) - z, -2.0), 0.05)
    return f < 0.0


def neck_center_z(y: np.ndarray) -> np.ndarray:
    """z of the neck axis at height y: the neck leans forward going down."""
    return -0.10 + 0.10 * np.clip(-(np.asarray(y) + 0.7), 0, None)


def _neck_inside(p: np.ndarray) -> np.ndarray:
    x, y, z = p[:, 0], p[:, 1], p[:, 2]
    zn = neck_center_z(y)
    wn = 0.53 + 0.13 * smoothstep(-1.0, -0.30, y)  # wider toward the skull base (mastoids, parotid)
    flare = np.clip(-(y + 1.38) / 0.25, 0, 0.9) ** 2  # trapezius flare at the bottom of the box
    wn = wn + 0.30 * flare
    dn = 0.48 + 0.04 * flare
    q = (x / wn) ** 2 + ((z - zn) / dn) ** 2
    return (q < 1.0) & (y < 0.1) & (y > -1.9)


def _sphere_far(o: np.ndarray, d: np.ndarray, c: np.ndarray, r: float) -> np.ndarray:
    """Far intersection distance of rays with a sphere, or -inf where they miss."""
    oc = o - c
    b = np.einsum("ij,ij->i", oc, d)
    cc = np.einsum("ij,ij->i", oc, oc) - r * r
    disc = b * b - cc
    t = -b + np.sqrt(np.maximum(disc, 0.0))
    return np.where(disc > 0, t, -np.inf)


def _ellipsoid_hits(o, d, c, radii):
    """(near, far) ray distances through an axis-aligned ellipsoid, NaN where missed."""
    inv = 1.0 / np.asarray(radii)
    oo = (o - c) * inv
    dd = d * inv
    a = np.einsum("ij,ij->i", dd, dd)
    b = np.einsum("ij,ij->i", oo, dd)
    cc = np.einsum("ij,ij->i", oo, oo) - 1.0
    disc = b * b - a * cc
    sq = np.sqrt(np.maximum(disc, 0.0))
    near = np.where(disc > 0, (-b - sq) / a, np.nan)
    far = np.where(disc > 0, (-b + sq) / a, np.nan)
    return near, far


def eye_centers() -> np.ndarray:
    """[2, 3]: centres of the left (+x) and right eyeballs."""
    c = np.array(ANATOMY.eye_center)
    return np.stack([c, c * np.array([-1.0, 1.0, 1.0])])


class SkinCast:
    """Distances along rays to the skin, remembering the per-solid crossings so that a later cast of
    nearby rays (mesh relaxation) can bisect in a small bracket instead of marching."""

    def __init__(self):
        self.last: dict[str, np.ndarray] | None = None

    def radius(self, d: np.ndarray, o: np.ndarray | None = None, refine: bool = False) -> np.ndarray:
        """d [N, 3] unit directions, o [N, 3] origins (default: world origin) -> distances [N]."""
        d = np.asarray(d, np.float64)
        o = np.zeros_like(d) if o is None else np.asarray(o, np.float64)
        solids = (("cranium", _cranium_inside, 0.2, 1.7, 12), ("face", _face_inside, 0.35, 1.45, 12),
                  ("neck", _neck_inside, 0.0, 2.2, 14))  # fmt: skip
        found = {}
        for name, fn, lo, hi, steps in solids:
            bracket = None
            if refine and self.last is not None and len(self.last[name]) == len(d):
                prev = self.last[name]
                bracket = (np.maximum(prev - 0.04, 0.0), prev + 0.04)
            found[name] = _bisect(fn, o, d, lo, hi, steps, iters=12 if bracket is None else 9, bracket=bracket)
        self.last = found
        r = smax(found["cranium"], found["face"], 0.05)
        r = smax(r, found["neck"], 0.16)
        return _details(r, o, d)


def _details(r: np.ndarray, o: np.ndarray, d: np.ndarray) -> np.ndarray:
    a = ANATOMY
    # eyelid shells
    for c in eye_centers():
        t = _sphere_far(o, d, c, a.eyeball_radius + a.lid_offset)
        hit = np.isfinite(t)
        r = np.where(hit, smax(r, np.where(hit, t, 0.0), 0.006), r)
    # nostrils: carve under the tip
    for sx in (1.0, -1.0):
        near, far = _ellipsoid_hits(o, d, np.array([sx * 0.060, -0.352, 0.965]), (0.028, 0.016, 0.05))
        hit = np.isfinite(near) & (near < r) & (far > r)
        r = np.where(hit, smin(r, np.nan_to_num(near), 0.006), r)
    return r


def skin_radius(d: np.ndarray, o: np.ndarray | None = None) -> np.ndarray:
    """Distance from the origins ``o`` [N, 3] (default: world origin) to the skin along unit d [N, 3]."""
    return SkinCast().radius(d, o)


def skin_points(d: np.ndarray, o: np.ndarray | None = None) -> np.ndarray:
    """Skin points [N, 3] along unit directions d [N, 3] from origins o (default: world origin)."""
    o = np.zeros_like(np.asarray(d, np.float64)) if o is None else o
    return o + skin_radius(d, o)[:, None] * d
