"""Procedural hairstyles: closed hair shells that follow the skull of a given identity.

How a style is built (all in world units, 1 = 10 cm; frame: +y up, face along +z, +x subject's left):

1. **Skull radius map.** From a centre ``c`` inside the skull (between the ears, raised), the outermost
   distance of the head surface is splatted into a latitude/longitude map ``R(phi, lam)`` (longitude
   ``phi`` around +y with 0 at the face, latitude ``lam``). Any point farther from ``c`` than ``R`` along
   its ray is outside the head, so hair built beyond ``R`` never cuts the skin.
2. **Profiles.** Per longitude column, the hair's inner surface is the scalp plus a small gap; for long
   styles it *drapes*: below the widest point of the column it hangs straight down (a running maximum
   of the horizontal distance), curls in or flicks out near its ends. The outer surface is the same
   construction on the scalp offset by the style's thickness (with volume, sweep, bumps...). Both are
   stored as ray-radius maps ``r_in``, ``r_out``.
3. **Hair region.** Each style gives a cap boundary height per longitude: the hairline (forehead,
   temples, arch over the ears, sideburns, nape) or, for draped styles, a junction above the ears from
   which a curtain hangs down to the style's length. No hair exists in front of the face except a
   fringe that the style asks for, which stops above the brows.
4. **Chart and mesh.** A polar chart around the style's pole (crown whorl, ponytail tie point, bun
   base; ``u`` around it, ``v`` along the strands away from it) samples the region; outer and inner
   grids plus walls along every boundary make one closed shell. The strand tangent is ``dP/dv``.
   Ponytail and bun add their own closed meshes (tube, twisted knot).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from head360.cameras import HEAD_BOX_HALF
from head360.errors import Head360Error
from head360.synth.noise import smoothstep, value_noise2, value_noise3

HAIRSTYLES: tuple[str, ...] = (
    "none",
    "buzz",
    "crop",
    "side_part",
    "bob",
    "shoulder",
    "long",
    "ponytail",
    "bun",
    "curly",
)
"""Hairstyle names; index 0 ("none") means bald. The index is the hairstyle id used in datasets."""

LONG_STYLES: frozenset[str] = frozenset({"long"})
"""Styles that run past the bottom of the head box and are cut flat there (y = -HEAD_BOX_HALF)."""


@dataclass
class HairMesh:
    """One hairstyle for one identity, as a closed triangle mesh (one or more shells).

    vertices: [N, 3] float32  world positions
    faces:    [M, 3] int64    vertex indices, counter-clockwise seen from outside
    uvs:      [N, 2] float32  u across the strands (wraps around the pole), v along them (0 root, 1 tip)
    tangents: [N, 3] float32  unit strand direction (for the anisotropic hair highlight)
    style:    the hairstyle name
    """

    vertices: np.ndarray
    faces: np.ndarray
    uvs: np.ndarray
    tangents: np.ndarray
    style: str = ""


@dataclass(frozen=True)
class HairMeshConfig:
    """Resolution of the generated hair meshes."""

    columns: int = 192
    """Samples around the chart pole (u)."""
    cap_rows: int = 48
    """Samples along the strands on the scalp cap (v)."""
    curtain_rows: int = 48
    """Samples along the hanging part of draped styles."""
    map_lon: int = 256
    """Longitude cells of the skull radius map."""
    map_lat: int = 160
    """Latitude cells of the skull radius map."""


# ----------------------------------------------------------------------------------------------
# The head frame: a few heights and angles measured on the given identity
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HeadFrame:
    """Measurements of one identity's neutral head that hairstyles are placed by (world units).

    ``ear_phi_front`` / ``ear_phi_back``: longitudes (radians, |phi| from the face direction around +y
    through ``center``) of the front and back edges of the ears.
    """

    center: np.ndarray
    top_y: float
    hairline_y: float
    brow_y: float
    eye_y: float
    eye_half_span: float
    chin_y: float
    ear_top_y: float
    ear_bottom_y: float
    ear_phi_front: float
    ear_phi_back: float
    nape_y: float
    half_width: float
    hairline: np.ndarray | None = None
    """[n, 3] the template's natural hairline on this identity (round the head), if it has one."""

    @property
    def ear_mid_y(self) -> float:
        return 0.5 * (self.ear_top_y + self.ear_bottom_y)


