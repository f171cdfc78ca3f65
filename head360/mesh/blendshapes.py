"""The 52 ARKit blendshapes of one identity, as vertex deltas on the template topology.

``blendshape_deltas(template, neutral) -> [52, V, 3]``: row ``j`` is the displacement that
``ARKIT_NAMES[j]`` at weight 1 adds to ``neutral`` (that identity's vertices). Deltas combine
linearly, as ARKit weights do. Meanings follow Apple's ``ARFaceAnchor.BlendShapeLocation``; "Left"
is the subject's left (+x). Amounts (1 = 10 cm): eyeLook* turns the eyeball 30 deg sideways or
25 deg up/down (the lids follow up/down); eyeBlink closes the lids exactly (they meet about a third
of the way up the opening, rotating around the eyeball centre so they never enter it); jawOpen
turns the jaw 25 deg about the condyles (lower lip, lower teeth, tongue and the floor of the mouth
come along, showing teeth and tongue; the condyles glide ~1 cm forward as they do); mouthClose
brings the lips back together while the jaw is open; tongueOut opens the jaw 9 deg and pushes the
tongue ~3 cm out between the lips.

How it works: smooth region weights are computed once per template (cached), from the template's
positions and structure; the motions are built from the identity's own geometry (eyeball centres,
lid margins, jaw hinge, lip rows), so the shapes follow each identity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from head360.arkit import INDEX, NUM_BLENDSHAPES
from head360.mesh import sculpt
from head360.mesh.template import Part, Template

JAW_OPEN_DEG = 25.0
EYE_TURN_SIDE_DEG = 30.0
EYE_TURN_VERTICAL_DEG = 25.0


def _smooth(e0, e1, x):
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _gauss(q):
    return np.exp(-q)


def _rot_x(points: np.ndarray, center: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rotate points [N, 3] about the x axis through ``center`` by per-point ``angle`` [N] (radians;
    positive turns +z toward -y, i.e. the front downward)."""
    c, s = np.cos(angle), np.sin(angle)
    d = points - center
    y = d[:, 1] * c - d[:, 2] * s
    z = d[:, 1] * s + d[:, 2] * c
    return center + np.stack([d[:, 0], y, z], 1)


def _rot_y(points: np.ndarray, center: np.ndarray, angle) -> np.ndarray:
    """Rotate about the y axis through ``center``; positive turns +z toward +x."""
    c, s = np.cos(angle), np.sin(angle)
    d = points - center
    x = d[:, 0] * c + d[:, 2] * s
    z = -d[:, 0] * s + d[:, 2] * c
    return center + np.stack([x, d[:, 1], z], 1)


@dataclass
class _Rig:
    """Identity-independent data of one template: index sets and smooth region weights [V]."""

    n: int
    parts: dict[str, np.ndarray]
    w_jaw: np.ndarray
    hinge_near: np.ndarray  # skin vertices whose motion the jaw hinge follows
    lid_up: list[np.ndarray]  # per eye (left, right): upper-lid weight [V]
    lid_lo: list[np.ndarray]
    lid_ex: list[tuple[np.ndarray, np.ndarray]]  # per eye: ex of each vertex, and of the upper margin
    soft: np.ndarray  # [V] 1 on skin, bag, linings (what facial shapes move), 0 on teeth/eyes/tongue/ears
    lips_up: np.ndarray  # upper lip region weight
    lips_lo: np.ndarray  # lower lip region weight
    lip_edge_up: np.ndarray  # 1 at the upper lip edge fading up the lip
    lip_edge_lo: np.ndarray
    mouth: np.ndarray  # lips, corners and the skin around the mouth
    corner: list[np.ndarray]  # per side (left, right)
    side_left: np.ndarray  # smooth 0..1 across the midline (1 on the subject's left)
    cheek_puff: np.ndarray
    cheek_up: list[np.ndarray]
    brow: list[np.ndarray]
    brow_inner: list[np.ndarray]
    brow_outer: list[np.ndarray]
    nose_side: list[np.ndarray]
    under_eye: list[np.ndarray]
    chin: np.ndarray
    roll_up: np.ndarray  # upper vermilion (rolls in)
    roll_lo: np.ndarray
    tongue_t: np.ndarray  # 0 at the back of the tongue, 1 at its tip (tongue vertices only)


_RIG_CACHE: dict[str, _Rig] = {}


