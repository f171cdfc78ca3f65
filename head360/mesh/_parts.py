"""The separate parts of the template head: eyeballs, lid linings, mouth bag, teeth, tongue, ears.

Each builder returns a :class:`Piece`: vertices [V, 3], faces [F, 3] (CCW from outside), per-vertex
UVs [V, 2] in the piece's own unit square (the template packs them into the atlas), and, where a
piece hangs off the skin, the skin vertex ids it shares (``shared``: local index -> skin index).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from head360.mesh import sculpt


@dataclass
class Piece:
    vertices: np.ndarray  # [V, 3]
    faces: np.ndarray  # [F, 3] local indices (may point at shared skin vertices, see below)
    uvs: np.ndarray  # [V, 2] in [0, 1]^2 (local UV square)
    shared: dict[int, int] = field(default_factory=dict)
    """Local vertex -> skin vertex: these local vertices are not new, the skin's are used."""
    uv_faces: np.ndarray | None = None
    """Optional [F, 3] indices into ``uvs`` when UVs have seams (default: same as faces)."""


def _normalize(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _grid_faces(rows: int, cols: int, wrap: bool) -> np.ndarray:
    """Quads of a (rows x cols) vertex grid, split into triangles; columns wrap around if asked."""
    r = np.arange(rows - 1)[:, None]
    c = np.arange(cols if wrap else cols - 1)[None, :]
    c1 = (c + 1) % cols
    a, b, d, e = r * cols + c, r * cols + c1, (r + 1) * cols + c, (r + 1) * cols + c1
    return np.concatenate([np.stack([a, d, e], -1).reshape(-1, 3), np.stack([a, e, b], -1).reshape(-1, 3)])


def _orient_outward(verts: np.ndarray, faces: np.ndarray, center: np.ndarray) -> np.ndarray:
    """Flip faces whose normal points toward ``center`` (for star-shaped closed pieces)."""
    n = np.cross(verts[faces[:, 1]] - verts[faces[:, 0]], verts[faces[:, 2]] - verts[faces[:, 0]])
    out = verts[faces].mean(1) - center
    flip = np.einsum("ij,ij->i", n, out) < 0
    faces = faces.copy()
    faces[flip] = faces[flip][:, [0, 2, 1]]
    return faces


# ----------------------------------------------------------------------------------------------
# eyeballs
# ----------------------------------------------------------------------------------------------
LIMBUS_ANGLE = np.radians(29.0)
"""Polar angle of the iris edge (limbus) from the gaze axis: iris radius = r sin(29 deg) ~ 5.8 mm."""
CORNEA_HEIGHT = 0.012
"""How far the corneal apex stands out of the eyeball sphere (1.2 mm)."""


def eye_surface_radius(alpha: np.ndarray) -> np.ndarray:
    """Distance from the eyeball centre to its surface at polar angle ``alpha`` from the gaze axis
    (the sphere, plus the corneal bulge inside the limbus)."""
    r = sculpt.ANATOMY.eyeball_radius
    alpha = np.asarray(alpha, np.float64)
    s_l, rho_l = r * np.cos(LIMBUS_ANGLE), r * np.sin(LIMBUS_ANGLE)
    a_ = r + CORNEA_HEIGHT - s_l
    rc = (a_ * a_ + rho_l * rho_l) / (2 * a_)  # cornea sphere radius
    cz = r + CORNEA_HEIGHT - rc  # its centre on the axis
    # ray from the eye centre at angle alpha hits the cornea sphere at t: |t u - cz e| = rc
    ca = np.cos(alpha)
    t = cz * ca + np.sqrt(np.maximum(rc * rc - cz * cz * (1 - ca * ca), 0.0))
    return np.where(alpha < LIMBUS_ANGLE, np.maximum(t, r), r)


def eyeball_alpha_rings() -> np.ndarray:
    """Polar angles of the eyeball rings: fine on the cornea and at the limbus, coarse at the back."""
    iris = np.linspace(0.0, LIMBUS_ANGLE, 8)[1:]
    limbus = LIMBUS_ANGLE + np.array([0.03, 0.08])
    sclera = np.linspace(LIMBUS_ANGLE + 0.16, np.pi - 0.25, 9)
    return np.concatenate([iris, limbus, sclera])


def build_eyeball(center: np.ndarray, n_around: int = 32) -> Piece:
    """A sphere around ``center`` looking along +z with a corneal bulge; the UV square is an
    azimuthal map around the gaze axis: the pupil in the middle, the iris edge at radius 0.42,
    the back of the eye at the rim."""
    alphas = eyeball_alpha_rings()
    beta = np.linspace(0, 2 * np.pi, n_around, endpoint=False)
    al, be = np.meshgrid(alphas, beta, indexing="ij")
    rad = eye_surface_radius(al)
    dirs = np.stack([np.sin(al) * np.cos(be), np.sin(al) * np.sin(be), np.cos(al)], -1)
    ring_pts = center + rad[..., None] * dirs
    front = center + np.array([0, 0, eye_surface_radius(np.array([0.0]))[0]])
    back = center - np.array([0, 0, sculpt.ANATOMY.eyeball_radius])
    verts = np.concatenate([front[None], ring_pts.reshape(-1, 3), back[None]])
    nr = len(alphas)
    body = _grid_faces(nr, n_around, wrap=True) + 1
    ring0 = np.arange(n_around) + 1
    cap_front = np.stack([np.zeros(n_around, int), ring0, np.roll(ring0, -1)], 1)
    last = np.arange(n_around) + 1 + (nr - 1) * n_around
    cap_back = np.stack([np.full(n_around, len(verts) - 1), np.roll(last, -1), last], 1)
    faces = _orient_outward(verts, np.concatenate([cap_front, body, cap_back]), center)

    # UVs: radius grows with alpha, the iris gets ~42% of the radius
    def uv_radius(a):
        return np.where(
            a <= LIMBUS_ANGLE, 0.42 * a / LIMBUS_ANGLE, 0.42 + 0.56 * (a - LIMBUS_ANGLE) / (np.pi - LIMBUS_ANGLE)
        )

    ur = uv_radius(al)
    uv_ring = 0.5 + 0.5 * np.stack([ur * np.cos(be), ur * np.sin(be)], -1)
    # the back pole: one UV at the rim would smear; give the back cap its own UV per triangle
    uvs = np.concatenate([[[0.5, 0.5]], uv_ring.reshape(-1, 2), [[0.5, 0.5]]])
    uv_faces = faces.copy()
    back_id = len(verts) - 1
    extra = []
    for fi in np.nonzero((faces == back_id).any(1))[0]:
        others = [v for v in faces[fi] if v != back_id]
        mid = uvs[others].mean(0)
        mid = 0.5 + (mid - 0.5) / max(np.linalg.norm(mid - 0.5), 1e-9) * 0.495
        extra.append(mid)
        uv_faces[fi][faces[fi] == back_id] = len(uvs) + len(extra) - 1
    uvs = np.concatenate([uvs, np.array(extra)])
    return Piece(verts, faces, uvs, uv_faces=uv_faces)


# ----------------------------------------------------------------------------------------------
# lid linings: the inner surface of the lids, from the lid margin back around the eyeball
# ----------------------------------------------------------------------------------------------
def build_eye_socket(center: np.ndarray, margin_ids: np.ndarray, skin_vertices: np.ndarray) -> Piece:
    """Rings from the lid-margin loop (skin vertex ids, a closed loop) back around the eyeball, just
    outside it, closed behind it: covers the gap between lids and eyeball (the conjunctiva)."""
    margin = skin_vertices[margin_ids]
    rel = margin - center
    dist = np.linalg.norm(rel, axis=1)
    u = rel / dist[:, None]
    alpha = np.arccos(np.clip(u[:, 2], -1, 1))
    beta = np.arctan2(u[:, 1], u[:, 0])
    n = len(margin_ids)
    rings = []
    extra_alpha = [0.0, 0.20, 0.45, 0.8, 1.25]  # added polar angle per ring (radians)
    for k, da in enumerate(extra_alpha):
        a_k = np.minimum(alpha + da, np.pi - 0.35) if k else alpha + 0.02
        rad = eye_surface_radius(a_k) + (0.0025 if k else 0.003)
        d = np.stack([np.sin(a_k) * np.cos(beta), np.sin(a_k) * np.sin(beta), np.cos(a_k)], 1)
        rings.append(center + rad[:, None] * d)
    back = center - np.array([0, 0, sculpt.ANATOMY.eyeball_radius + 0.0025])
    verts = np.concatenate([margin, *rings, back[None]])
    nrings = len(rings) + 1
    faces = _grid_faces(nrings, n, wrap=True)
    last = np.arange(n) + (nrings - 1) * n
    cap = np.stack([np.full(n, len(verts) - 1), np.roll(last, -1), last], 1)
    faces = np.concatenate([faces, cap])
    # orient: normals should point toward the eyeball centre side? The lining faces the eyeball
    # (its visible side looks into the eye opening, i.e. toward the eyeball): orient toward centre.
    nrm = np.cross(verts[faces[:, 1]] - verts[faces[:, 0]], verts[faces[:, 2]] - verts[faces[:, 0]])
    inward = np.einsum("ij,ij->i", nrm, center - verts[faces].mean(1)) > 0
    if inward.mean() < 0.5:
        faces = faces[:, [0, 2, 1]]
    # UVs: a strip, loop position across, ring depth down
    s = np.linspace(0, 1, n, endpoint=False)
    ring_v = np.linspace(1, 0.08, nrings)
    uvs = np.concatenate([np.stack([np.tile(s, nrings), np.repeat(ring_v, n)], 1), [[0.5, 0.0]]])
    # wrap seam: duplicate the first column for the last quad column
    uv_faces = faces.copy()
    seam_uv = np.stack([np.ones(nrings), ring_v], 1)
    base = len(uvs)
    uvs = np.concatenate([uvs, seam_uv])
    col = faces % n
    for fi in range(len(faces) - n):
        cols = col[fi]
        if cols.max() == n - 1 and cols.min() == 0:
            for k in range(3):
                if cols[k] == 0:
                    uv_faces[fi, k] = base + faces[fi, k] // n
    for fi in range(len(faces) - n, len(faces)):  # the closing cap
        tri = faces[fi]
        cols = [c for c, v in zip(col[fi], tri, strict=True) if v != len(verts) - 1]
        if max(cols) == n - 1 and min(cols) == 0:
            for k in range(3):
                if tri[k] != len(verts) - 1 and tri[k] % n == 0:
                    uv_faces[fi, k] = base + tri[k] // n
    shared = {i: int(margin_ids[i]) for i in range(n)}
    return Piece(verts, faces, uvs, shared=shared, uv_faces=uv_faces)


# ----------------------------------------------------------------------------------------------
# teeth
# ----------------------------------------------------------------------------------------------
# (name, mesiodistal width, labio-lingual depth, crown height, kind) from the midline backwards
UPPER_TEETH = (
    ("central incisor", 0.086, 0.070, 0.105, "incisor"),
    ("lateral incisor", 0.066, 0.062, 0.090, "incisor"),
    ("canine", 0.076, 0.080, 0.100, "canine"),
    ("first premolar", 0.070, 0.090, 0.082, "premolar"),
    ("second premolar", 0.066, 0.090, 0.078, "premolar"),
    ("first molar", 0.102, 0.110, 0.072, "molar"),
    ("second molar", 0.092, 0.108, 0.068, "molar"),
)
LOWER_TEETH = (
    ("central incisor", 0.054, 0.060, 0.090, "incisor"),
    ("lateral incisor", 0.060, 0.062, 0.092, "incisor"),
    ("canine", 0.070, 0.074, 0.100, "canine"),
    ("first premolar", 0.070, 0.078, 0.082, "premolar"),
    ("second premolar", 0.072, 0.082, 0.078, "premolar"),
    ("first molar", 0.112, 0.104, 0.072, "molar"),
    ("second molar", 0.106, 0.100, 0.068, "molar"),
)


@dataclass(frozen=True)
class DentalArch:
    """The arch the teeth stand on: a half ellipse in the occlusal plane (x, z).

    Upper arch labial (outer) edge: x = half_width sin t, z = front_z - depth (1 - cos t).
    """

    front_z: float
    half_width: float
    depth: float
    occlusal_y: float

    def point(self, t):
        return np.stack(
            [
                self.half_width * np.sin(t),
                np.full_like(t, self.occlusal_y),
                self.front_z - self.depth * (1 - np.cos(t)),
            ],
            -1,
        )

    def param_at_length(self, s: np.ndarray) -> np.ndarray:
        ts = np.linspace(0, np.pi / 2 + 0.3, 2000)
        p = self.point(ts)
        arc = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(p, axis=0), axis=1))])
        return np.interp(s, arc, ts)


