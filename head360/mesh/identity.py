"""Identity variation: 50 linear displacement fields on the template, each one "sigma" of a human
variation, so that ``identity_vertices(template, s)`` with ``s ~ N(0, I)`` gives plausible heads and
codes up to +-3 stay plausible.

``identity_basis(template) -> [50, V, 3]`` (cached per template), ``sample_identity(rng) -> [50]``,
``identity_vertices(template, params [50]) -> [V, 3]``. ``IDENTITY_NAMES`` names the fields; the
first ones are those that change the blendshapes most (face length, mouth, chin, jaw, eyes), which
the bilinear mesh model's shape x expression interaction uses first.

Each field is a smooth function of the template position, sized from adult anthropometric standard
deviations (head breadth SD ~5 mm, face length SD ~6 mm, nose length SD ~4 mm...). Parts stay
consistent: each eyeball and each tooth moves rigidly with the field at its centre (eye spacing,
height and depth carry the eyeball with the socket; eye size opens the lids around the eyeball
without entering it), the tongue and the mouth bag follow the mouth region, ears move as rigid
bodies with the head at their root plus their own size, angle and position fields.
"""

from __future__ import annotations

import numpy as np

from head360.mesh import sculpt
from head360.mesh.template import Part, Template

IDENTITY_NAMES: tuple[str, ...] = (
    # ordered by how much they change the blendshapes (measured), so the bilinear model's
    # shape x expression interaction, which uses the first K codes, captures most of it
    "face_length", "mouth_height", "chin_projection", "chin_height", "jaw_depth", "eye_size",
    "jaw_angle", "lip_thickness_lower", "mouth_width", "lip_thickness_upper", "eye_tilt",
    "cheek_fullness", "region_10", "neck_thickness", "skull_width", "jaw_width", "region_11",
    "region_12", "midface_depth", "face_width", "region_08", "region_09", "cheekbones", "eye_spacing",
    "eye_height", "brow_ridge", "eye_depth", "chin_width", "nose_length", "nose_projection",
    "nose_width", "skull_length", "nose_tip", "temples", "nose_bridge", "occiput", "forehead_slope",
    "skull_height", "ear_size", "ear_position", "ear_angle",
    # smooth regional variations elsewhere
    "region_01", "region_02", "region_03", "region_04", "region_05", "region_06", "region_07",
    "region_13", "region_14",
)  # fmt: skip
NUM_IDENTITY = len(IDENTITY_NAMES)
assert NUM_IDENTITY == 50


def _smooth(e0, e1, x):
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _gauss(q):
    return np.exp(-q)


def sample_identity(rng: np.random.Generator, scale: float = 1.0) -> np.ndarray:
    """A random identity code [50] ~ N(0, scale^2 I) (the fields are one sigma each)."""
    return (rng.standard_normal(NUM_IDENTITY) * scale).astype(np.float32)


def identity_vertices(template: Template, params) -> np.ndarray:
    """Vertices [V, 3] float32 of the identity with code ``params`` [50] (zeros = the template)."""
    s = np.asarray(params, np.float32).reshape(-1)
    if s.shape[0] != NUM_IDENTITY:
        raise ValueError(f"identity code must have {NUM_IDENTITY} values, got {s.shape[0]}")
    basis = identity_basis(template)
    return (template.vertices + np.tensordot(s, basis, axes=1)).astype(np.float32)


_BASIS_CACHE: dict[str, np.ndarray] = {}


def identity_basis(template: Template) -> np.ndarray:
    """The 50 displacement fields [50, V, 3] float32 (one sigma each), cached per template."""
    key = template.topology_hash()
    if key not in _BASIS_CACHE:
        _BASIS_CACHE.clear()
        _BASIS_CACHE[key] = _build_basis(template)
    return _BASIS_CACHE[key]