def _rig(t: Template) -> _Rig:
    key = t.topology_hash()
    if key not in _RIG_CACHE:
        _RIG_CACHE.clear()
        _RIG_CACHE[key] = _build_rig(t)
    return _RIG_CACHE[key]


def _build_rig(t: Template) -> _Rig:
    a = sculpt.ANATOMY
    p = t.vertices.astype(np.float64)
    x, y, z = p[:, 0], p[:, 1], p[:, 2]
    ax = np.abs(x)
    vp = t.vertex_part
    parts = {part.name.lower(): np.nonzero(vp == int(part))[0] for part in Part}
    skin = vp == int(Part.SKIN)
    bag = vp == int(Part.MOUTH_BAG)
    sockets = (vp == int(Part.EYE_SOCKET_LEFT)) | (vp == int(Part.EYE_SOCKET_RIGHT))
    soft = (skin | bag | sockets).astype(np.float64)

    # --- jaw: angle about the hinge relative to the mouth line, sharper at the lips --------------
    hy, hz = a.jaw_hinge[1], a.jaw_hinge[2]
    theta = np.arctan2(y - hy, z - hz)
    up_ids, lo_ids = t.anchors["lip_upper_vertices"], t.anchors["lip_lower_vertices"]
    line = t.vertices[up_ids].astype(np.float64)
    xs = line[:, 0]
    th_line = np.arctan2(line[:, 1] - hy, line[:, 2] - hz)
    th_split = np.interp(x, xs, th_line)  # beyond the corners: the corners' angle
    width = np.radians(2.0) + np.radians(9.0) * _smooth(0.22, 0.5, ax)
    w_jaw = _smooth(width, -width, theta - th_split)
    # between the lip corners the split is the mouth slit itself: the whole lower lip turns with the
    # jaw, the upper lip stays (a smooth band there would fold the lips over)
    in_mouth = (
        _smooth(a.mouth_half_width + 0.05, a.mouth_half_width - 0.01, ax)
        * (z > 0.45)
        * (np.abs(y - a.stomion_y) < 0.25)
    )
    below = (theta < th_split).astype(np.float64)
    w_jaw = in_mouth * below + (1.0 - in_mouth) * w_jaw
    # under the chin the skin stretches to the throat; behind the ramus and at the joint nothing moves
    ment_y, ment_z = a.menton
    tt = np.clip((ment_z - z) / 0.74, 0.0, 1.0)
    y_border = ment_y + 0.27 * tt**1.1
    w_jaw *= _smooth(y_border - 0.28, y_border - 0.02, y)
    w_jaw *= _smooth(-0.45, 0.08, z)
    w_jaw *= _smooth(0.10, 0.35, np.hypot(y - hy, z - hz))
    w_jaw[up_ids] = 0.0
    w_jaw[lo_ids] = 1.0
    w_jaw[lo_ids[[0, -1]]] = 0.5
    # the mouth bag: its lower half swings with the jaw, the upper half stays
    bag_ids = parts["mouth_bag"]
    side = t.anchors["mouth_bag_side"].astype(np.float64)
    w_jaw[bag_ids] = np.where(side < 0, 1.0, np.where(side > 0, 0.0, 0.5))
    w_jaw[parts["teeth_upper"]] = 0.0
    w_jaw[parts["teeth_lower"]] = 1.0
    w_jaw[parts["tongue"]] = 1.0
    for name in ("eyeball_left", "eyeball_right", "ear_left", "ear_right", "eye_socket_left", "eye_socket_right"):
        w_jaw[parts[name]] = 0.0
    hx = a.jaw_hinge[0]
    cond = np.array([[hx, hy, hz], [-hx, hy, hz]])
    skin_ids = np.nonzero(skin)[0]
    near = []
    for c in cond:
        d = np.linalg.norm(p[skin_ids] - c, axis=1)
        near.append(skin_ids[np.argsort(d)[:40]])
    hinge_near = np.concatenate(near)

    # --- eyelids ------------------------------------------------------------------------------
    lid_up, lid_lo, lid_ex = [], [], []
    under_eye = []
    for k, sname in enumerate(("left", "right")):
        c = t.anchors[f"eye_center_{sname}"].astype(np.float64)
        sgn = 1.0 if k == 0 else -1.0
        ex = (x - c[0]) * sgn  # lateral positive
        ey = y - c[1]
        upm = t.vertices[t.anchors[f"lid_upper_{sname}_vertices"]].astype(np.float64)
        lom = t.vertices[t.anchors[f"lid_lower_{sname}_vertices"]].astype(np.float64)
        ex_up = (upm[:, 0] - c[0]) * sgn
        ex_lo = (lom[:, 0] - c[0]) * sgn
        y_up = np.interp(ex, ex_up, upm[:, 1] - c[1])
        y_lo = np.interp(ex, ex_lo, lom[:, 1] - c[1])
        lo_end, hi_end = ex_up.min(), ex_up.max()
        span = _smooth(lo_end - 0.03, lo_end + 0.025, ex) * _smooth(hi_end + 0.03, hi_end - 0.02, ex)
        near_eye = (np.abs(ex) < 0.25) & (np.abs(ey) < 0.25) & (z > c[2] - 0.05)
        wu = _smooth(y_up + 0.075, y_up + 0.02, ey) * (ey >= y_up - 0.004) * span * near_eye
        wl = _smooth(y_lo - 0.08, y_lo - 0.015, ey) * (ey <= y_lo + 0.004) * span * near_eye
        wu = wu * skin
        wl = wl * skin
        # the linings follow their lid, less with depth
        sock = parts[f"eye_socket_{sname}"]
        lid = t.anchors[f"eye_socket_{sname}_lid"]
        ring = t.anchors[f"eye_socket_{sname}_ring"]
        depth_w = np.clip(1.0 - 0.2 * (ring - 1), 0.0, 1.0) ** 1.5
        wu[sock] = np.where(lid > 0, depth_w, 0.0)
        wl[sock] = np.where(lid < 0, depth_w, 0.0)
        # the margins themselves (corners stay)
        wu[t.anchors[f"lid_upper_{sname}_vertices"][1:-1]] = 1.0
        wl[t.anchors[f"lid_lower_{sname}_vertices"][1:-1]] = 1.0
        for arr in (wu, wl):
            arr[t.anchors[f"lid_upper_{sname}_vertices"][[0, -1]]] = 0.0
        lid_up.append(wu)
        lid_lo.append(wl)
        lid_ex.append((ex, ex_up))
        q = (ex / 0.16) ** 2 + ((ey + 0.13) / 0.07) ** 2
        under_eye.append(_gauss(q) * skin * (z > c[2]))

    # --- mouth --------------------------------------------------------------------------------
    hw = a.mouth_half_width
    ym = sculpt.mouth_line_y(np.clip(x, -hw, hw))
    lip_zone = (z > 0.45) & (skin | bag) & (y < 0.0)
    lat = _smooth(hw + 0.09, hw - 0.02, ax)
    above = y - ym
    upper_side = np.zeros(len(p), bool)
    upper_side[skin_ids] = above[skin_ids] > 0
    upper_side[up_ids] = True
    upper_side[lo_ids] = False
    upper_side[bag_ids] = side > 0
    lips_up = _smooth(0.20, 0.06, above) * lat * lip_zone * upper_side * (above > -0.03)
    lips_lo = _smooth(-0.22, -0.07, above) * lat * lip_zone * ~upper_side * (above < 0.03)
    # bag: only its front rings follow the lips
    bag_ring = t.anchors["mouth_bag_ring"]
    ring_w = np.clip(1.0 - 0.35 * (bag_ring - 1), 0.0, 1.0)
    lips_up[bag_ids] = np.where(side >= 0, ring_w, 0.0) * (side != 0) + 0.5 * ring_w * (side == 0)
    lips_lo[bag_ids] = np.where(side <= 0, ring_w, 0.0) * (side != 0) + 0.5 * ring_w * (side == 0)
    edge_up = _smooth(0.10, 0.0, above) * lips_up
    edge_lo = _smooth(-0.11, 0.0, above) * lips_lo
    edge_up[up_ids] = 1.0
    edge_lo[lo_ids] = 1.0
    mouth = _gauss((x / 0.40) ** 2 + ((y - a.stomion_y) / 0.25) ** 2) * lip_zone
    mouth[bag_ids] = np.clip(1.0 - 0.22 * (bag_ring - 1), 0.0, 1.0)
    corner = []
    for sgn in (1.0, -1.0):
        cx = sgn * hw
        q = ((x - cx) / 0.17) ** 2 + ((y - a.stomion_y - 0.01) / 0.16) ** 2
        w = _gauss(q**1.2) * lip_zone
        w[bag_ids] *= np.clip(1.0 - 0.3 * (bag_ring[:] - 1), 0.0, 1.0)
        corner.append(w)
    side_left = _smooth(-0.05, 0.05, x)
    # cheeks
    q = ((ax - 0.40) / 0.16) ** 2 + ((y + 0.50) / 0.20) ** 2
    cheek_puff = _gauss(q**1.3) * skin * (z > 0.0)
    cheek_up = []
    for sgn in (1.0, -1.0):
        q = ((x - sgn * 0.40) / 0.15) ** 2 + ((y + 0.16) / 0.13) ** 2
        cheek_up.append(_gauss(q) * skin * (z > 0.3))
    # brows
    brow, brow_inner, brow_outer = [], [], []
    for sgn in (1.0, -1.0):
        bx = x * sgn
        hill = _gauss(((y - 0.27) / 0.12) ** 2) * _smooth(-0.06, 0.06, bx) * _smooth(0.70, 0.52, bx)
        fore = _smooth(0.05, 0.26, y) * _smooth(0.75, 0.30, y)  # forehead above, lid skin below
        w = np.maximum(hill, 0.45 * fore * _smooth(-0.06, 0.06, bx) * _smooth(0.7, 0.5, bx)) * skin * (z > 0.2)
        brow.append(w)
        brow_inner.append(w * _smooth(0.38, 0.12, bx))
        brow_outer.append(w * _smooth(0.20, 0.42, bx))
    # nose sides (sneer) and chin
    nose_side = []
    for sgn in (1.0, -1.0):
        q = ((x - sgn * 0.14) / 0.09) ** 2 + ((y + 0.26) / 0.13) ** 2
        nose_side.append(_gauss(q) * skin * (z > 0.6))
    chin = _gauss((x / 0.22) ** 2 + ((y + 0.85) / 0.16) ** 2) * skin * (z > 0.4)
    # lip rolls: the vermilion region of each lip
    roll_up = _smooth(0.11, 0.05, above) * lips_up
    roll_lo = _smooth(-0.12, -0.06, above) * lips_lo
    # tongue: 0 at its back, 1 at the tip
    tg = parts["tongue"]
    tongue_t = np.zeros(len(p))
    tz = z[tg]
    tongue_t[tg] = (tz - tz.min()) / (tz.max() - tz.min())
    return _Rig(
        n=len(p),
        parts=parts,
        w_jaw=w_jaw,
        hinge_near=hinge_near,
        lid_up=lid_up,
        lid_lo=lid_lo,
        lid_ex=lid_ex,
        soft=soft,
        lips_up=lips_up,
        lips_lo=lips_lo,
        lip_edge_up=edge_up,
        lip_edge_lo=edge_lo,
        mouth=mouth,
        corner=corner,
        side_left=side_left,
        cheek_puff=cheek_puff,
        cheek_up=cheek_up,
        brow=brow,
        brow_inner=brow_inner,
        brow_outer=brow_outer,
        nose_side=nose_side,
        under_eye=under_eye,
        chin=chin,
        roll_up=roll_up,
        roll_lo=roll_lo,
        tongue_t=tongue_t,
    )