def dental_arches() -> tuple[DentalArch, DentalArch]:
    """(upper, lower) arches of the mean head, placed behind the lips at the mouth line."""
    a = sculpt.ANATOMY
    lip_front = sculpt.face_depth(np.array([0.0]), np.array([a.stomion_y]))[0]
    upper = DentalArch(front_z=lip_front - 0.055, half_width=0.265, depth=0.43, occlusal_y=a.stomion_y - 0.012)
    # lower incisors sit ~2.5 mm behind the upper ones (overjet), edges ~2 mm above the upper edges
    lower = DentalArch(front_z=lip_front - 0.08, half_width=0.245, depth=0.41, occlusal_y=a.stomion_y + 0.008)
    return upper, lower


def _tooth(width, depth, height, kind, n_around=10, n_rings=5):
    """One tooth in its local frame: x along the arch, z outward (labial), y from the biting edge
    (y = 0) toward the gum (y = height + root). Returns (vertices [V, 3], faces [F, 3])."""
    root = 0.04
    ys = np.concatenate([[0.004], np.linspace(0.012, height + root, n_rings)])
    ang = np.linspace(0, 2 * np.pi, n_around, endpoint=False)
    ca, sa = np.cos(ang), np.sin(ang)
    e = 4.0 if kind in ("incisor", "molar") else 3.0  # superellipse sharpness

    def section(y):
        t = np.clip(y / height, 0, 1)
        w = width * (0.5 * (0.92 + 0.08 * t))
        if kind == "incisor":
            d = depth * 0.5 * (0.25 + 0.75 * min(1.0, t * 1.6))  # blade toward the edge
        elif kind == "canine":
            d = depth * 0.5 * (0.55 + 0.45 * min(1.0, t * 1.5))
            w = w * (0.45 + 0.55 * min(1.0, t * 2.2))  # pointed cusp
        else:
            d = depth * 0.5 * (0.9 + 0.1 * t)
        if y > height:  # narrower neck and root
            w, d = w * 0.8, d * 0.8
        sx = np.sign(ca) * np.abs(ca) ** (2 / e) * w
        sz = np.sign(sa) * np.abs(sa) ** (2 / e) * d
        return np.stack([sx, np.full_like(sx, y), sz], 1)

    rings = [section(y) for y in ys]
    tip = np.array([[0.0, 0.0, 0.0]])
    top = np.array([[0.0, ys[-1] + 0.004, 0.0]])
    verts = np.concatenate([tip, *rings, top])
    body = _grid_faces(len(ys), n_around, wrap=True) + 1
    r0 = np.arange(n_around) + 1
    rl = np.arange(n_around) + 1 + (len(ys) - 1) * n_around
    caps = np.concatenate([np.stack([np.zeros(n_around, int), np.roll(r0, -1), r0], 1),
                           np.stack([np.full(n_around, len(verts) - 1), rl, np.roll(rl, -1)], 1)])  # fmt: skip
    faces = np.concatenate([caps, body])
    # molars / premolars: dent the biting surface a little (cusps)
    if kind in ("molar", "premolar"):
        verts[0, 1] = 0.012
    return verts, faces