def _field_functions():
    """Name -> f(P [N, 3]) -> displacement [N, 3]: the smooth fields, one sigma each."""
    a = sculpt.ANATOMY
    ecx, ecy, ecz = a.eye_center
    hw = a.mouth_half_width
    sy = a.stomion_y

    def comp(dx=0.0, dy=0.0, dz=0.0):
        return lambda n: np.stack([np.broadcast_to(dx, n), np.broadcast_to(dy, n), np.broadcast_to(dz, n)], 1)

    def head_weight(y):  # everything above the neck, fading down the neck
        return _smooth(-1.45, -1.0, y)

    def lower_face(p):  # below the eyes, in front of the ears
        x, y, z = p.T
        return _smooth(-0.05, -0.35, y) * _smooth(-0.25, 0.1, z) * head_weight(y)

    def eye_region(p, k):
        x, y, z = p.T
        cx = ecx * (1 if k == 0 else -1)
        q = ((x - cx) / 0.20) ** 2 + ((y - ecy) / 0.17) ** 2
        return _gauss(q**2) * _smooth(0.2, 0.45, z)

    def mouth_region(p, rx=0.33, ry=0.26):
        x, y, z = p.T
        return _gauss((x / rx) ** 4 + ((y - sy) / ry) ** 4) * _smooth(0.0, 0.3, z)

    def f_jaw_width(p):
        x, y, z = p.T
        w = _smooth(-0.35, -0.75, y) * _smooth(-0.2, 0.1, z) * _smooth(-1.35, -0.95, y)
        return np.stack([0.030 * x * w, 0 * x, 0 * x], 1) / 0.5

    def f_face_length(p):
        x, y, z = p.T
        # the lower face stretches down from the eyes: mouth, chin, jaw (and teeth, tongue)
        w = _smooth(0.05, -0.9, y) * _smooth(-0.3, 0.0, z) * _smooth(-1.5, -1.05, y)
        return np.stack([0 * x, -0.055 * w, 0.008 * w], 1)

    def f_mouth_width(p):
        x, y, z = p.T
        w = mouth_region(p, 0.36, 0.16)
        return np.stack([0.035 * np.clip(x / hw, -1.3, 1.3) * w, 0 * x, -0.004 * w * (x / hw) ** 2], 1)

    def f_mouth_height(p):
        x, y, z = p.T
        w = mouth_region(p, 0.36, 0.18)
        return np.stack([0 * x, 0.028 * w, 0 * x], 1)

    def f_chin_projection(p):
        x, y, z = p.T
        w = _gauss((x / 0.26) ** 2 + ((y + 0.92) / 0.22) ** 2) * _smooth(0.1, 0.45, z)
        return np.stack([0 * x, 0 * x, 0.035 * w], 1)

    def f_jaw_angle(p):
        x, y, z = p.T
        # the gonial angle sits higher or lower and flares
        w = _gauss(((np.abs(x) - 0.52) / 0.18) ** 2 + ((y + 0.75) / 0.22) ** 2 + ((z - 0.05) / 0.3) ** 2)
        return np.stack([0.012 * np.sign(x) * w, 0.030 * w, 0 * x], 1)

    def f_eye_size(p):  # angular: lids open or close around the eyeball centre, tangentially
        out = np.zeros_like(p)
        for k in range(2):
            c = np.array([ecx * (1 if k == 0 else -1), ecy, ecz])
            d = p - c
            r = np.linalg.norm(d, axis=1, keepdims=True) + 1e-9
            u = d / r
            g = np.array([0.0, 0.0, 1.0])
            # tangent direction away from the gaze axis on the sphere through the point
            tang = u * (u @ g)[:, None] - g
            tang /= np.linalg.norm(tang, axis=1, keepdims=True) + 1e-9
            rho = np.sqrt(d[:, 0] ** 2 + d[:, 1] ** 2)
            w = _smooth(0.25, 0.10, rho) * _smooth(0.0, 0.06, d[:, 2] + 0.06) * (r[:, 0] > 0.1235)
            out += 0.014 * w[:, None] * tang * np.clip(rho / 0.08, 0, 1)[:, None]
        return out

    def f_eye_spacing(p):
        x = p[:, 0]
        w = eye_region(p, 0) + eye_region(p, 1)
        return np.stack([0.022 * np.sign(x) * w, 0 * x, 0 * x], 1)

    def f_eye_height(p):
        x = p[:, 0]
        w = eye_region(p, 0) + eye_region(p, 1)
        return np.stack([0 * x, 0.020 * w, 0 * x], 1)

    def f_eye_tilt(p):  # canthal tilt: outer corners up (rotation about each eye's forward axis)
        out = np.zeros_like(p)
        for k in range(2):
            sgn = 1 if k == 0 else -1
            c = np.array([ecx * sgn, ecy, ecz])
            w = eye_region(p, k)
            d = p - c
            ang = 0.07 * sgn  # ~4 deg
            out[:, 0] += w * (-ang * d[:, 1])
            out[:, 1] += w * (ang * d[:, 0])
        return out

    def f_lip(p, upper: bool):
        x, y, z = p.T
        ym = sculpt.mouth_line_y(np.clip(x, -hw, hw))
        s = (y - ym) if upper else (ym - y)
        env = np.clip(1 - (x / (hw + 0.02)) ** 2, 0, 1) ** 0.7
        w = env * np.exp(-(((s - 0.06) / 0.05) ** 2)) * (s > -0.005) * _smooth(0.4, 0.7, z)
        sgn = 1.0 if upper else -1.0
        return np.stack([0 * x, sgn * 0.012 * w, 0.006 * w], 1)

    def f_cheekbones(p):
        x, y, z = p.T
        w = _gauss(((np.abs(x) - 0.50) / 0.17) ** 2 + ((y + 0.07) / 0.14) ** 2) * _smooth(0.0, 0.3, z)
        return np.stack([0.025 * np.sign(x) * w, 0.004 * w, 0.025 * w], 1)

    def f_brow_ridge(p):
        x, y, z = p.T
        w = _gauss(((y - 0.27) / 0.09) ** 2) * _smooth(0.62, 0.40, np.abs(x)) * _smooth(0.6, 0.8, z)
        return np.stack([0 * x, 0 * x, 0.022 * w], 1)

    def f_chin_height(p):
        x, y, z = p.T
        w = _smooth(-0.72, -1.0, y) * _smooth(0.1, 0.4, z) * _gauss((x / 0.45) ** 2) * _smooth(-1.45, -1.1, y)
        return np.stack([0 * x, -0.030 * w, 0.004 * w], 1)

    def f_chin_width(p):
        x, y, z = p.T
        w = _gauss(((y + 0.92) / 0.2) ** 2) * _smooth(0.2, 0.5, z) * _gauss((x / 0.4) ** 2)
        return np.stack([0.06 * x * w, 0 * x, 0 * x], 1)

    def f_eye_depth(p):
        x = p[:, 0]
        w = eye_region(p, 0) + eye_region(p, 1)
        return np.stack([0 * x, 0 * x, -0.018 * w], 1)

    def f_cheek_fullness(p):
        x, y, z = p.T
        w = _gauss(((np.abs(x) - 0.45) / 0.16) ** 2 + ((y + 0.45) / 0.20) ** 2) * _smooth(0.05, 0.35, z)
        return np.stack([0.020 * np.sign(x) * w, 0 * x, 0.012 * w], 1)

    def f_skull_width(p):
        x, y, z = p.T
        return np.stack([0.055 * x * head_weight(y), 0 * x, 0 * x], 1)

    def f_skull_length(p):
        x, y, z = p.T
        w = _smooth(0.0, -0.9, z) * head_weight(y) * _smooth(-0.9, -0.3, y)
        return np.stack([0 * x, 0 * x, -0.070 * w], 1)

    def f_skull_height(p):
        x, y, z = p.T
        w = _smooth(0.25, 1.2, y)
        return np.stack([0 * x, 0.055 * w, 0 * x], 1)

    def f_forehead_slope(p):
        x, y, z = p.T
        w = _smooth(0.25, 0.85, y) * _smooth(0.95, 0.7, y) * _smooth(0.2, 0.6, z)
        return np.stack([0 * x, 0 * x, -0.035 * w], 1)

    def nose(p):
        x, y, z = p.T
        return _gauss((x / 0.22) ** 2 + ((y + 0.12) / 0.30) ** 4) * _smooth(0.75, 0.95, z)

    def f_nose_length(p):
        x, y, z = p.T
        w = nose(p) * _smooth(0.15, -0.25, y)
        return np.stack([0 * x, -0.030 * w, 0.006 * w], 1)

    def f_nose_width(p):
        x, y, z = p.T
        w = nose(p) * _smooth(0.05, -0.25, y)
        return np.stack([0.22 * x * w, 0 * x, 0 * x], 1)

    def f_nose_projection(p):
        x, y, z = p.T
        w = nose(p) * _smooth(0.05, -0.22, y) * _gauss((x / 0.16) ** 2)
        return np.stack([0 * x, 0 * x, 0.028 * w], 1)

    def f_nose_bridge(p):
        x, y, z = p.T
        w = _gauss((x / 0.10) ** 2 + ((y + 0.02) / 0.16) ** 2) * _smooth(0.8, 0.95, z)
        return np.stack([0 * x, 0 * x, 0.020 * w], 1)

    def f_nose_tip(p):  # tip rotation: up (upturned) / down (drooping)
        x, y, z = p.T
        w = _gauss((x / 0.14) ** 2 + ((y + 0.30) / 0.07) ** 2) * _smooth(0.9, 1.02, z)
        return np.stack([0 * x, 0.022 * w, -0.004 * w], 1)

    def f_neck_thickness(p):
        x, y, z = p.T
        zn = sculpt.neck_center_z(y)
        w = _smooth(-0.95, -1.25, y)
        return np.stack([0.08 * x * w, 0 * x, 0.06 * (z - zn) * w], 1)

    def f_occiput(p):
        x, y, z = p.T
        w = _gauss((x / 0.45) ** 2 + ((y - 0.0) / 0.35) ** 2 + ((z + 1.0) / 0.35) ** 2)
        return np.stack([0 * x, 0 * x, -0.035 * w], 1)

    def f_temples(p):
        x, y, z = p.T
        w = _gauss(((np.abs(x) - 0.66) / 0.12) ** 2 + ((y - 0.35) / 0.18) ** 2 + ((z - 0.15) / 0.3) ** 2)
        return np.stack([0.018 * np.sign(x) * w, 0 * x, 0 * x], 1)

    def f_face_width(p):
        x, y, z = p.T
        w = _smooth(0.35, 0.05, y) * _smooth(-0.9, -0.4, y) * _smooth(-0.2, 0.2, z)
        return np.stack([0.040 * x * w, 0 * x, 0 * x], 1)

    def f_midface_depth(p):
        x, y, z = p.T
        w = _gauss((x / 0.45) ** 2 + ((y + 0.25) / 0.30) ** 2) * _smooth(0.4, 0.75, z)
        return np.stack([0 * x, 0 * x, 0.025 * w], 1)

    def f_jaw_depth(p):  # the whole lower jaw forward / back (pro- / retrognathism)
        x, y, z = p.T
        w = _smooth(-0.5, -0.8, y) * _smooth(0.0, 0.4, z) * _smooth(-1.4, -1.05, y)
        return np.stack([0 * x, 0 * x, 0.028 * w], 1)

    fields = {
        "jaw_width": f_jaw_width,
        "face_length": f_face_length,
        "mouth_width": f_mouth_width,
        "mouth_height": f_mouth_height,
        "chin_projection": f_chin_projection,
        "jaw_angle": f_jaw_angle,
        "eye_size": f_eye_size,
        "eye_spacing": f_eye_spacing,
        "eye_height": f_eye_height,
        "eye_tilt": f_eye_tilt,
        "lip_thickness_upper": lambda p: f_lip(p, True),
        "lip_thickness_lower": lambda p: f_lip(p, False),
        "cheekbones": f_cheekbones,
        "brow_ridge": f_brow_ridge,
        "chin_height": f_chin_height,
        "chin_width": f_chin_width,
        "eye_depth": f_eye_depth,
        "cheek_fullness": f_cheek_fullness,
        "skull_width": f_skull_width,
        "skull_length": f_skull_length,
        "skull_height": f_skull_height,
        "forehead_slope": f_forehead_slope,
        "nose_length": f_nose_length,
        "nose_width": f_nose_width,
        "nose_projection": f_nose_projection,
        "nose_bridge": f_nose_bridge,
        "nose_tip": f_nose_tip,
        "neck_thickness": f_neck_thickness,
        "occiput": f_occiput,
        "temples": f_temples,
        "face_width": f_face_width,
        "midface_depth": f_midface_depth,
        "jaw_depth": f_jaw_depth,
    }
    # smooth regional variations: bumps of the surface along the outward direction at fixed
    # places over the face and head (deterministic), 2-3 mm each
    centers = [
        (0.0, 0.55, 0.8), (0.35, 0.45, 0.6), (-0.35, 0.45, 0.6), (0.0, 0.9, 0.2), (0.55, 0.35, -0.3),
        (-0.55, 0.35, -0.3), (0.0, 0.5, -0.85), (0.30, -0.25, 0.70), (-0.30, -0.25, 0.70),
        (0.0, -0.75, 0.75), (0.45, -0.70, 0.30), (-0.45, -0.70, 0.30), (0.0, 0.15, 0.88), (0.0, -1.2, 0.35),
    ]  # fmt: skip
    for k, c in enumerate(centers):
        c = np.array(c)

        def bump(p, c=c, k=k):
            d = p - c
            w = _gauss((d**2).sum(1) / (0.22**2 if k < 7 else 0.15**2))
            outward = p - np.array([0.0, 0.1, -0.05])
            outward /= np.linalg.norm(outward, axis=1, keepdims=True) + 1e-9
            return (0.022 if k < 7 else 0.015) * w[:, None] * outward

        fields[f"region_{k + 1:02d}"] = bump
    return fields