def _vertex_normals(v: np.ndarray, faces: np.ndarray) -> np.ndarray:
    fn = np.cross(v[faces[:, 1]] - v[faces[:, 0]], v[faces[:, 2]] - v[faces[:, 0]])
    vn = np.zeros_like(v)
    for k in range(3):
        np.add.at(vn, faces[:, k], fn)
    return vn / (np.linalg.norm(vn, axis=1, keepdims=True) + 1e-12)


def blendshape_deltas(template: Template, neutral: np.ndarray) -> np.ndarray:
    """The 52 ARKit blendshape deltas of one identity.

    template: the :class:`Template` (topology, regions); neutral: [V, 3] that identity's vertices
    (``identity_vertices``). Returns [52, V, 3] float32 in ``head360.arkit.ARKIT_NAMES`` order.
    """
    rig = _rig(template)
    n = np.asarray(neutral, np.float64)
    if n.shape != (rig.n, 3):
        raise ValueError(f"neutral must be [{rig.n}, 3] for this template, got {list(n.shape)}")
    out = np.zeros((NUM_BLENDSHAPES, rig.n, 3), np.float64)
    t = template
    a = sculpt.ANATOMY
    tv = t.vertices.astype(np.float64)
    offset = n - tv  # identity displacement

    def put(name, delta):
        out[INDEX[name]] = delta

    # --- eyes -----------------------------------------------------------------------------------
    for k, suffix in enumerate(("Left", "Right")):
        for name, delta in _eye_shapes(t, rig, n, offset, k).items():
            put(f"{name}{suffix}", delta)

    # --- jaw ------------------------------------------------------------------------------------
    hinge = np.array([0.0, a.jaw_hinge[1], a.jaw_hinge[2]]) + offset[rig.hinge_near].mean(0) * np.array([0, 1, 1])
    w = rig.w_jaw
    moving = np.nonzero(w > 0)[0]

    def jaw_rotation(deg, weights=w):
        d = np.zeros_like(n)
        d[moving] = _rot_x(n[moving], hinge, np.radians(deg) * weights[moving]) - n[moving]
        return d

    jaw_open = jaw_rotation(JAW_OPEN_DEG)
    # the condyles also glide forward and down the joint as the mouth opens wide
    jaw_open[:, 1] -= 0.04 * w
    jaw_open[:, 2] += 0.09 * w
    put("jawOpen", jaw_open)
    put("jawForward", np.stack([np.zeros(rig.n), np.zeros(rig.n), 0.045 * w], 1))
    put("jawLeft", np.stack([0.045 * w, np.zeros(rig.n), np.zeros(rig.n)], 1))
    put("jawRight", np.stack([-0.045 * w, np.zeros(rig.n), np.zeros(rig.n)], 1))

    # mouthClose: with the jaw open as far, the lips meet: the lower lip goes 60% of the way back,
    # the upper lip comes 40% of the way down (both spread over the lips)
    full = np.zeros_like(n)
    lips = np.nonzero((rig.lip_edge_up > 0) | (rig.lip_edge_lo > 0))[0]
    full[lips] = _rot_x(n[lips], hinge, np.full(len(lips), np.radians(JAW_OPEN_DEG))) - n[lips]
    full[lips, 1] -= 0.04
    full[lips, 2] += 0.09
    close = -0.6 * rig.lip_edge_lo[:, None] * jaw_open + 0.4 * rig.lip_edge_up[:, None] * full
    put("mouthClose", close)

    # --- mouth ----------------------------------------------------------------------------------
    mouth_c = np.array([0.0, a.stomion_y, n[t.anchors["lip_upper_vertices"], 2].max()])
    lips_all = rig.lips_up + rig.lips_lo
    rel = n - mouth_c
    funnel = np.zeros_like(n)
    funnel[:, 2] += 0.045 * lips_all
    funnel[:, 0] -= 0.30 * rel[:, 0] * lips_all
    funnel[:, 1] += 0.022 * rig.lip_edge_up - 0.024 * rig.lip_edge_lo
    put("mouthFunnel", funnel)
    pucker = np.zeros_like(n)
    pucker[:, 2] += 0.055 * lips_all
    pucker[:, 0] -= 0.38 * rel[:, 0] * lips_all
    pucker[:, 1] -= 0.25 * rel[:, 1] * lips_all * 0.3
    put("mouthPucker", pucker)
    put("mouthLeft", np.stack([0.055 * rig.mouth, np.zeros(rig.n), -0.01 * rig.mouth], 1))
    put("mouthRight", np.stack([-0.055 * rig.mouth, np.zeros(rig.n), -0.01 * rig.mouth], 1))
    for k, suffix in enumerate(("Left", "Right")):
        sgn = 1.0 if k == 0 else -1.0
        cw = rig.corner[k]
        half = rig.side_left if k == 0 else 1.0 - rig.side_left
        cu = rig.cheek_up[k]
        smile = np.stack([sgn * 0.040 * cw, 0.075 * cw + 0.028 * cu, -0.035 * cw + 0.015 * cu], 1)
        put(f"mouthSmile{suffix}", smile)
        put(f"mouthFrown{suffix}", np.stack([sgn * 0.010 * cw, -0.050 * cw, -0.006 * cw], 1))
        put(f"mouthDimple{suffix}", np.stack([sgn * 0.022 * cw, 0.006 * cw, -0.030 * cw], 1))
        put(f"mouthStretch{suffix}", np.stack([sgn * 0.050 * cw, -0.025 * cw, -0.015 * cw], 1))
        press = np.zeros_like(n)
        press[:, 1] += (-0.010 * rig.lip_edge_up + 0.010 * rig.lip_edge_lo) * half
        press[:, 2] -= 0.010 * (rig.lips_up + rig.lips_lo) * half
        put(f"mouthPress{suffix}", press)
        put(
            f"mouthLowerDown{suffix}",
            np.stack([np.zeros(rig.n), -0.050 * rig.lip_edge_lo * half, -0.008 * rig.lip_edge_lo * half], 1),
        )
        put(
            f"mouthUpperUp{suffix}",
            np.stack([np.zeros(rig.n), 0.045 * rig.lip_edge_up * half, -0.006 * rig.lip_edge_up * half], 1),
        )
    # lip rolls: the vermilion turns in over the teeth about an axis at the base of the lip
    lip_front = n[t.anchors["lip_upper_vertices"], 2].max()
    axis_lo = np.array([0.0, a.stomion_y - 0.08, lip_front - 0.06])
    axis_up = np.array([0.0, a.stomion_y + 0.08, lip_front - 0.06])
    roll = np.zeros_like(n)
    ids = np.nonzero(rig.roll_lo > 0)[0]
    roll[ids] = _rot_x(n[ids], axis_lo, -np.radians(50.0) * rig.roll_lo[ids]) - n[ids]
    put("mouthRollLower", roll)
    roll = np.zeros_like(n)
    ids = np.nonzero(rig.roll_up > 0)[0]
    roll[ids] = _rot_x(n[ids], axis_up, np.radians(45.0) * rig.roll_up[ids]) - n[ids]
    put("mouthRollUpper", roll)
    shrug_lo = np.zeros_like(n)
    shrug_lo[:, 1] += 0.030 * np.maximum(rig.lips_lo, rig.chin)
    shrug_lo[:, 2] += 0.008 * rig.lips_lo
    put("mouthShrugLower", shrug_lo)
    put("mouthShrugUpper", np.stack([np.zeros(rig.n), 0.025 * rig.lips_up, 0.006 * rig.lips_up], 1))

    # --- brows, cheeks, nose --------------------------------------------------------------------
    for k, suffix in enumerate(("Left", "Right")):
        sgn = 1.0 if k == 0 else -1.0
        bw = rig.brow[k]
        put(f"browDown{suffix}", np.stack([-sgn * 0.018 * rig.brow_inner[k], -0.045 * bw, 0.008 * bw], 1))
        put(f"browOuterUp{suffix}", np.stack([np.zeros(rig.n), 0.050 * rig.brow_outer[k], np.zeros(rig.n)], 1))
        cu = rig.cheek_up[k]
        put(f"cheekSquint{suffix}", np.stack([np.zeros(rig.n), 0.032 * cu + 0.01 * rig.under_eye[k], 0.010 * cu], 1))
        ns = rig.nose_side[k]
        put(f"noseSneer{suffix}", np.stack([sgn * 0.004 * ns, 0.030 * ns, -0.006 * ns], 1))
    put("browInnerUp", np.stack([np.zeros(rig.n), 0.060 * (rig.brow_inner[0] + rig.brow_inner[1]), np.zeros(rig.n)], 1))
    normals = _vertex_normals(n, t.faces)
    puff = 0.075 * rig.cheek_puff[:, None] * normals
    bag = rig.parts["mouth_bag"]
    puff[bag, 0] += 0.06 * np.sign(n[bag, 0]) * np.clip(np.abs(n[bag, 0]) / 0.3, 0, 1)
    put("cheekPuff", puff)

    # --- tongue ---------------------------------------------------------------------------------
    tongue = rig.parts["tongue"]
    tongue_out = jaw_rotation(9.0)
    tt = rig.tongue_t[tongue]
    push = np.stack([np.zeros(len(tongue)), 0.030 + 0.01 * tt, 0.30 * tt**1.5 + 0.04], 1)
    tongue_out[tongue] += push
    put("tongueOut", tongue_out)
    return out.astype(np.float32)