def build_teeth(arch: DentalArch, table, upper: bool) -> tuple[Piece, list[tuple[str, int, int]]]:
    """All teeth of one arch, left and right, as closed shells. Returns the piece and
    (name, first vertex, vertex count) per tooth."""
    verts_all, faces_all, uvs_all, uvf_all, index = [], [], [], [], []
    n_teeth = 2 * len(table)
    offset = 0
    uv_offset = 0
    k = 0
    for side in (1.0, -1.0):
        s0 = 0.0
        for name, width, depth, height, kind in table:
            s_mid = s0 + 0.5 * width + 0.002
            s0 += width + 0.004
            t = arch.param_at_length(np.array([s_mid]))[0]
            p = arch.point(np.array([t]))[0] * np.array([side, 1.0, 1.0])
            tangent = _normalize(np.array([side * arch.half_width * np.cos(t), 0.0, -arch.depth * np.sin(t)]))
            outward = _normalize(np.array([side * np.sin(t) / arch.half_width, 0.0, np.cos(t) / arch.depth]))
            up = np.array([0.0, 1.0 if upper else -1.0, 0.0])  # from the biting edge toward the gum
            v, f = _tooth(width, depth, height, kind)
            center = p - outward * depth * 0.5
            world = center + v[:, :1] * tangent[None] + v[:, 1:2] * up[None] + v[:, 2:3] * outward[None]
            f = _orient_outward(world, f, world.mean(0) + up * 0.3 * height)
            verts_all.append(world)
            faces_all.append(f + offset)
            # UV: each tooth gets a cell of the strip, an azimuthal map around its long axis (the
            # biting tip in the middle); the root cap fans outward so nothing overlaps
            cu = (k + 0.5) / n_teeth
            ang = np.arctan2(v[:, 2], v[:, 0])
            rr = 0.2 + 0.6 * np.clip(v[:, 1] / (height + 0.05), 0, 1)
            rr[0] = 0.0
            uv = np.stack([cu + 0.5 / n_teeth * np.cos(ang) * rr, 0.5 + 0.5 * np.sin(ang) * rr], 1)
            top = len(v) - 1
            uv_f = f.copy()
            extra = []
            for fi in np.nonzero((f == top).any(1))[0]:
                others = [q for q in f[fi] if q != top]
                a_mid = np.arctan2(np.sin(ang[others]).sum(), np.cos(ang[others]).sum())
                extra.append([cu + 0.5 / n_teeth * np.cos(a_mid) * 0.95, 0.5 + 0.5 * np.sin(a_mid) * 0.95])
                uv_f[fi][f[fi] == top] = len(v) + len(extra) - 1
            uv = np.concatenate([uv, np.array(extra)])
            uvs_all.append(uv)
            uvf_all.append(uv_f + uv_offset)
            uv_offset += len(uv)
            index.append(
                (f"{'upper' if upper else 'lower'} {'left' if side > 0 else 'right'} {name}", offset, len(world))
            )
            offset += len(world)
            k += 1
    piece = Piece(np.concatenate(verts_all), np.concatenate(faces_all), np.concatenate(uvs_all))
    piece.uv_faces = np.concatenate(uvf_all)
    return piece, index