def _build_basis(t: Template) -> np.ndarray:
    p = t.vertices.astype(np.float64)
    vp = t.vertex_part
    fields = _field_functions()
    n = len(p)
    basis = np.zeros((NUM_IDENTITY, n, 3), np.float64)
    eye_l, eye_r = t.part_vertices(Part.EYEBALL_LEFT), t.part_vertices(Part.EYEBALL_RIGHT)
    centers = np.stack([t.anchors["eye_center_left"], t.anchors["eye_center_right"]]).astype(np.float64)
    ear_ids = [t.part_vertices(Part.EAR_LEFT), t.part_vertices(Part.EAR_RIGHT)]
    ear_roots = np.stack([t.anchors["ear_left"], t.anchors["ear_right"]]).astype(np.float64)
    head = ~np.isin(vp, [int(Part.EAR_LEFT), int(Part.EAR_RIGHT)])
    # around each eye the lids and their linings move with the eyeball (rigidly near it), so no field
    # pushes a lid into its eyeball; eye size alone opens and closes the lids around it
    near_eye = []
    for c in centers:
        rho = np.linalg.norm(p - c, axis=1)
        w = np.clip((0.27 - rho) / 0.10, 0.0, 1.0)
        near_eye.append(w * w * (3 - 2 * w))
    for k, name in enumerate(IDENTITY_NAMES):
        if name.startswith("ear_"):
            continue
        f = fields[name]
        d = np.zeros((n, 3))
        d[head] = f(p[head])
        # eyeballs: rigid, with the field at their centre (eye size leaves them in place)
        c_disp = f(centers) if name != "eye_size" else np.zeros((2, 3))
        if name != "eye_size":
            for side in range(2):
                w = near_eye[side][:, None] * head[:, None]
                d = (1.0 - w) * d + w * c_disp[side]
        d[eye_l] = c_disp[0]
        d[eye_r] = c_disp[1]
        # ears: rigid, with the head at their root
        root_disp = f(ear_roots)
        for side in range(2):
            d[ear_ids[side]] = root_disp[side]
        basis[k] = d
    # teeth: each tooth rigid with the field at its centre
    for _, first, count in t.teeth:
        ids = np.arange(first, first + count)
        basis[:, ids] = basis[:, ids].mean(1, keepdims=True)
    # the ears' own fields: size (scale about the root), angle (flare about a vertical axis at the
    # root), position (up / down)
    for side in range(2):
        ids = ear_ids[side]
        root = ear_roots[side]
        rel = p[ids] - root
        sgn = 1.0 if side == 0 else -1.0
        basis[IDENTITY_NAMES.index("ear_size"), ids] = 0.07 * rel
        ang = np.radians(4.0)
        # a small turn about a vertical axis along the ear's front attachment: the back edge swings out
        hinge = np.array([root[0], root[1], t.anchors["ear_left"][2] + 0.05])
        rel_h = p[ids] - hinge
        rot = np.stack([-sgn * ang * rel_h[:, 2], np.zeros(len(ids)), sgn * ang * (rel_h[:, 0])], 1)
        basis[IDENTITY_NAMES.index("ear_angle"), ids] = rot
        basis[IDENTITY_NAMES.index("ear_position"), ids] = np.array([0.0, 0.03, -0.01])
    return basis.astype(np.float32)