def _eye_lid_angles(t: Template, n: np.ndarray, c: np.ndarray, k: int):
    """Per-vertex rotation angles (about the eye's horizontal axis) that close the upper and the lower
    lid: the lids meet a third of the way up the opening, column by column along the eye."""
    sname = ("left", "right")[k]
    sgn = 1.0 if k == 0 else -1.0
    up_ids = t.anchors[f"lid_upper_{sname}_vertices"]
    lo_ids = t.anchors[f"lid_lower_{sname}_vertices"]
    # elevation angles of the margins about the eye's horizontal axis, per lateral position
    phi_u = np.arctan2(n[up_ids, 1] - c[1], n[up_ids, 2] - c[2])
    phi_l = np.arctan2(n[lo_ids, 1] - c[1], n[lo_ids, 2] - c[2])
    exu = (n[up_ids, 0] - c[0]) * sgn
    exl = (n[lo_ids, 0] - c[0]) * sgn
    order_u, order_l = np.argsort(exu), np.argsort(exl)
    phi_l_at_u = np.interp(exu, exl[order_l], phi_l[order_l])
    phi_u_at_l = np.interp(exl, exu[order_u], phi_u[order_u])
    close_u = 0.68 * (phi_l_at_u - phi_u)  # meet at phi_l + 0.32 (phi_u - phi_l)
    close_l = 0.32 * (phi_u_at_l - phi_l)
    ex_v = (n[:, 0] - c[0]) * sgn
    return np.interp(ex_v, exu[order_u], close_u[order_u]), np.interp(ex_v, exl[order_l], close_l[order_l])