# ----------------------------------------------------------------------------------------------
# tongue
# ----------------------------------------------------------------------------------------------
def build_tongue(lower: DentalArch, n_len: int = 16, n_around: int = 18) -> Piece:
    """A closed tongue lying inside the lower arch: rounded tip behind the lower incisors, dorsum
    just below the biting plane, a shallow median groove."""
    tip_z = lower.front_z - 0.085
    length = 0.62
    top_y = lower.occlusal_y - 0.02
    u = np.linspace(0, 1, n_len)  # 0 tip -> 1 back
    ang = np.linspace(0, 2 * np.pi, n_around, endpoint=False)
    half_w = 0.20 * np.sqrt(np.sin(np.clip(u, 0, 1) * np.pi / 2 * 0.999 + 1e-3)) * (1 - 0.15 * u)
    thick = 0.07 + 0.06 * np.sqrt(u)
    zs = tip_z - length * u
    rings = []
    for i in range(n_len):
        ca, sa = np.cos(ang), np.sin(ang)
        x = half_w[i] * np.sign(ca) * np.abs(ca) ** 0.7
        yb = np.where(sa > 0, thick[i] * 0.35 * np.abs(sa) ** 0.8, -thick[i] * np.abs(sa))
        groove = -0.008 * np.exp(-((x / 0.04) ** 2)) * (sa > 0)
        y = top_y - thick[i] * 0.35 + yb + groove
        rings.append(np.stack([x, y, np.full_like(x, zs[i])], 1))
    tip = np.array([[0.0, top_y - 0.03, tip_z + 0.012]])
    back = np.array([[0.0, top_y - 0.08, zs[-1] - 0.04]])
    verts = np.concatenate([tip, *rings, back])
    body = _grid_faces(n_len, n_around, wrap=True) + 1
    r0 = np.arange(n_around) + 1
    rl = np.arange(n_around) + 1 + (n_len - 1) * n_around
    caps = np.concatenate([np.stack([np.zeros(n_around, int), r0, np.roll(r0, -1)], 1),
                           np.stack([np.full(n_around, len(verts) - 1), np.roll(rl, -1), rl], 1)])  # fmt: skip
    faces = np.concatenate([caps, body])
    center = np.array([0.0, top_y - 0.05, tip_z - 0.3])
    faces = _orient_outward(verts, faces, center)
    # UVs: unrolled around the tongue (u) from the tip (v = 1) to the back (v = 0), the seam under
    # the tongue duplicated at u = 1; the caps fan to points beyond the first / last row
    u_ring = ang / (2 * np.pi)
    body_uv = np.stack([np.tile(u_ring, n_len), np.repeat(0.92 - 0.84 * u, n_around)], 1)
    seam_uv = np.stack([np.ones(n_len), 0.92 - 0.84 * u], 1)
    uvs = np.concatenate([[[0.5, 0.99]], body_uv, [[0.5, 0.01]], seam_uv])
    seam_base = 1 + n_len * n_around + 1
    uv_faces = faces.copy()
    col = (faces - 1) % n_around
    real = (faces > 0) & (faces < len(verts) - 1)
    for fi in range(len(faces)):
        cols = col[fi][real[fi]]
        if cols.max() == n_around - 1 and cols.min() == 0:
            for kk in range(3):
                if real[fi, kk] and col[fi, kk] == 0:
                    uv_faces[fi, kk] = seam_base + (faces[fi, kk] - 1) // n_around
    # cap fans: one UV per cap triangle for the tip / back point, above / below its ring segment
    extra = []
    for fi in range(len(faces)):
        for cap_v, v_pos in ((0, 0.99), (len(verts) - 1, 0.01)):
            if cap_v in faces[fi]:
                others = [uv_faces[fi, kk] for kk in range(3) if faces[fi, kk] != cap_v]
                extra.append([uvs[others, 0].mean(), v_pos])
                uv_faces[fi][faces[fi] == cap_v] = len(uvs) + len(extra) - 1
    uvs = np.concatenate([uvs, np.array(extra)])
    return Piece(verts, faces, uvs, uv_faces=uv_faces)