def _moved_onto(template, head_vertices: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Points [..., 3] given on the mean template -> the same points on this identity (nearest template
    vertex plus the original offset)."""
    from scipy.spatial import cKDTree

    tv = np.asarray(template.vertices, np.float64)
    key = id(template)
    tree = _TREE_CACHE.get(key)
    if tree is None or tree[0] is not template:
        tree = (template, cKDTree(tv))
        _TREE_CACHE.clear()
        _TREE_CACHE[key] = tree
    p = np.asarray(points, np.float64)
    _, i = tree[1].query(p.reshape(-1, 3))
    return (head_vertices[i] + (p.reshape(-1, 3) - tv[i])).reshape(p.shape)


_TREE_CACHE: dict = {}


def head_frame(head_vertices: np.ndarray, template) -> HeadFrame:
    """Measure the frame that hairstyles use on ``head_vertices`` [V, 3] (same topology as ``template``).

    Uses the template's anchors (eye centres, ear canals, brow lines, hairline) moved onto the identity,
    and its parts (ears) and face labels (the jaw line).
    """
    from head360.labels import Label

    v = np.asarray(head_vertices, np.float64)
    anchors = getattr(template, "anchors", {}) or {}
    need = ("eye_center_left", "eye_center_right", "ear_left", "ear_right")
    missing = [n for n in need if n not in anchors]
    if missing:
        raise Head360Error(f"the template lacks the anchors {', '.join(missing)}; build it with head360.mesh.template")

    def point(name):
        return _moved_onto(template, v, np.asarray(anchors[name], np.float64))

    eye_l, eye_r = point("eye_center_left"), point("eye_center_right")
    ear_l, ear_r = point("ear_left"), point("ear_right")
    ear_c = 0.5 * (ear_l + ear_r)
    center = np.array([0.0, ear_c[1] + 0.15, ear_c[2]])
    top_y = float(v[:, 1].max())
    if "brow_left" in anchors:
        brow_y = float(np.mean([point("brow_left")[:, 1].mean(), point("brow_right")[:, 1].mean()]))
    else:
        brow_y = float(eye_l[1] + 0.18)
    hairline = point("hairline") if "hairline" in anchors else None
    if hairline is not None:
        front = hairline[np.argmax(hairline[:, 2])]
        hairline_y = float(front[1])
    else:
        hairline_y = float(np.clip(brow_y + 0.5 * (top_y - brow_y), brow_y + 0.42, brow_y + 0.62))
    # ears: the template's ear parts, else the vertices around the ear canals
    part = getattr(template, "vertex_part", None)
    ear_pts = None
    if part is not None:
        try:
            from head360.mesh.template import Part

            ear_pts = v[(np.asarray(part) == Part.EAR_LEFT) | (np.asarray(part) == Part.EAR_RIGHT)]
        except ImportError:
            ear_pts = None
    if ear_pts is None or len(ear_pts) == 0:
        near = [v[np.linalg.norm(v - e, axis=1) < 0.35] for e in (ear_l, ear_r)]
        ear_pts = np.concatenate(
            [n[np.abs(n[:, 0]) > abs(e[0]) - 0.05] for n, e in zip(near, (ear_l, ear_r), strict=True)]
        )
    phi = np.abs(np.arctan2(ear_pts[:, 0] - center[0], ear_pts[:, 2] - center[2]))
    # the jaw line: lowest face-labelled skin near the front midline
    chin_y = float(eye_l[1] - 1.05)
    face_label = getattr(template, "face_label", None)
    if face_label is not None:
        f = np.asarray(template.faces)[np.asarray(face_label) == int(Label.SKIN)]
        fv = v[np.unique(f)]
        front = fv[(np.abs(fv[:, 0]) < 0.15) & (fv[:, 2] > eye_l[2])]
        if len(front):
            chin_y = float(front[:, 1].min())
    chin_y = max(chin_y, -HEAD_BOX_HALF + 0.2)
    ear_top = float(np.percentile(ear_pts[:, 1], 99.5))
    ear_bottom = float(np.percentile(ear_pts[:, 1], 0.5))
    level = v[np.abs(v[:, 1] - (ear_top + 0.1)) < 0.05]
    half_width = float(np.abs(level[:, 0]).max()) if len(level) else 0.75
    if hairline is not None:
        back = hairline[np.argmin(hairline[:, 2])]
        nape_y = float(back[1])
    else:
        nape_y = float(ear_bottom - 0.3)
    return HeadFrame(
        center=center,
        top_y=top_y,
        hairline_y=hairline_y,
        brow_y=brow_y,
        eye_y=float(0.5 * (eye_l[1] + eye_r[1])),
        eye_half_span=float(0.5 * abs(eye_l[0] - eye_r[0])),
        chin_y=chin_y,
        ear_top_y=ear_top,
        ear_bottom_y=ear_bottom,
        ear_phi_front=float(np.percentile(phi, 2)),
        ear_phi_back=float(np.percentile(phi, 98)),
        nape_y=nape_y,
        half_width=half_width,
        hairline=hairline,
    )


# ----------------------------------------------------------------------------------------------
# Latitude / longitude maps around the head centre
# ----------------------------------------------------------------------------------------------
@dataclass
class _LatLon:
    """Cell centres of a lat/lon map: rows from lam = +pi/2 (top) to -pi/2, columns phi in [-pi, pi)."""

    n_lat: int
    n_lon: int

    @property
    def lam(self) -> np.ndarray:
        return np.linspace(math.pi / 2, -math.pi / 2, self.n_lat)

    @property
    def phi(self) -> np.ndarray:
        return -math.pi + 2 * math.pi * np.arange(self.n_lon) / self.n_lon

    def directions(self) -> np.ndarray:
        lam = self.lam[:, None]
        phi = self.phi[None, :]
        return np.stack(np.broadcast_arrays(np.cos(lam) * np.sin(phi), np.sin(lam), np.cos(lam) * np.cos(phi)), -1)

    def cell(self, phi: np.ndarray, lam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Continuous (row, col) of angles."""
        col = (np.asarray(phi) + math.pi) / (2 * math.pi) * self.n_lon
        row = (math.pi / 2 - np.asarray(lam)) / math.pi * (self.n_lat - 1)
        return row, col

    def sample(self, grid: np.ndarray, phi: np.ndarray, lam: np.ndarray) -> np.ndarray:
        """Bilinear lookup of ``grid`` [n_lat, n_lon] at angles (wraps in phi)."""
        row, col = self.cell(phi, lam)
        row = np.clip(row, 0, self.n_lat - 1 - 1e-6)
        r0 = np.floor(row).astype(np.int64)
        c0 = np.floor(col).astype(np.int64)
        fr = row - r0
        fc = col - c0
        c0 %= self.n_lon
        c1 = (c0 + 1) % self.n_lon
        r1 = np.minimum(r0 + 1, self.n_lat - 1)
        top = grid[r0, c0] * (1 - fc) + grid[r0, c1] * fc
        bot = grid[r1, c0] * (1 - fc) + grid[r1, c1] * fc
        return top * (1 - fr) + bot * fr


def _to_angles(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Directions [..., 3] -> (phi, lam)."""
    phi = np.arctan2(d[..., 0], d[..., 2])
    lam = np.arcsin(np.clip(d[..., 1] / np.maximum(np.linalg.norm(d, axis=-1), 1e-12), -1.0, 1.0))
    return phi, lam


_BARY = np.array(
    [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1 / 3, 1 / 3, 1 / 3], [0.5, 0.5, 0], [0, 0.5, 0.5], [0.5, 0, 0.5],
     [2 / 3, 1 / 6, 1 / 6], [1 / 6, 2 / 3, 1 / 6], [1 / 6, 1 / 6, 2 / 3]],
    dtype=np.float64,
)  # fmt: skip


def surface_samples(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Points spread over every triangle (corners, edge midpoints, inner points) -> [F * 10, 3]."""
    tri = np.asarray(vertices, np.float64)[np.asarray(faces)]  # [F, 3, 3]
    return (_BARY @ tri).reshape(-1, 3)


def skull_radius_map(
    vertices: np.ndarray, faces: np.ndarray, center: np.ndarray, grid: _LatLon, samples: np.ndarray | None = None
) -> np.ndarray:
    """Outermost distance of the surface from ``center`` per lat/lon cell -> [n_lat, n_lon].

    The triangles are sampled densely and splatted with a maximum; empty cells take their nearest
    filled neighbour; a 3x3 maximum filter makes the map conservative (never below the surface).
    """
    from scipy import ndimage

    p = (surface_samples(vertices, faces) if samples is None else samples) - center
    r = np.linalg.norm(p, axis=1)
    phi, lam = _to_angles(p)
    row, col = grid.cell(phi, lam)
    row = np.clip(np.rint(row).astype(np.int64), 0, grid.n_lat - 1)
    col = np.rint(col).astype(np.int64) % grid.n_lon
    flat = np.full(grid.n_lat * grid.n_lon, -1.0)
    np.maximum.at(flat, row * grid.n_lon + col, r)
    R = flat.reshape(grid.n_lat, grid.n_lon)
    empty = R < 0
    if empty.any():
        idx = ndimage.distance_transform_edt(empty, return_distances=False, return_indices=True)
        R = R[idx[0], idx[1]]
    R[0, :] = R[:2].max()  # the pole row is one direction
    R[-1, :] = R[-2:].max()
    padded = np.concatenate([R[:, -1:], R, R[:, :1]], axis=1)  # wrap in longitude only
    R = ndimage.maximum_filter(padded, size=3, mode="nearest")[:, 1:-1]
    return R


@dataclass
class _Cylinder:
    """Outermost horizontal distance of the head from the vertical axis through the centre, per
    (height, longitude) cell: what hanging hair must clear (the neck and its flare into the shoulders)."""

    rho: np.ndarray  # [n_y, n_lon]
    center: np.ndarray
    y0: float = -HEAD_BOX_HALF
    y1: float = HEAD_BOX_HALF

    def sample(self, p: np.ndarray) -> np.ndarray:
        n_y, n_lon = self.rho.shape
        q = p - self.center
        phi = np.arctan2(q[..., 0], q[..., 2])
        row = np.clip((p[..., 1] - self.y0) / (self.y1 - self.y0) * (n_y - 1), 0, n_y - 1)
        col = np.rint((phi + math.pi) / (2 * math.pi) * n_lon).astype(np.int64) % n_lon
        return self.rho[np.rint(row).astype(np.int64), col]


def head_cylinder(
    vertices: np.ndarray,
    faces: np.ndarray,
    center: np.ndarray,
    n_y: int = 161,
    n_lon: int = 256,
    samples: np.ndarray | None = None,
) -> _Cylinder:
    """Splat the surface into a conservative height x longitude map of horizontal radius."""
    from scipy import ndimage

    p = (surface_samples(vertices, faces) if samples is None else samples) - center
    rho = np.hypot(p[:, 0], p[:, 2])
    phi = np.arctan2(p[:, 0], p[:, 2])
    y = p[:, 1] + center[1]
    row = np.clip(np.rint((y + HEAD_BOX_HALF) / (2 * HEAD_BOX_HALF) * (n_y - 1)).astype(np.int64), 0, n_y - 1)
    col = np.rint((phi + math.pi) / (2 * math.pi) * n_lon).astype(np.int64) % n_lon
    flat = np.zeros(n_y * n_lon)
    np.maximum.at(flat, row * n_lon + col, rho)
    grid = flat.reshape(n_y, n_lon)
    padded = np.concatenate([grid[:, -2:], grid, grid[:, :2]], axis=1)
    grid = ndimage.maximum_filter(padded, size=5, mode="nearest")[:, 2:-2]
    return _Cylinder(grid, np.asarray(center, np.float64))


def _clear_horizontally(p: np.ndarray, cyl: _Cylinder, clearance: float, below: float) -> np.ndarray:
    """Horizontal outward shift [..., 3] that moves points below height ``below`` clear of the head."""
    q = p - cyl.center
    rho = np.hypot(q[..., 0], q[..., 2])
    need = cyl.sample(p) + clearance - rho
    need = np.where(p[..., 1] < below, np.maximum(need, 0.0), 0.0)
    dirs = np.stack([q[..., 0], np.zeros_like(rho), q[..., 2]], -1) / np.maximum(rho, 1e-9)[..., None]
    return dirs * need[..., None]


# ----------------------------------------------------------------------------------------------
# Styles
# ----------------------------------------------------------------------------------------------
@dataclass
class _Style:
    """Everything that makes a hairstyle what it is, for one head frame."""

    pole: np.ndarray
    """Chart pole (unit direction from the head centre): the crown whorl or the tie point."""
    cap_y: Callable[[np.ndarray], np.ndarray]
    """phi [radians] -> height where the scalp cap ends (hairline, or the junction of a curtain)."""
    thickness: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
    """(directions [...,3], phi, lam) -> hair thickness over the scalp."""
    seam_towards: np.ndarray | None = None
    """Direction the seam meridian (u = 0) heads to from the pole (a part line lies along it)."""
    curtain_from: float | None = None
    """|phi| (radians) from which hair hangs down past the cap (None: no curtain)."""
    end_y: Callable[[np.ndarray], np.ndarray] | None = None
    """phi -> height where the hanging hair ends."""
    drape: bool = False
    gap: float = 0.012
    fringe_lift: float = 0.0
    curl: float = 0.0
    """Inward curl (bob, > 0) or outward flick (< 0) of the hanging ends, as a fraction of the radius."""
    curl_length: float = 0.25
    bump_amplitude: float = 0.0
    bump_frequency: float = 6.0
    ridge_amplitude: float = 0.004
    ridge_count: int = 90
    part_width: float = 0.0
    """Half width (radians on the unit sphere) of the part groove along the seam (0: no part)."""
    part_length: float = 0.0
    tangent_jitter: float = 0.2
    detail: float = 1.0
    """Mesh resolution relative to ``HairMeshConfig`` (bumpy styles need more)."""
    """Spread (radians) of the strand directions about the mean flow."""
    hang_in: float = 0.0
    """How much a curtain narrows towards its ends (fraction of its radius at the bottom of the box)."""
    smooth: int = 3
    """Width (map cells) of the smoothing of the skull map: larger bridges over the ears."""
    fringe_thickness: float = 0.06
    end_jitter: float = 0.0
    """Irregularity of the hanging ends (world units)."""
    hairline_taper: float = 0.12
    hairline_min: float = 0.25
    edge_taper: float = 0.18
    edge_min: float = 0.35
    tip_taper: float = 0.2
    tip_min: float = 0.35
    extra: str | None = None
    extra_params: dict = field(default_factory=dict)


def _dir(phi_deg: float, lam_deg: float) -> np.ndarray:
    p, l = math.radians(phi_deg), math.radians(lam_deg)
    return np.array([math.cos(l) * math.sin(p), math.sin(l), math.cos(l) * math.cos(p)])


def _periodic_curve(points_deg: list[tuple[float, float]], symmetric: bool = True) -> Callable:
    """A smooth function of |phi| (or phi) through (degrees, value) control points (PCHIP)."""
    from scipy.interpolate import PchipInterpolator

    xs = np.array([p[0] for p in points_deg], np.float64)
    ys = np.array([p[1] for p in points_deg], np.float64)
    f = PchipInterpolator(xs, ys, extrapolate=True)

    def curve(phi: np.ndarray) -> np.ndarray:
        a = np.degrees(np.abs(phi) if symmetric else np.mod(np.asarray(phi), 2 * math.pi))
        return f(np.clip(a, xs[0], xs[-1]))

    return curve


def _natural_hairline(fr: HeadFrame, jit: np.ndarray, ears: str = "free", fringe_y: float | None = None):
    """Hairline height as a function of phi: forehead, temple corners, sideburn, arch over the ear, nape.

    Follows the template's hairline when it has one (moved onto the identity), else a generic one.
    ``ears``: "free" arches the hairline over the ears with a margin, "covered" leaves it as is.
    ``fringe_y``: if given, the front of the boundary comes down to this height (bangs).
    """
    ef, eb = math.degrees(fr.ear_phi_front), math.degrees(fr.ear_phi_back)
    if fr.hairline is not None:
        q = fr.hairline - fr.center
        a = np.degrees(np.abs(np.arctan2(q[:, 0], q[:, 2])))
        bins = np.linspace(0.0, 180.0, 61)
        which = np.clip(np.digitize(a, bins) - 1, 0, 59)
        xs, ys = [], []
        for k in range(60):
            sel = which == k
            if sel.any():
                xs.append(float(a[sel].mean()))
                ys.append(float(fr.hairline[sel, 1].mean()))
        base = _periodic_curve(list(zip(xs, ys, strict=True)))
    else:
        hl = fr.hairline_y
        base = _periodic_curve(
            [(0.0, hl), (18.0, hl - 0.01), (38.0, hl - 0.08), (50.0, fr.brow_y + 0.3), (ef - 9.0, fr.ear_mid_y),
             (0.5 * (ef + eb), fr.ear_top_y), (eb + 12.0, fr.ear_bottom_y - 0.02), (150.0, fr.nape_y + 0.04),
             (180.0, fr.nape_y)]
        )  # fmt: skip

    def hairline(phi: np.ndarray) -> np.ndarray:
        a = np.degrees(np.abs(np.asarray(phi, np.float64)))
        y = base(phi)
        # a little variation: forehead height and temple recession
        y = y + 0.035 * jit[0] * smoothstep(50.0, 20.0, a)
        y = y + 0.03 * max(0.0, jit[2]) * np.exp(-(((a - 38.0) / 8.0) ** 2))
        if fringe_y is not None:
            w = smoothstep(42.0, 26.0, a)
            y = y + (np.minimum(y, fringe_y) - y) * w
        if ears == "free":  # clear the ear: an arch over it with a margin, merging into the sideburn
            out = np.maximum.reduce([np.zeros_like(a), (ef - 4.0) - a, a - (eb + 4.0)])
            arch = fr.ear_top_y + 0.06 - 0.012 * out**1.5
            k = 0.03
            h = np.clip(0.5 + 0.5 * (arch - y) / k, 0.0, 1.0)
            y = y + (arch - y) * h + k * h * (1.0 - h)  # smooth maximum
        return y

    return hairline


def _build_style(style: str, fr: HeadFrame, rng: np.random.Generator | None) -> _Style:
    jit = np.zeros(8) if rng is None else rng.uniform(-1.0, 1.0, 8)
    side = 1.0 if rng is None else float(rng.choice([-1.0, 1.0]))
    c = fr.center
    crown = _dir(180.0, 62.0)
    top = _dir(180.0, 84.0)

    if style == "buzz":
        t0 = 0.028 + 0.006 * jit[3]
        return _Style(
            pole=crown,
            cap_y=_natural_hairline(fr, jit, ears="free"),
            thickness=lambda d, phi, lam: np.full(np.shape(phi), t0),
            gap=0.006,
            ridge_amplitude=0.0,
            hairline_taper=0.08,
            tip_min=0.3,
        )
    if style == "crop":
        t_top = 0.17 + 0.03 * jit[3]

        def thick(d, phi, lam):
            up = smoothstep(0.0, 0.75, d[..., 1])
            fwd = 1.0 + 0.15 * smoothstep(-0.2, 0.6, d[..., 2])
            return 0.05 + (t_top - 0.05) * up * fwd

        return _Style(
            pole=crown,
            cap_y=_natural_hairline(fr, jit, ears="free", fringe_y=fr.hairline_y - 0.12 + 0.03 * jit[4]),
            thickness=thick,
            gap=0.01,
            bump_amplitude=0.035,
            bump_frequency=5.0,
            ridge_amplitude=0.006,
            fringe_thickness=0.1,
            hairline_taper=0.3,
            hairline_min=0.15,
        )
    if style == "side_part":
        part_x = side * 0.42 * fr.half_width
        seam_target = np.array([part_x, fr.hairline_y + 0.05 - c[1], 0.9])
        seam_target = seam_target / np.linalg.norm(seam_target)
        t_top = 0.3 + 0.04 * jit[3]

        def thick(d, phi, lam):
            up = smoothstep(-0.05, 0.6, d[..., 1])
            # more hair on the big side of the part (away from part_x), a wave over the forehead
            away = smoothstep(-0.3, 0.6, -side * d[..., 0])
            front = smoothstep(0.0, 0.8, d[..., 2])
            return 0.05 + up * (0.04 + (t_top - 0.04) * (0.2 + 0.8 * away) * (0.6 + 0.6 * front))

        natural = _natural_hairline(fr, jit, ears="free")

        def swept_hairline(phi):  # the swept side comes down over the forehead corner
            big_side = np.exp(-((((-side * np.degrees(phi)) - 28.0) / 14.0) ** 2))
            return natural(phi) - (0.12 + 0.04 * jit[5]) * big_side

        return _Style(
            pole=crown,
            seam_towards=seam_target,
            cap_y=swept_hairline,
            thickness=thick,
            gap=0.01,
            ridge_amplitude=0.007,
            part_width=0.035,
            part_length=math.radians(70.0),
            hairline_taper=0.1,
            tip_min=0.35,
        )

    # --- draped styles -----------------------------------------------------------------------
    def draped_cap(fringe_y: float | None, junction: float):
        ef = math.degrees(fr.ear_phi_front)
        hl = fr.hairline_y + 0.04 * jit[0]
        front = hl if fringe_y is None else fringe_y
        pts = [(0.0, front), (25.0, front + 0.01), (40.0, 0.5 * (front + hl) + 0.02), (50.0, junction + 0.06),
               (ef - 10.0, junction), (180.0, junction)]  # fmt: skip
        return _periodic_curve(sorted(pts))

    if style == "bob":
        end = fr.chin_y + 0.12 + 0.06 * jit[3]
        t_top = 0.16 + 0.03 * jit[4]
        fringe = fr.brow_y + 0.1 + 0.03 * jit[5]

        def thick(d, phi, lam):
            return 0.1 + (t_top - 0.1) * smoothstep(-0.3, 0.6, d[..., 1])

        return _Style(
            pole=top,
            cap_y=draped_cap(fringe, fr.ear_top_y + 0.15),
            thickness=thick,
            curtain_from=math.radians(58.0),
            end_y=_periodic_curve([(0.0, end), (90.0, end), (180.0, end + 0.1)]),
            drape=True,
            fringe_lift=0.03,
            fringe_thickness=0.05,
            curl=0.12,
            curl_length=0.3,
            hang_in=0.1,
            smooth=9,
            ridge_amplitude=0.005,
            hairline_taper=0.25,
            hairline_min=0.25,
            tip_taper=0.12,
            tip_min=0.55,
        )
    if style == "shoulder":
        end = -1.3 + 0.06 * jit[3]
        t_top = 0.14 + 0.03 * jit[4]

        def thick(d, phi, lam):
            return 0.1 + (t_top - 0.1) * smoothstep(-0.3, 0.6, d[..., 1])

        return _Style(
            pole=top,
            seam_towards=_dir(side * 22.0, 30.0),
            cap_y=draped_cap(None, fr.ear_top_y + 0.12),
            thickness=thick,
            curtain_from=math.radians(55.0),
            end_y=_periodic_curve([(0.0, end + 0.1), (90.0, end), (180.0, end - 0.02)]),
            drape=True,
            curl=-0.2,
            curl_length=0.3,
            hang_in=0.16,
            smooth=9,
            end_jitter=0.05,
            bump_amplitude=0.03,
            bump_frequency=3.0,
            ridge_amplitude=0.008,
            part_width=0.03,
            part_length=math.radians(45.0),
            hairline_taper=0.3,
            hairline_min=0.12,
            tip_taper=0.3,
            tip_min=0.3,
        )
    if style == "long":
        t_top = 0.12 + 0.02 * jit[4]

        def thick(d, phi, lam):
            return 0.09 + (t_top - 0.09) * smoothstep(-0.3, 0.6, d[..., 1])

        return _Style(
            pole=_dir(180.0, 88.0),
            seam_towards=_dir(0.0, 45.0),
            cap_y=draped_cap(None, fr.ear_top_y + 0.12),
            thickness=thick,
            curtain_from=math.radians(52.0),
            end_y=lambda phi: np.full(np.shape(phi), -HEAD_BOX_HALF - 0.05),
            drape=True,
            hang_in=0.2,
            smooth=9,
            ridge_amplitude=0.007,
            part_width=0.03,
            part_length=math.radians(55.0),
            hairline_taper=0.3,
            hairline_min=0.12,
            tip_taper=0.0,
            tip_min=1.0,
        )
    if style == "curly":
        end = fr.chin_y + 0.3 + 0.1 * jit[3]
        t_top = 0.3 + 0.05 * jit[4]

        def thick(d, phi, lam):
            return 0.2 + (t_top - 0.2) * smoothstep(-0.4, 0.5, d[..., 1])

        return _Style(
            pole=_dir(180.0, 70.0),
            cap_y=draped_cap(None, fr.ear_top_y + 0.1),
            thickness=thick,
            curtain_from=math.radians(56.0),
            end_y=_periodic_curve([(0.0, end), (90.0, end), (180.0, end - 0.05)]),
            drape=True,
            fringe_thickness=0.4,
            curl=0.15,
            curl_length=0.3,
            hang_in=0.05,
            smooth=11,
            end_jitter=0.08,
            bump_amplitude=0.06,
            bump_frequency=10.0,
            ridge_amplitude=0.0,
            tangent_jitter=1.4,
            detail=1.5,
            hairline_taper=0.45,
            hairline_min=0.12,
            edge_taper=0.3,
            edge_min=0.25,
            tip_taper=0.15,
            tip_min=0.5,
        )

    # --- pulled-back styles --------------------------------------------------------------------
    if style in ("ponytail", "bun"):
        tie = _dir(180.0, 18.0 + 4.0 * jit[3]) if style == "ponytail" else _dir(180.0, 52.0 + 4.0 * jit[3])
        return _Style(
            pole=tie,
            cap_y=_natural_hairline(fr, jit, ears="free"),
            thickness=lambda d, phi, lam: np.full(np.shape(phi), 0.045),
            gap=0.008,
            ridge_amplitude=0.004,
            ridge_count=120,
            hairline_taper=0.1,
            tip_min=0.3,
            extra=style,
            extra_params={"jitter": jit.copy()},
        )
    raise Head360Error(f"unknown hairstyle '{style}'; choose one of: {', '.join(HAIRSTYLES)}")


# ----------------------------------------------------------------------------------------------
# Shell construction
# ----------------------------------------------------------------------------------------------
def _drape(r_scalp: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Hang a surface straight down below its widest point: ray radii [n_lat, n_lon] -> draped radii."""
    cosl = np.maximum(np.cos(lam), 1e-3)[:, None]
    rho = r_scalp * cosl
    widest = np.maximum.accumulate(rho, axis=0)
    return np.minimum(np.maximum(r_scalp, widest / cosl), 6.0)


def _shell_maps(st: _Style, fr: HeadFrame, R: np.ndarray, grid: _LatLon, seed: int):
    """Inner and outer ray-radius maps [n_lat, n_lon] of the hair around ``fr.center``."""
    lam = grid.lam
    phi = grid.phi
    d = grid.directions()
    PHI, LAM = np.meshgrid(phi, lam)
    c = fr.center
    if st.smooth > 3:  # a smooth envelope over the skull (hair bridges the ears and hollows)
        from scipy import ndimage

        k = st.smooth
        padded = np.concatenate([R[:, -k:], R, R[:, :k]], axis=1)
        env = ndimage.maximum_filter(padded, size=k, mode="nearest")
        env = ndimage.gaussian_filter(env, sigma=k / 3.0, mode="nearest")[:, k:-k]
        R = np.maximum(R, env)
    gap = np.full_like(R, st.gap)
    y_scalp = c[1] + R * np.sin(LAM)
    front = smoothstep(math.radians(50.0), math.radians(25.0), np.abs(PHI))
    below = smoothstep(fr.hairline_y + 0.2, fr.hairline_y - 0.1, y_scalp) * front
    if st.fringe_lift > 0:  # bangs stand off the forehead
        gap = gap + st.fringe_lift * below
    r_scalp = R + gap
    t = st.thickness(d, PHI, LAM)
    t = t + (np.minimum(t, st.fringe_thickness) - t) * below  # bangs are a thin layer
    if st.drape:
        # hang only where a curtain is (never in front of the face)
        w = smoothstep(st.curtain_from - math.radians(18.0), st.curtain_from, np.abs(PHI))
        r_in = r_scalp + w * (_drape(r_scalp, lam) - r_scalp)
        r_out = r_scalp + t + w * (_drape(r_scalp + t, lam) - r_scalp - t)
        if st.hang_in > 0:  # hair falls in towards the neck below the ears
            y_in = c[1] + r_in * np.sin(LAM)
            f = 1.0 - st.hang_in * smoothstep(fr.ear_top_y, -HEAD_BOX_HALF, y_in)
            r_in = np.maximum(r_scalp, r_in * f)
            r_out = np.maximum(r_in + 0.5 * t, r_out * f)
        if st.curl != 0.0 and st.end_y is not None:
            y_in = c[1] + r_in * np.sin(LAM)
            end = st.end_y(PHI) + st.end_jitter * value_noise2(
                np.stack([PHI / (2 * math.pi), np.zeros_like(PHI)], -1), (24.0, 1.0), seed + 5, period=(24, None)
            )
            w = smoothstep(end + st.curl_length, end, y_in)
            f = 1.0 - st.curl * w
            r_in = np.maximum(r_scalp, r_in * f)
            r_out = np.maximum(r_in + 0.4 * t, r_out * f)
    else:
        r_in = r_scalp
        r_out = r_scalp + t
    return r_in, r_out


def _boundary_lat(y_target: np.ndarray, r: np.ndarray, grid: _LatLon, c_y: float) -> np.ndarray:
    """Per column, the latitude (descending from the top) where the surface ``r`` drops below ``y_target``."""
    lam = grid.lam
    y = c_y + r * np.sin(lam)[:, None]  # [n_lat, n_lon]
    below = y < y_target[None, :]
    first = np.where(below.any(0), below.argmax(0), grid.n_lat - 1)
    i1 = np.maximum(first, 1)
    i0 = i1 - 1
    cols = np.arange(grid.n_lon)
    y0, y1 = y[i0, cols], y[i1, cols]
    f = np.clip((y0 - y_target) / np.maximum(y0 - y1, 1e-9), 0.0, 1.0)
    return lam[i0] + (lam[i1] - lam[i0]) * f


def _pole_frame(pole: np.ndarray, seam_towards: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors spanning the tangent plane at ``pole``; e1 points along the seam meridian."""
    ref = np.array([0.0, 0.0, 1.0]) if seam_towards is None else np.asarray(seam_towards, np.float64)
    e1 = ref - pole * np.dot(ref, pole)
    if np.linalg.norm(e1) < 1e-6:
        e1 = np.array([1.0, 0.0, 0.0]) - pole * pole[0]
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(pole, e1)
    return e1, e2


def _march_exit(inside: Callable[[np.ndarray], np.ndarray], dirs_fn, n_cols: int, max_theta: float) -> np.ndarray:
    """Per column, the polar angle where the meridian first leaves the region (refined by bisection)."""
    steps = 240
    th = np.linspace(0.0, max_theta, steps)
    ins = inside(dirs_fn(th[None, :]))  # [n_cols, steps]
    ins[:, 0] = True
    out = ~ins
    first = np.where(out.any(1), out.argmax(1), steps - 1)
    lo = th[np.maximum(first - 1, 0)]
    hi = th[first]
    for _ in range(12):
        mid = 0.5 * (lo + hi)
        ok = inside(dirs_fn(mid[:, None]))[:, 0]
        lo = np.where(ok, mid, lo)
        hi = np.where(ok, hi, mid)
    return np.where(out.any(1), lo, max_theta)


def _build_shell(
    st: _Style,
    fr: HeadFrame,
    R: np.ndarray,
    grid: _LatLon,
    cfg: HairMeshConfig,
    seed: int,
    cyl: _Cylinder | None = None,
):
    c = fr.center
    r_in_map, r_out_map = _shell_maps(st, fr, R, grid, seed)
    cap_lat = _boundary_lat(st.cap_y(grid.phi), r_in_map, grid, c[1])  # [n_lon]
    if st.curtain_from is not None:
        end_y = st.end_y(grid.phi)
        if st.end_jitter > 0:
            pj = np.stack([grid.phi / (2 * math.pi), np.zeros_like(grid.phi)], -1)
            end_y = end_y + st.end_jitter * value_noise2(pj, (24.0, 1.0), seed + 5, period=(24, None))
        end_lat = _boundary_lat(end_y, r_in_map, grid, c[1])
        has_curtain_col = np.abs(grid.phi) >= st.curtain_from
        end_lat = np.where(has_curtain_col, np.minimum(end_lat, cap_lat), cap_lat)
    else:
        end_lat = cap_lat

    def lat_of(curve_lat):
        def inside(dirs):
            phi, lam = _to_angles(dirs)
            row, col = grid.cell(phi, lam)
            lim = np.interp(np.mod(col, grid.n_lon), np.arange(grid.n_lon + 1), np.append(curve_lat, curve_lat[0]))
            return lam >= lim

        return inside

    pole = st.pole / np.linalg.norm(st.pole)
    e1, e2 = _pole_frame(pole, st.seam_towards)
    ncol = int(round(cfg.columns * st.detail / 2)) * 2
    psi = 2 * math.pi * np.arange(ncol + 1) / ncol
    cp, sp = np.cos(psi)[:, None, None], np.sin(psi)[:, None, None]
    axis_dir = cp * e1 + sp * e2  # [ncol+1, 1, 3]

    def dirs_fn(theta):  # theta [ncol+1 or 1, k] -> [ncol+1, k, 3]
        th = np.asarray(theta)[..., None]
        return np.cos(th) * pole + np.sin(th) * axis_dir

    theta_cap = _march_exit(lat_of(cap_lat), dirs_fn, ncol + 1, math.radians(175.0))
    if st.curtain_from is not None:
        theta_end = _march_exit(lat_of(end_lat), dirs_fn, ncol + 1, math.radians(178.0))
        # a column hangs if its meridian ends in the curtain region (not in front of the face)
        phi_end, _ = _to_angles(dirs_fn(theta_end[:, None])[:, 0])
        hangs = (np.abs(phi_end) >= st.curtain_from) & (theta_end > theta_cap + 1e-3)
    else:
        theta_end = theta_cap
        hangs = np.zeros(ncol + 1, bool)
    hangs[-1] = hangs[0]

    nc = int(round(cfg.cap_rows * st.detail))
    nh = int(round(cfg.curtain_rows * st.detail)) if st.curtain_from is not None else 0
    s_cap = np.linspace(0.0, 1.0, nc + 1)
    theta = theta_cap[:, None] * s_cap[None, :]
    if nh:
        s_cur = np.linspace(0.0, 1.0, nh + 1)[1:]
        theta_c = theta_cap[:, None] + (theta_end - theta_cap)[:, None] * s_cur[None, :]
        theta = np.concatenate([theta, theta_c], axis=1)
    nrow = theta.shape[1]
    valid = np.ones((ncol + 1, nrow), bool)
    valid[:, nc + 1 :] = hangs[:, None]
    dirs = dirs_fn(theta)  # [ncol+1, nrow, 3]
    phi, lam = _to_angles(dirs)
    r_in = grid.sample(r_in_map, phi, lam)
    r_out = grid.sample(r_out_map, phi, lam)
    # the true skull radius: keep a clearance even where the sampled map is smoothed
    r_sk = grid.sample(R, phi, lam)
    r_in = np.maximum(r_in, r_sk + 0.5 * st.gap)
    p_in = c + r_in[..., None] * dirs

    # arc length along each column (on the inner surface) -> v and tapers
    seg = np.linalg.norm(np.diff(p_in, axis=1), axis=2)
    seg = np.where(valid[:, 1:], seg, 0.0)
    arc = np.concatenate([np.zeros((ncol + 1, 1)), np.cumsum(seg, axis=1)], axis=1)
    last = np.where(hangs, nrow - 1, nc)
    total = arc[np.arange(ncol + 1), last]
    v = np.clip(arc / np.maximum(total[:, None], 1e-9), 0.0, 1.0)
    thick = np.maximum(r_out - r_in, 0.0)
    taper = _boundary_taper(st, p_in, valid, hangs, nc)
    thick = thick * taper
    if st.part_width > 0:
        dpsi = np.minimum(psi, 2 * math.pi - psi)[:, None]
        dist = dpsi * np.sin(theta)
        along = smoothstep(st.part_length + 0.15, st.part_length - 0.1, theta)
        thick = thick * (1.0 - 0.85 * np.exp(-((dist / st.part_width) ** 2)) * along)
    if st.bump_amplitude > 0:  # curls / texture: 3D noise on the inner surface points
        n = value_noise3(p_in, st.bump_frequency, seed + 11)
        n2 = value_noise3(p_in, st.bump_frequency * 2.3, seed + 12)
        bumps = 0.5 + 0.5 * (0.7 * n + 0.3 * n2)
        thick = thick + st.bump_amplitude * bumps * taper
    if st.ridge_amplitude > 0:
        uv = np.stack(np.broadcast_arrays(psi[:, None] / (2 * math.pi), v), -1)
        ridges = value_noise2(uv, (st.ridge_count, 3.0), seed + 21, period=(st.ridge_count, None))
        clumps = value_noise2(uv, (st.ridge_count / 6, 1.5), seed + 22, period=(st.ridge_count // 6, None))
        thick = thick + st.ridge_amplitude * (0.6 * ridges + 0.8 * clumps) * smoothstep(0.0, 0.3, v)
        thick = np.maximum(thick, 0.004)
    p_out = c + (r_in + thick)[..., None] * dirs
    # hair that reaches the bottom of the head box is cut there; hanging hair clears the neck (and its
    # flare into the shoulders) horizontally, inner and outer surface together
    p_in[..., 1] = np.maximum(p_in[..., 1], -HEAD_BOX_HALF)
    p_out[..., 1] = np.maximum(p_out[..., 1], -HEAD_BOX_HALF)
    if cyl is not None:
        shift = _clear_horizontally(p_in, cyl, 0.5 * st.gap + 0.004, fr.ear_bottom_y)
        p_in = p_in + shift
        p_out = p_out + shift
    u = np.broadcast_to(psi[:, None] / (2 * math.pi), v.shape)
    # strands do not all run parallel: turn each tangent about the surface normal by a noisy angle
    # (strand-wise streaks for straight hair, curl-sized patches for curly hair)
    twist = np.zeros(v.shape)
    if st.tangent_jitter > 0:
        uvq = np.stack(np.broadcast_arrays(psi[:, None] / (2 * math.pi), v), -1)
        streaks = value_noise2(uvq, (160.0, 2.0), seed + 41, period=(160, None))
        twist = st.tangent_jitter * (0.6 * streaks + 0.6 * value_noise3(p_out, st.bump_frequency * 2.0, seed + 42))
    return p_in, p_out, u, v, valid, nc, twist


def _boundary_taper(st: _Style, p_in: np.ndarray, valid: np.ndarray, hangs: np.ndarray, nc: int) -> np.ndarray:
    """Thickness factor [ncol+1, nrow] that thins the hair towards its boundary.

    The hairline, the hanging tips and the side edges of a curtain each have their own taper; the
    distance is measured in 3D to the nearest boundary point of that kind (so neighbouring columns of
    different lengths taper alike).
    """
    from scipy.spatial import cKDTree

    ncol1, nrow = valid.shape
    nxt = np.concatenate([valid[:, 1:], np.zeros((ncol1, 1), bool)], axis=1)
    is_end = valid & ~nxt
    left = np.roll(valid, 1, axis=0)
    right = np.roll(valid, -1, axis=0)
    left[0] = valid[-2]  # columns 0 and ncol are the same meridian
    right[-1] = valid[1]
    is_edge = valid & ~(left & right) & ~is_end
    kinds = [
        (is_end & ~hangs[:, None], st.hairline_taper, st.hairline_min),
        (is_end & hangs[:, None], st.tip_taper, st.tip_min),
        (is_edge, st.edge_taper, st.edge_min),
    ]
    factor = np.ones(valid.shape)
    pts = p_in[valid]
    for mask, length, minimum in kinds:
        if length <= 0 or not mask.any():
            continue
        dist, _ = cKDTree(p_in[mask]).query(pts, distance_upper_bound=length * 1.01)
        f = np.ones(valid.shape)
        f[valid] = minimum + (1 - minimum) * smoothstep(0.0, length, np.minimum(dist, length))
        factor = np.minimum(factor, f)
    return factor


def _grid_to_mesh(p_in, p_out, u, v, valid, twist, center):
    """Outer grid + inner grid (reversed) + walls along every boundary -> vertices, faces, uvs, tangents."""
    ncol1, nrow = valid.shape
    idx = -np.ones((ncol1, nrow), np.int64)
    idx[valid] = np.arange(int(valid.sum()))
    nv = int(valid.sum())
    verts = np.concatenate([p_out[valid], p_in[valid]])
    uvs = np.concatenate([np.stack([u[valid], v[valid]], 1)] * 2)
    # tangents along v (rows)
    tan = np.zeros_like(p_out)
    tan[:, 1:-1] = p_out[:, 2:] - p_out[:, :-2]
    tan[:, 0] = p_out[:, 1] - p_out[:, 0]
    tan[:, -1] = p_out[:, -1] - p_out[:, -2]
    # columns that end early: use backward differences at their last valid row
    last_valid = valid & ~np.concatenate([valid[:, 1:], np.zeros((ncol1, 1), bool)], axis=1)
    tan[last_valid] = (p_out[:, 1:] - p_out[:, :-1])[last_valid[:, 1:]]
    tan[:, 0] = tan[:, 1]
    tan /= np.maximum(np.linalg.norm(tan, axis=-1, keepdims=True), 1e-12)
    radial = p_out - center
    radial /= np.maximum(np.linalg.norm(radial, axis=-1, keepdims=True), 1e-12)
    side = np.cross(radial, tan)
    tan = tan * np.cos(twist)[..., None] + side * np.sin(twist)[..., None]
    tan /= np.maximum(np.linalg.norm(tan, axis=-1, keepdims=True), 1e-12)
    tangents = np.concatenate([tan[valid]] * 2)

    a = idx[:-1, :-1]
    b = idx[1:, :-1]
    cc = idx[1:, 1:]
    d = idx[:-1, 1:]
    ok = (a >= 0) & (b >= 0) & (cc >= 0) & (d >= 0)
    a, b, cc, d = a[ok], b[ok], cc[ok], d[ok]
    outer = np.concatenate([np.stack([a, b, cc], 1), np.stack([a, cc, d], 1)])
    inner = outer[:, ::-1] + nv

    # boundary edges of the outer grid (used by one face), except the seam and the pole
    e = np.concatenate([outer[:, [0, 1]], outer[:, [1, 2]], outer[:, [2, 0]]])
    key = np.minimum(e[:, 0], e[:, 1]) * (2 * nv) + np.maximum(e[:, 0], e[:, 1])
    _, inv, counts = np.unique(key, return_inverse=True, return_counts=True)
    bnd = e[counts[inv] == 1]
    col_of = np.zeros(nv, np.int64)
    row_of = np.zeros(nv, np.int64)
    cols, rows = np.nonzero(valid)
    col_of[idx[cols, rows]] = cols
    row_of[idx[cols, rows]] = rows
    seam = ((col_of[bnd[:, 0]] == 0) & (col_of[bnd[:, 1]] == 0)) | (
        (col_of[bnd[:, 0]] == ncol1 - 1) & (col_of[bnd[:, 1]] == ncol1 - 1)
    )
    pole = (row_of[bnd[:, 0]] == 0) & (row_of[bnd[:, 1]] == 0)
    bnd = bnd[~seam & ~pole]
    ea, eb = bnd[:, 0], bnd[:, 1]
    walls = np.concatenate([np.stack([eb, ea, ea + nv], 1), np.stack([eb, ea + nv, eb + nv], 1)])
    faces = np.concatenate([outer, inner, walls])
    return verts, faces, uvs, tangents


def _tube(centre: np.ndarray, radius: np.ndarray, n_ring: int, twist: float, seed: int, bump: float = 0.0):
    """Closed tube along ``centre`` [K, 3] with ``radius`` [K]; caps at both ends. -> mesh arrays."""
    k = len(centre)
    t = np.gradient(centre, axis=0)
    t /= np.linalg.norm(t, axis=1, keepdims=True)
    # parallel-transport frame
    ref = np.array([1.0, 0.0, 0.0])
    n0 = np.cross(t[0], ref)
    n0 /= np.linalg.norm(n0)
    normals = [n0]
    for i in range(1, k):
        n = normals[-1] - t[i] * np.dot(normals[-1], t[i])
        normals.append(n / np.linalg.norm(n))
    nrm = np.array(normals)
    bin_ = np.cross(t, nrm)
    ang = 2 * math.pi * np.arange(n_ring + 1) / n_ring
    s = np.linspace(0.0, 1.0, k)
    a = ang[None, :] + twist * s[:, None]
    offs = np.cos(a)[..., None] * nrm[:, None] + np.sin(a)[..., None] * bin_[:, None]
    rr = radius[:, None] * np.ones_like(a)
    if bump > 0:
        uvq = np.stack(np.broadcast_arrays(ang[None, :] / (2 * math.pi), s[:, None]), -1)
        rr = rr * (1 + bump * value_noise2(uvq, (9.0, 6.0), seed, period=(9, None)))
    ring = centre[:, None] + rr[..., None] * offs  # [k, n_ring+1, 3]
    verts = ring.reshape(-1, 3)
    uvs = np.stack(np.broadcast_arrays(ang[None, :] / (2 * math.pi), s[:, None]), -1).reshape(-1, 2)
    tang = np.repeat(t, n_ring + 1, axis=0)
    idx = np.arange(k * (n_ring + 1)).reshape(k, n_ring + 1)
    a0, b0, c0, d0 = idx[:-1, :-1], idx[:-1, 1:], idx[1:, 1:], idx[1:, :-1]
    faces = np.concatenate([np.stack([a0, b0, c0], -1).reshape(-1, 3), np.stack([a0, c0, d0], -1).reshape(-1, 3)])
    # caps: a centre vertex at each end
    start, end = len(verts), len(verts) + 1
    verts = np.concatenate([verts, centre[:1], centre[-1:]])
    uvs = np.concatenate([uvs, [[0.5, 0.0], [0.5, 1.0]]])
    tang = np.concatenate([tang, t[:1], t[-1:]])
    r0, r1 = idx[0, :-1], idx[0, 1:]
    q0, q1 = idx[-1, :-1], idx[-1, 1:]
    caps = np.concatenate(
        [np.stack([np.full_like(r0, start), r1, r0], 1), np.stack([np.full_like(q0, end), q0, q1], 1)]
    )
    faces = np.concatenate([faces, caps])
    # orient outward: the ring's winding vs the tangent
    test = np.cross(verts[faces[0, 1]] - verts[faces[0, 0]], verts[faces[0, 2]] - verts[faces[0, 0]])
    if np.dot(test, verts[faces[0, 0]] - centre[0]) < 0:
        faces = faces[:, ::-1]
    return verts, faces, uvs, tang


def _push_clear(points: np.ndarray, radius: np.ndarray, fr: HeadFrame, R: np.ndarray, grid: _LatLon, clear: float):
    """Move points [K, 3] outward (along their ray from the centre) until they clear the skull by radius."""
    q = points - fr.center
    phi, lam = _to_angles(q)
    need = grid.sample(R, phi, lam) + radius + clear
    r = np.linalg.norm(q, axis=1)
    scale = np.maximum(need / np.maximum(r, 1e-9), 1.0)
    return fr.center + q * scale[:, None]


def _ponytail(st: _Style, fr: HeadFrame, R, grid, r_out_tie: float, seed: int):
    jit = st.extra_params["jitter"]
    c = fr.center
    tie = st.pole / np.linalg.norm(st.pole)
    base = c + tie * (r_out_tie - 0.04)
    k = 48
    s = np.linspace(0.0, 1.0, k)
    out_dir = np.array([tie[0], 0.0, tie[2]])
    out_dir /= np.linalg.norm(out_dir)
    length_y = base[1] - (-1.25 + 0.1 * jit[4])
    # a short horizontal run out of the tie, then it falls
    p0, p1 = base, base + out_dir * 0.32 + np.array([0.0, 0.05, 0.0])
    p2 = base + out_dir * 0.42 + np.array([0.0, -0.45 * length_y, 0.0])
    p3 = base + out_dir * 0.3 + np.array([0.0, -length_y, 0.0])
    b = (1 - s)[:, None] ** 3 * p0 + 3 * ((1 - s) ** 2 * s)[:, None] * p1
    b += 3 * ((1 - s) * s**2)[:, None] * p2 + (s**3)[:, None] * p3
    # pinched at the tie, full just below it, thinning towards a soft, slightly pointed end
    radius = 0.09 + 0.14 * smoothstep(0.0, 0.12, s) * (1 - 0.45 * smoothstep(0.25, 1.0, s))
    radius = radius * (1 - 0.7 * smoothstep(0.8, 1.0, s))
    radius[-1] = 0.02
    b[1:] = _push_clear(b[1:], radius[1:], fr, R, grid, 0.03)
    return _tube(b, radius, 28, twist=1.2, seed=seed + 31, bump=0.08)


def _bun(st: _Style, fr: HeadFrame, R, grid, r_out_tie: float, seed: int):
    jit = st.extra_params["jitter"]
    c = fr.center
    axis = st.pole / np.linalg.norm(st.pole)
    size = 0.34 + 0.03 * jit[5]
    centre = c + axis * (r_out_tie + 0.55 * size)
    e1, e2 = _pole_frame(axis, np.array([0.0, 1.0, 0.0]))
    nu, nv = 40, 24
    ang = 2 * math.pi * np.arange(nu + 1) / nu
    th = np.linspace(0.0, math.pi, nv + 1)
    # coiled rope: radius modulated along a spiral
    spiral = np.sin(3.0 * ang[None, :] + 7.0 * th[:, None])
    rad = size * (1.0 + 0.07 * spiral)
    flat = np.array([1.0, 1.0, 0.72])  # flattened along the axis
    local = np.stack(
        [np.sin(th)[:, None] * np.cos(ang)[None, :], np.sin(th)[:, None] * np.sin(ang)[None, :],
         np.cos(th)[:, None] * np.ones_like(ang)[None, :]], -1,
    ) * flat  # fmt: skip
    pts = centre + rad[..., None] * (local[..., 0:1] * e1 + local[..., 1:2] * e2 + local[..., 2:3] * axis)
    verts = pts.reshape(-1, 3)
    uvs = np.stack(np.broadcast_arrays(ang[None, :] / (2 * math.pi), th[:, None] / math.pi), -1).reshape(-1, 2)
    # strands wind around the knot: tangent along the spiral d/d(ang) + d/d(th)
    dang = np.gradient(pts, axis=1)
    dth = np.gradient(pts, axis=0)
    tang = dang + 0.45 * dth
    tang = (tang / np.maximum(np.linalg.norm(tang, axis=-1, keepdims=True), 1e-12)).reshape(-1, 3)
    idx = np.arange((nv + 1) * (nu + 1)).reshape(nv + 1, nu + 1)
    a0, b0, c0, d0 = idx[:-1, :-1], idx[:-1, 1:], idx[1:, 1:], idx[1:, :-1]
    faces = np.concatenate([np.stack([a0, b0, c0], -1).reshape(-1, 3), np.stack([a0, c0, d0], -1).reshape(-1, 3)])
    cen = verts[faces].mean(1)
    fn = np.cross(verts[faces[:, 1]] - verts[faces[:, 0]], verts[faces[:, 2]] - verts[faces[:, 0]])
    if np.sum(np.einsum("ij,ij->i", fn, cen - centre)) < 0:
        faces = faces[:, ::-1]
    # the knot sits on the head: flatten whatever would sink into the scalp onto it
    verts = _push_clear(verts, np.zeros(len(verts)), fr, R, grid, st.gap)
    return verts, faces, uvs, tang


def build_hair(
    style: str,
    head_vertices: np.ndarray,
    template,
    rng: np.random.Generator | None = None,
    config: HairMeshConfig | None = None,
) -> HairMesh | None:
    """Build ``style`` for the identity whose neutral mesh is ``head_vertices`` [V, 3].

    ``template`` supplies the faces and anchors (``head360.mesh.template.Template``). ``rng`` varies
    the style a little (length, volume, part side, strand noise); ``None`` gives the canonical look.
    Returns ``None`` for "none".
    """
    if style not in HAIRSTYLES:
        raise Head360Error(f"unknown hairstyle '{style}'; choose one of: {', '.join(HAIRSTYLES)}")
    if style == "none":
        return None
    cfg = config or HairMeshConfig()
    head_vertices = np.asarray(head_vertices, np.float64)
    if head_vertices.ndim != 2 or head_vertices.shape != np.asarray(template.vertices).shape:
        raise Head360Error(
            f"head vertices have shape {head_vertices.shape}, the template has {np.asarray(template.vertices).shape}; "
            "pass the identity's neutral mesh with the template's topology"
        )
    seed = 0 if rng is None else int(rng.integers(0, 2**31 - 1))
    fr = head_frame(head_vertices, template)
    grid = _LatLon(cfg.map_lat, cfg.map_lon)
    samples = surface_samples(head_vertices, template.faces)
    R = skull_radius_map(head_vertices, template.faces, fr.center, grid, samples)
    cyl = head_cylinder(head_vertices, template.faces, fr.center, samples=samples)
    st = _build_style(style, fr, rng)
    p_in, p_out, u, v, valid, _, twist = _build_shell(st, fr, R, grid, cfg, seed, cyl)
    verts, faces, uvs, tangents = _grid_to_mesh(p_in, p_out, u, v, valid, twist, fr.center)
    # orient so that the outer surface faces away from the head centre
    fn = np.cross(verts[faces[:, 1]] - verts[faces[:, 0]], verts[faces[:, 2]] - verts[faces[:, 0]])
    outward = np.einsum("ij,ij->i", fn, verts[faces].mean(1) - fr.center)
    if np.sum(outward[: len(faces) // 3]) < 0:
        faces = faces[:, ::-1]
    parts = [(verts, faces, uvs, tangents)]
    if st.extra is not None:
        pole = st.pole / np.linalg.norm(st.pole)
        phi, lam = _to_angles(pole)
        r_tie = float(grid.sample(R, np.array(phi), np.array(lam))) + st.gap + 0.045
        extra = _ponytail if st.extra == "ponytail" else _bun
        parts.append(extra(st, fr, R, grid, r_tie, seed))
    vs, fs, us, ts = [], [], [], []
    off = 0
    for pv, pf, pu, pt in parts:
        vs.append(pv)
        fs.append(pf + off)
        us.append(pu)
        ts.append(pt)
        off += len(pv)
    verts = np.concatenate(vs)
    # cut at the bottom of the head box; keep everything inside it
    verts = np.clip(verts, -HEAD_BOX_HALF, HEAD_BOX_HALF)
    return HairMesh(
        vertices=verts.astype(np.float32),
        faces=np.concatenate(fs).astype(np.int64),
        uvs=np.concatenate(us).astype(np.float32),
        tangents=np.concatenate(ts).astype(np.float32),
        style=style,
    )