def _eye_shapes(t: Template, rig: _Rig, n: np.ndarray, offset: np.ndarray, k: int) -> dict[str, np.ndarray]:
    """eyeBlink, eyeLook*, eyeSquint and eyeWide deltas [V, 3] of one eye (k = 0 left, 1 right)."""
    sname = ("left", "right")[k]
    sgn = 1.0 if k == 0 else -1.0
    ball = rig.parts[f"eyeball_{sname}"]
    c = t.anchors[f"eye_center_{sname}"].astype(np.float64) + offset[ball].mean(0)
    ang_u, ang_l = _eye_lid_angles(t, n, c, k)
    wu, wl = rig.lid_up[k], rig.lid_lo[k]
    lids = np.nonzero((wu > 0) | (wl > 0))[0]

    def lid_rotation(angle_up: np.ndarray, angle_lo: np.ndarray) -> np.ndarray:
        """Lid vertices turned about the eyeball centre; angles [V] raise the lid when positive."""
        d = np.zeros_like(n)
        ang = wu[lids] * angle_up[lids] + wl[lids] * angle_lo[lids]
        d[lids] = _rot_x(n[lids], c, -ang) - n[lids]  # _rot_x turns the front down for positive angles
        return d

    def ball_turn(axis: str, angle: float) -> np.ndarray:
        d = np.zeros_like(n)
        q = n[ball]
        turned = _rot_x(q, c, np.full(len(q), angle)) if axis == "x" else _rot_y(q, c, angle)
        d[ball] = turned - q
        return d

    ones = np.ones(len(n))
    vert = np.radians(EYE_TURN_VERTICAL_DEG)
    side = np.radians(EYE_TURN_SIDE_DEG)
    out = {}
    out["eyeBlink"] = lid_rotation(ang_u, ang_l)
    # looking down / up turns the eyeball 25 deg; the upper lid follows about half way, the lower less
    out["eyeLookDown"] = ball_turn("x", vert) + lid_rotation(-0.55 * vert * ones, -0.35 * vert * ones)
    out["eyeLookUp"] = ball_turn("x", -vert) + lid_rotation(0.45 * vert * ones, 0.15 * vert * ones)
    # In: toward the nose (-x for the left eye, +x for the right eye)
    out["eyeLookIn"] = ball_turn("y", -sgn * side)
    out["eyeLookOut"] = ball_turn("y", sgn * side)
    # squint: the lower lid rises a third of the way to closing, the skin below the eye follows up
    squint = lid_rotation(0.08 * ang_u, 0.35 * ang_l)
    squint[:, 1] += 0.018 * rig.under_eye[k]
    squint[:, 2] += 0.006 * rig.under_eye[k]
    out["eyeSquint"] = squint
    wide = lid_rotation(np.radians(12.0) * ones, np.radians(-4.0) * ones)
    wide[:, 1] += 0.012 * rig.brow[k]
    out["eyeWide"] = wide
    return out