# ----------------------------------------------------------------------------------------------
# mouth bag: inner lip walls, vestibule, palate, cheeks, floor, throat
# ----------------------------------------------------------------------------------------------
# rings behind the mouth slit: (depth behind the slit, half width, height above, height below,
# how far the ring has flattened from the lips' curve to a plane, corner roundness)
BAG_RINGS = (
    (0.022, 0.246, 0.010, 0.010, 0.0, 0.98),
    (0.040, 0.250, 0.080, 0.085, 0.15, 0.92),
    (0.070, 0.270, 0.115, 0.115, 0.45, 0.86),
    (0.160, 0.300, 0.135, 0.125, 1.0, 0.80),
    (0.320, 0.330, 0.145, 0.125, 1.0, 0.75),
    (0.480, 0.300, 0.125, 0.105, 1.0, 0.70),
    (0.600, 0.180, 0.075, 0.065, 1.0, 0.60),
)


def build_mouth_bag(
    skin_vertices: np.ndarray, mouth_upper: np.ndarray, mouth_lower: np.ndarray
) -> tuple[Piece, np.ndarray]:
    """The mouth cavity as one bag hanging off the lip edges (closed at the throat).

    Returns the piece and the loop side of each vertex (+1 upper half, -1 lower half, 0 corners /
    throat) so that the jaw can move the lower half.
    """
    a = sculpt.ANATOMY
    loop = np.concatenate([mouth_upper, mouth_lower[1:-1][::-1]])
    n = len(loop)
    p0 = skin_vertices[loop]
    side = np.concatenate([np.zeros(1), np.ones(len(mouth_upper) - 2), np.zeros(1), -np.ones(len(mouth_lower) - 2)])
    s = np.clip(p0[:, 0] / a.mouth_half_width, -1, 1)
    z_mid = skin_vertices[mouth_upper[len(mouth_upper) // 2], 2]
    y_line = sculpt.mouth_line_y(p0[:, 0])
    rings = [p0]
    for dz, w, h_up, h_lo, blend, c in BAG_RINGS:
        z = (1 - blend) * (p0[:, 2] - dz) + blend * (z_mid - dz)
        h = np.where(side > 0, h_up, h_lo)
        hgt = np.sqrt(np.maximum(1 - s * s * c, 0.0))
        # corners: halfway between up and down; sides are distinguished by the loop order
        sgn = np.where(side != 0, side, 0.0)
        y = y_line + sgn * h * hgt
        x = s * w
        rings.append(np.stack([x, y, z], 1))
    # the corner vertices of the loop sit at the lip corners; deeper rings give them height
    throat = np.array([[0.0, a.stomion_y - 0.01, z_mid - 0.66]])
    verts = np.concatenate([*rings, throat])
    nr = len(rings)
    faces = _grid_faces(nr, n, wrap=True)
    last = np.arange(n) + (nr - 1) * n
    cap = np.stack([np.full(n, len(verts) - 1), np.roll(last, -1), last], 1)
    faces = np.concatenate([faces, cap])
    # keep the bag inside the head: pull any point out of the skin back under it
    from head360.mesh.sculpt import skin_radius

    inner = verts[n:]
    d = _normalize(inner)
    rs = skin_radius(d)
    rad = np.linalg.norm(inner, axis=1)
    verts[n:] = d * np.minimum(rad, rs - 0.035)[:, None]
    # orient: normals face into the cavity (toward the bag's axis)
    axis_pts = np.stack([np.zeros(len(faces)), np.full(len(faces), a.stomion_y), verts[faces].mean(1)[:, 2]], 1)
    nrm = np.cross(verts[faces[:, 1]] - verts[faces[:, 0]], verts[faces[:, 2]] - verts[faces[:, 0]])
    if np.mean(np.einsum("ij,ij->i", nrm, axis_pts - verts[faces].mean(1)) > 0) < 0.5:
        faces = faces[:, [0, 2, 1]]
    # UVs: unrolled tube, loop position across, depth down; seam at the right corner (loop start)
    u = np.linspace(0, 1, n, endpoint=False)
    v = np.linspace(1, 0.06, nr)
    uvs = np.concatenate([np.stack([np.tile(u, nr), np.repeat(v, n)], 1), [[0.5, 0.0]], np.stack([np.ones(nr), v], 1)])
    uv_faces = faces.copy()
    seam_base = n * nr + 1
    col = faces % n
    is_cap = np.arange(len(faces)) >= len(faces) - n
    for fi in range(len(faces)):
        tri = faces[fi]
        real = tri != len(verts) - 1
        cols = col[fi][real]
        if cols.max() == n - 1 and cols.min() == 0:
            for k in range(3):
                if real[k] and tri[k] % n == 0:
                    uv_faces[fi, k] = seam_base + tri[k] // n
    del is_cap
    side_all = np.concatenate([np.tile(side, nr), [0.0]])
    shared = {i: int(loop[i]) for i in range(n)}
    return Piece(verts, faces, uvs, shared=shared, uv_faces=uv_faces), side_all


# ----------------------------------------------------------------------------------------------
# ears
# ----------------------------------------------------------------------------------------------
EAR_OUTLINE = np.array([
    (0.10, -0.03), (0.20, -0.045), (0.28, -0.01), (0.325, 0.06), (0.32, 0.14), (0.27, 0.22),
    (0.18, 0.275), (0.06, 0.295), (-0.06, 0.28), (-0.16, 0.235), (-0.235, 0.17), (-0.285, 0.10),
    (-0.30, 0.04), (-0.275, -0.01), (-0.21, -0.03), (-0.13, -0.02), (-0.06, -0.045), (0.02, -0.05),
])  # fmt: skip
"""Left ear outline in ear coordinates (a = up along the ear, b = backward), 1 = 10 cm, ear length
6.25 cm: helix root above the tragus, over the top, down the back, the lobe, the intertragic notch."""
EAR_CONCHA = np.array([0.0, 0.085])


def _ear_outline(n: int) -> np.ndarray:
    """Smooth closed outline resampled to n points (periodic Catmull-Rom)."""
    p = EAR_OUTLINE
    m = len(p)
    dense = []
    for i in range(m):
        p0, p1, p2, p3 = p[(i - 1) % m], p[i], p[(i + 1) % m], p[(i + 2) % m]
        for t in np.linspace(0, 1, 20, endpoint=False):
            t2, t3 = t * t, t * t * t
            dense.append(
                0.5
                * (2 * p1 + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t2 + (-p0 + 3 * p1 - 3 * p2 + p3) * t3)
            )
    dense = np.array(dense + [dense[0]])
    seg = np.linalg.norm(np.diff(dense, axis=0), axis=1)
    arc = np.concatenate([[0], np.cumsum(seg)])
    t = np.linspace(0, arc[-1], n, endpoint=False)
    return np.stack([np.interp(t, arc, dense[:, 0]), np.interp(t, arc, dense[:, 1])], 1)


def _ear_front_height(rho: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Relief of the ear's outer surface (outward, world units) over normalised radius / angle."""
    # beta: direction from the concha centre in ear coordinates (0 = up along the ear, pi/2 = back)
    down = np.clip(-np.cos(beta), 0, 1) ** 2  # lobe region: smooth, no folds
    front = np.clip(-np.sin(beta), 0, 1) ** 2  # toward the face: tragus
    concha = -0.115 * np.clip(1 - (rho / 0.48) ** 2, 0, 1) ** 1.5
    antihelix = 0.028 * np.exp(-(((rho - 0.64) / 0.09) ** 2))
    scapha = -0.022 * np.exp(-(((rho - 0.82) / 0.05) ** 2))
    helix = 0.030 * np.exp(-(((rho - 0.95) / 0.045) ** 2))
    folds = (antihelix + scapha) * (1 - down) * (1 - front)
    lobe = 0.012 * down * np.exp(-(((rho - 0.7) / 0.25) ** 2))
    tragus = 0.035 * front * np.exp(-(((rho - 0.78) / 0.12) ** 2)) * (np.cos(beta) < 0.3)
    return concha + folds + helix * (1 - 0.6 * down) + lobe + tragus


def build_ear(side: float, n_rim: int = 56, n_rings: int = 9) -> Piece:
    """A closed ear shell for the left (side=+1) or right (side=-1) ear, attached over the side of
    the head behind the jaw joint: outer surface with helix rim, scapha, antihelix, concha, tragus
    and lobe; a smooth back (cranial) surface that sinks into the head."""
    a = sculpt.ANATOMY
    rim = _ear_outline(n_rim)
    rel = rim - EAR_CONCHA
    beta = np.arctan2(rel[:, 1], rel[:, 0])
    rho = np.linspace(0.0, 1.0, n_rings + 1)[1:]
    # front (outer) surface: rings from the concha centre out to the rim
    pts_ab = EAR_CONCHA + rho[:, None, None] * rel[None]
    h_front = _ear_front_height(
        np.broadcast_to(rho[:, None], (n_rings, n_rim)), np.broadcast_to(beta[None], (n_rings, n_rim))
    )
    h_front[-1] = 0.0  # the rim edge, shared with the back
    # back surface: rings from just inside the rim toward the middle, sinking into the head
    rho_b = rho[::-1][1:]  # inside the rim, outer to inner
    pts_b = EAR_CONCHA + rho_b[:, None, None] * rel[None]
    h_back = -(0.035 + 0.26 * (1 - rho_b[:, None]) ** 0.8) * np.ones((1, n_rim))
    center_front = np.array([[*EAR_CONCHA, -0.115]])
    center_back = np.array([[*EAR_CONCHA, -0.32]])
    ab_h = np.concatenate([
        center_front,
        np.concatenate([pts_ab, h_front[..., None]], -1).reshape(-1, 3),
        np.concatenate([pts_b, h_back[..., None]], -1).reshape(-1, 3),
        center_back,
    ])  # fmt: skip
    nf = n_rings  # front rings incl. rim
    nb = len(rho_b)
    front_grid = _grid_faces(nf, n_rim, wrap=True) + 1
    back_rows = np.concatenate([[nf - 1], nf + np.arange(nb)])  # rim ring then back rings
    back_grid = []
    for r in range(len(back_rows) - 1):
        r0, r1 = back_rows[r] * n_rim + 1, back_rows[r + 1] * n_rim + 1
        c = np.arange(n_rim)
        c1 = (c + 1) % n_rim
        back_grid.append(np.stack([r0 + c, r1 + c, r1 + c1], 1))
        back_grid.append(np.stack([r0 + c, r1 + c1, r0 + c1], 1))
    ring0 = np.arange(n_rim) + 1
    lastb = back_rows[-1] * n_rim + 1 + np.arange(n_rim)
    faces = np.concatenate([
        np.stack([np.zeros(n_rim, int), ring0, np.roll(ring0, -1)], 1),
        front_grid,
        *back_grid,
        np.stack([np.full(n_rim, len(ab_h) - 1), np.roll(lastb, -1), lastb], 1),
    ])  # fmt: skip
    # ear frame for the left ear: outward normal +x, a up (tilted back ~15 deg), b backward, the
    # back edge flared away from the head by ~22 deg
    tilt, flare = np.radians(16.0), np.radians(22.0)
    a_axis = np.array([0.0, np.cos(tilt), -np.sin(tilt)])
    b_axis = np.array([0.0, -np.sin(tilt), -np.cos(tilt)])
    n_axis = np.array([1.0, 0.0, 0.0])
    cf, sf = np.cos(flare), np.sin(flare)
    b_axis, n_axis = cf * b_axis + sf * n_axis, -sf * b_axis + cf * n_axis
    tx, ty, tz = a.tragus
    # concha centre: behind and slightly above the tragus, its floor at the side of the head
    anchor = np.array([tx, ty + 0.03, tz - 0.075])
    d = _normalize(anchor[None])
    x_skin = (sculpt.skin_radius(d)[:, None] * d)[0]
    origin = np.array([x_skin[0] + 0.105, anchor[1], anchor[2]])
    verts = origin + ab_h[:, :1] * a_axis + ab_h[:, 1:2] * b_axis + ab_h[:, 2:3] * n_axis
    if side < 0:
        verts = verts * np.array([-1.0, 1.0, 1.0])
    # orientation: the front (outer) cap must face outward (+side x)
    f0 = faces[:n_rim]
    nrm = np.cross(verts[f0[:, 1]] - verts[f0[:, 0]], verts[f0[:, 2]] - verts[f0[:, 0]])
    if np.mean(nrm[:, 0] * side) < 0:
        faces = faces[:, [0, 2, 1]]
    # UVs: outer surface planar in (b, a) on the left 62% of the square, back surface on the rest
    span_a, span_b = (-0.32, 0.34), (-0.07, 0.31)
    ua = (ab_h[:, 0] - span_a[0]) / (span_a[1] - span_a[0])
    ub = (ab_h[:, 1] - span_b[0]) / (span_b[1] - span_b[0])
    n_front_v = 1 + nf * n_rim
    uv_front = np.stack([0.02 + 0.58 * ub, 0.02 + 0.96 * ua], 1)
    uv_back = np.stack([0.64 + 0.34 * ub, 0.02 + 0.96 * ua], 1)
    uvs = np.concatenate([uv_front, uv_back])
    is_front_face = np.arange(len(faces)) < n_rim + len(front_grid)
    uv_faces = np.where(is_front_face[:, None], faces, faces + len(ab_h))
    del n_front_v
    return Piece(verts, faces, uvs, uv_faces=uv_faces)
