"""The template full head: one fixed topology holding skin, ears, eyeballs, lid linings, mouth bag,
teeth and tongue, with a UV atlas, per-face labels, named anchors and a semantic landmark table.

``build_template()`` is deterministic and cached (the skin is sculpted in :mod:`head360.mesh.sculpt`
and triangulated in :mod:`head360.mesh._skin`; the other parts are built in
:mod:`head360.mesh._parts`). Frame and units as everywhere: +y up, face along +z, +x = subject's
left, 1 = 10 cm.

Parts (``Part``) and labels (``head360.labels.Label``)
------------------------------------------------------
* ``SKIN``: the head surface from the neck cut (bottom of the head box) over the face and scalp:
  open only at the neck cut, the two eye openings (rims = lid margins) and the mouth slit (upper and
  lower lip edges are separate vertex rows that touch in the neutral pose). Labelled ``SKIN`` above
  the jaw line and ``NECK`` below it (under the chin, behind the jaw angle below the ear lobes, the
  nape below the hairline level).
* ``EAR_LEFT`` / ``EAR_RIGHT``: closed shells attached over the sides of the head (``SKIN``).
* ``EYEBALL_LEFT`` / ``EYEBALL_RIGHT``: closed spheres (radius 1.2 cm) with a corneal bulge, looking
  along +z; sclera, iris and pupil are texture regions (``EYES``).
* ``EYE_SOCKET_LEFT`` / ``_RIGHT``: lid linings: from each lid margin a closed pocket wraps the
  eyeball just outside it, so a gap between lid and eyeball never shows the inside of the head
  (``SKIN``; the strip next to the margin is the lid margin itself).
* ``MOUTH_BAG``: inner lip walls, vestibule, palate, cheeks, floor and throat as one bag hanging off
  the lip edges (``MOUTH_INTERIOR``).
* ``TEETH_UPPER`` / ``TEETH_LOWER``: 14 closed teeth per arch, incisors to second molars; their
  roots pierce the bag at the gum line (``MOUTH_INTERIOR``).
* ``TONGUE``: a closed tongue lying in the lower jaw (``MOUTH_INTERIOR``).

UV atlas (v up, one [0, 1]^2 atlas for everything, no overlaps)
--------------------------------------------------------------
* ``[0, 1] x [0.22, 1]`` the skin: an azimuth / elevation map around the head with the seam up the
  back midline (u = 0 and u = 1) and the crown at the top; the face (within ~70 deg of the front,
  between the neck and the brow) gets the highest texel density, the back of the scalp the least.
  The neck band below the jaw continues the map downward.
* bottom band ``v < 0.21``: ear left ``[0.005, 0.195]``, ear right ``[0.205, 0.395]`` (outer
  surface on the left 60% of each square, back surface on the right), eyeball left ``[0.405,
  0.535] x [0.075, 0.205]`` and right ``[0.545, 0.675] x [0.075, 0.205]`` (pupil at the centre, the
  iris edge at 42% of the radius), eye sockets below them ``v in [0.005, 0.065]``, mouth bag
  ``[0.685, 0.835]``, upper teeth ``[0.845, 0.995] x [0.145, 0.205]``, lower teeth
  ``[0.845, 0.995] x [0.075, 0.135]``, tongue ``[0.845, 0.995] x [0.005, 0.065]``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import IntEnum
from functools import lru_cache

import numpy as np

from head360.labels import Label
from head360.mesh import sculpt
from head360.mesh.landmarks import EXTRA_LANDMARKS, LANDMARKS_68


class Part(IntEnum):
    """What each template vertex belongs to (``Template.vertex_part``)."""

    SKIN = 0
    EAR_LEFT = 1
    EAR_RIGHT = 2
    EYEBALL_LEFT = 3
    EYEBALL_RIGHT = 4
    EYE_SOCKET_LEFT = 5
    EYE_SOCKET_RIGHT = 6
    MOUTH_BAG = 7
    TEETH_UPPER = 8
    TEETH_LOWER = 9
    TONGUE = 10


@dataclass(frozen=True)
class Landmark:
    """A semantic landmark: its name, the template vertex that carries it, and the matching index
    of mediapipe's 468-point face mesh."""

    name: str
    vertex: int
    mediapipe: int

    def to_json(self) -> dict:
        return {"name": self.name, "vertex": self.vertex, "mediapipe": self.mediapipe}


@dataclass
class Template:
    """The mean neutral full head.

    vertices:    [V, 3] float32
    faces:       [F, 3] int64, counter-clockwise seen from outside (linings and the mouth bag face
                 their cavity, i.e. the side you look at through the openings)
    uvs:         [T, 2] float32 in [0, 1]^2, v up
    faces_uv:    [F, 3] int64 indices into ``uvs``
    face_label:  [F] uint8 ``head360.labels.Label``
    vertex_part: [V] uint8 ``Part``
    face_part:   [F] uint8 ``Part`` of each face (linings and the mouth bag share the skin's rim
                 vertices, so a face's part is not always its first vertex's part)
    anchors:     named arrays (see :func:`build_template`'s docstring list in ``ANCHOR_DOC``)
    landmarks:   the semantic landmark table (68-point layout + extras)
    """

    vertices: np.ndarray
    faces: np.ndarray
    uvs: np.ndarray
    faces_uv: np.ndarray
    face_label: np.ndarray
    vertex_part: np.ndarray
    face_part: np.ndarray
    anchors: dict[str, np.ndarray]
    landmarks: tuple[Landmark, ...]
    part_ranges: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Part name -> (first vertex, end) for the parts that own a contiguous vertex range."""
    teeth: tuple[tuple[str, int, int], ...] = ()
    """(name, first vertex, vertex count) of every tooth."""

    @property
    def num_vertices(self) -> int:
        return int(self.vertices.shape[0])

    @property
    def num_faces(self) -> int:
        return int(self.faces.shape[0])

    def part_vertices(self, part: Part) -> np.ndarray:
        """Indices of the vertices of one part."""
        return np.nonzero(self.vertex_part == int(part))[0]

    def part_faces(self, part: Part) -> np.ndarray:
        """Indices of the faces of one part."""
        return np.nonzero(self.face_part == int(part))[0]

    def landmark_vertices(self) -> np.ndarray:
        """[L] int64 template vertices of :attr:`landmarks`, in table order."""
        return np.array([lm.vertex for lm in self.landmarks], np.int64)

    def landmark_table(self) -> list[dict]:
        """JSON-able landmark table: ``[{"name", "vertex", "mediapipe"}, ...]``."""
        return [lm.to_json() for lm in self.landmarks]

    def topology_hash(self) -> str:
        """Short fingerprint of the topology (faces, UV faces, parts): a mesh model or dataset built
        from another template can be recognised by it."""
        h = hashlib.sha256()
        for a in (self.faces.astype(np.int64), self.faces_uv.astype(np.int64), self.face_part.astype(np.uint8)):
            h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()[:16]


ANCHOR_DOC = {
    "eye_center_left": "[3] centre of the left (+x) eyeball (and _right)",
    "eyeball_radius": "[] eyeball radius",
    "iris_radius": "[] radius of the iris edge (limbus) seen along the gaze",
    "iris_direction_left": "[3] unit gaze direction of the left eye in the neutral pose (and _right)",
    "lid_upper_left": "[n, 3] upper lid margin, inner -> outer corner (and lower / right)",
    "lid_upper_left_vertices": "[n] int vertex ids of that margin (and lower / right)",
    "brow_left": "[n, 3] eyebrow line on the skin, inner -> outer end (and _right)",
    "nose_tip": "[3] pronasale",
    "nasion": "[3] deepest point of the nose bridge between the eyes",
    "subnasale": "[3] where the columella meets the upper lip",
    "mouth_corner_left": "[3] left lip corner (and _right)",
    "lip_upper_line": "[n, 3] upper lip edge at the mouth line, right -> left corner",
    "lip_lower_line": "[n, 3] lower lip edge, right -> left corner",
    "lip_upper_vertices": "[n] int vertex ids of the upper lip edge (and lip_lower_vertices)",
    "jaw_hinge": "[3] midpoint of the two jaw joints (condyles)",
    "jaw_axis": "[3] unit axis the jaw opens about (+x)",
    "condyle_left": "[3] left jaw joint (and _right)",
    "chin": "[3] most forward point of the chin (pogonion)",
    "menton": "[3] lowest point of the chin",
    "ear_left": "[3] left ear canal opening, behind the tragus (and _right)",
    "ear_top_left": "[3] top of the left ear's helix (and _right)",
    "ear_lobe_left": "[3] bottom of the left ear lobe (and _right)",
    "head_top": "[3] vertex (highest point of the head)",
    "head_back": "[3] most backward point of the skull (opisthocranion)",
    "crown_vertex": "[] int id of the skin vertex at the top of the head",
    "neck_ring_vertices": "[n] int skin vertex ids around the neck cut",
    "scalp_weight": "[V] float32 in [0, 1]: 1 where hair grows (scalp), 0 on face, ears, neck",
    "hairline": "[n, 3] the hairline on the skin, going round the head from the nape (right)",
    "upper_teeth_edge": "[n, 3] biting edge of the upper teeth along the arch, right -> left",
    "lower_teeth_edge": "[n, 3] biting edge of the lower teeth, right -> left",
    "tongue_tip": "[3] front of the tongue",
    "eye_socket_left_lid": "[n] int per lid-lining vertex (part order): +1 upper lid, -1 lower lid, 0 corner",
    "eye_socket_left_ring": "[n] int ring of each lining vertex behind the margin (1 = next to the margin)",
    "mouth_bag_side": "[n] int per mouth-bag vertex (part order): +1 upper half, -1 lower half, 0 corner/throat",
    "mouth_bag_ring": "[n] int ring of each mouth-bag vertex behind the lips (1 = inner lip wall)",
}


# ----------------------------------------------------------------------------------------------
# UV layout
# ----------------------------------------------------------------------------------------------
SKIN_UV_RECT = (0.0, 0.22, 1.0, 0.78)  # (u0, v0, width, height)
ATLAS_RECTS: dict[str, tuple[float, float, float, float]] = {
    "ear_left": (0.005, 0.005, 0.19, 0.20),
    "ear_right": (0.205, 0.005, 0.19, 0.20),
    "eyeball_left": (0.405, 0.075, 0.13, 0.13),
    "eyeball_right": (0.545, 0.075, 0.13, 0.13),
    "eye_socket_left": (0.405, 0.005, 0.13, 0.06),
    "eye_socket_right": (0.545, 0.005, 0.13, 0.06),
    "mouth_bag": (0.685, 0.005, 0.15, 0.20),
    "teeth_upper": (0.845, 0.145, 0.15, 0.06),
    "teeth_lower": (0.845, 0.075, 0.15, 0.06),
    "tongue": (0.845, 0.005, 0.15, 0.06),
}


def _warp_table(x: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Monotone map x -> [0, 1] whose slope is proportional to ``weight`` (tabulated)."""
    c = np.concatenate([[0.0], np.cumsum(0.5 * (weight[1:] + weight[:-1]) * np.diff(x))])
    return x, c / c[-1]


@lru_cache(maxsize=1)
def _skin_uv_tables():
    az = np.linspace(-np.pi, np.pi, 2001)
    w_az = 1.0 + 1.3 * np.exp(-((az / np.radians(62)) ** 4))
    h = np.linspace(np.radians(-110.0), np.radians(90.0), 2001)
    w_h = 1.0 + 1.1 * np.exp(-(((h - np.radians(-12)) / np.radians(42)) ** 4))
    return _warp_table(az, w_az), _warp_table(h, w_h)


def skin_uv(az: np.ndarray, height: np.ndarray) -> np.ndarray:
    """Skin atlas coordinates [N, 2] from azimuth (radians, 0 = front, +pi/2 = left side, +-pi at the
    back seam) and the height parameter (elevation in radians from the head origin; continued
    below the jaw loop for the neck band)."""
    (ax, au), (hx, hv) = _skin_uv_tables()
    u0, v0, w, hgt = SKIN_UV_RECT
    u = np.interp(az, ax, au)
    v = np.interp(height, hx, hv)
    return np.stack([u0 + 0.002 + (w - 0.004) * u, v0 + 0.002 + (hgt - 0.004) * v], 1)


# ----------------------------------------------------------------------------------------------
# building
# ----------------------------------------------------------------------------------------------
def _normalize(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


class _Assembler:
    """Collects pieces into one vertex / face / uv list."""

    def __init__(self):
        self.verts: list[np.ndarray] = []
        self.faces: list[np.ndarray] = []
        self.uvs: list[np.ndarray] = []
        self.faces_uv: list[np.ndarray] = []
        self.labels: list[np.ndarray] = []
        self.parts: list[np.ndarray] = []
        self.face_parts: list[np.ndarray] = []
        self.nv = 0
        self.nt = 0
        self.ranges: dict[str, tuple[int, int]] = {}

    def add(self, name, piece, part: Part, label, rect):
        """Add a piece; vertices in ``piece.shared`` map onto existing skin vertices."""
        local = np.arange(len(piece.vertices))
        own = np.array([i not in piece.shared for i in local])
        index = np.empty(len(local), np.int64)
        index[own] = self.nv + np.arange(own.sum())
        for i, j in piece.shared.items():
            index[i] = j
        first = self.nv
        self.verts.append(piece.vertices[own])
        self.parts.append(np.full(own.sum(), int(part), np.uint8))
        self.nv += int(own.sum())
        self.ranges[name] = (first, self.nv)
        faces = index[piece.faces]
        uv_faces = piece.faces if piece.uv_faces is None else piece.uv_faces
        if piece.shared and self.faces and _runs_like(faces, self.faces[0]):
            faces, uv_faces = faces[:, [0, 2, 1]], uv_faces[:, [0, 2, 1]]
        u0, v0, w, h = rect
        uv = np.stack([u0 + w * piece.uvs[:, 0], v0 + h * piece.uvs[:, 1]], 1)
        self.uvs.append(uv)
        self.faces.append(faces)
        self.faces_uv.append(uv_faces + self.nt)
        self.nt += len(uv)
        lab = np.broadcast_to(np.asarray(label, np.uint8), (len(faces),)).copy()
        self.labels.append(lab)
        self.face_parts.append(np.full(len(faces), int(part), np.uint8))
        return index


def _runs_like(faces: np.ndarray, reference: np.ndarray) -> bool:
    """True if ``faces`` use the edges they share with ``reference`` in the same direction (then they
    must be flipped: a consistently oriented surface uses each shared edge once each way)."""
    n = int(max(faces.max(), reference.max())) + 1

    def directed(f):
        e = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
        return e[:, 0] * n + e[:, 1], e[:, 1] * n + e[:, 0]

    ref, _ = directed(reference)
    own, own_reversed = directed(faces)
    return int(np.isin(own, ref).sum()) > int(np.isin(own_reversed, ref).sum())


def _skin_uvs(skin, el_loop_of_col) -> tuple[np.ndarray, np.ndarray]:
    """Per-face-corner UVs for the skin with a clean seam at the back and the crown handled."""
    from head360.mesh._skin import _sph

    az, el = _sph(skin.directions)
    height = el.copy()
    band = skin.band_rows  # [rows, n_loop] vertex ids of the neck band (row 0 = loop)
    loop = band[0]
    az[band] = np.broadcast_to(az[loop][None], band.shape)
    # below the loop: arc length down the neck, converted to the elevation scale near the loop
    for r in range(1, band.shape[0]):
        seg = np.linalg.norm(skin.vertices[band[r]] - skin.vertices[band[r - 1]], axis=1)
        height[band[r]] = height[band[r - 1]] - seg / 1.25
    faces = skin.faces
    fa = az[faces]  # [F, 3]
    x_sign = np.sign(skin.vertices[:, 0])
    seam = np.union1d(skin.seam, band[:, 0])  # up the back midline, neck band included
    on_seam = np.isin(faces, seam)
    is_crown = faces == skin.crown
    special = on_seam | is_crown
    # faces that touch the back seam take its u = 0 or u = 1 copy by the side their other corners
    # lie on; faces of the neck band that wrap past azimuth +-pi are unwrapped to the + side
    n_other = np.maximum((~special).sum(1), 1)
    side = np.where(((x_sign[faces] * ~special).sum(1) / n_other) >= 0, 1.0, -1.0)
    fa = np.where(on_seam, side[:, None] * np.pi, fa)
    wrap = (~on_seam.any(1)) & ((fa.max(1) - fa.min(1)) > np.pi)
    fa = np.where(wrap[:, None] & (fa < 0), fa + 2 * np.pi, fa)
    # the crown: take the mean azimuth of its face's other corners
    other = np.where(~is_crown, fa, 0).sum(1) / np.maximum((~is_crown).sum(1), 1)
    fa = np.where(is_crown, other[:, None], fa)
    fh = height[faces]
    corner_uv = skin_uv(fa.reshape(-1), fh.reshape(-1)).reshape(-1, 3, 2)
    # dedupe corner UVs into a table
    flat = corner_uv.reshape(-1, 2)
    key = np.round(flat * 2**22).astype(np.int64)
    _, first, inverse = np.unique(key[:, 0] * 2**24 + key[:, 1], return_index=True, return_inverse=True)
    return flat[first], inverse.reshape(-1, 3)


def _neck_faces(centroids: np.ndarray) -> np.ndarray:
    """True where a skin face centroid [F, 3] lies below the jaw line / in the neck."""
    x, y, z = centroids[:, 0], centroids[:, 1], centroids[:, 2]
    ment_y, ment_z = sculpt.ANATOMY.menton
    t = np.clip((ment_z - z) / 0.74, 0.0, 1.0)
    y_jaw = ment_y + 0.27 * t**1.1 - 0.03 * np.exp(-((x / 0.12) ** 2)) * (1 - t) - 0.015
    # behind the jaw angle the boundary climbs the back of the ramus to the ear lobe, then runs
    # round the back of the head at the nape
    behind = np.clip((-0.02 - z) / 0.10, 0.0, 1.0)
    y_line = (1 - behind) * y_jaw + behind * np.where(np.abs(x) > 0.35, -0.44, -0.50)
    return y < y_line


def _surface_point(target: np.ndarray) -> np.ndarray:
    """The skin point on the ray from the head origin through ``target`` [N, 3]."""
    d = _normalize(np.atleast_2d(target))
    return sculpt.skin_radius(d)[:, None] * d


def _front_point(xy: np.ndarray) -> np.ndarray:
    """The skin point seen from the front at ``xy`` [N, 2] (on the face)."""
    xy = np.atleast_2d(np.asarray(xy, np.float64))
    return _surface_point(np.stack([xy[:, 0], xy[:, 1], sculpt.face_depth(xy[:, 0], xy[:, 1])], 1))


def _nearest(vertices: np.ndarray, candidates: np.ndarray, points: np.ndarray) -> np.ndarray:
    from scipy.spatial import cKDTree

    tree = cKDTree(vertices[candidates])
    _, i = tree.query(np.atleast_2d(points))
    return candidates[i]


def hairline_height(az: np.ndarray) -> np.ndarray:
    """Height of the hairline on the skin at azimuth ``az`` (radians, 0 = front): high on the
    forehead, receding at the temples, down in front of the ears, over them, down to the nape."""
    a = np.abs(np.degrees(az))
    keys = np.array([0, 25, 42, 62, 74, 84, 96, 110, 128, 150, 180])
    vals = np.array([0.70, 0.67, 0.58, 0.42, 0.12, 0.05, 0.26, 0.20, -0.05, -0.40, -0.50])
    return np.interp(a, keys, vals)


def _landmark_targets(skin, verts_all) -> dict[str, tuple[str, np.ndarray | int]]:
    """Where each landmark sits: ('vertex', id) or ('surface', target point)."""
    a = sculpt.ANATOMY
    out: dict[str, tuple[str, np.ndarray | int]] = {}

    def both(name_l, name_r, p, kind="surface"):
        p = np.asarray(p, np.float64)
        out[name_l] = (kind, p)
        out[name_r] = (kind, p * np.array([-1.0, 1.0, 1.0])[: len(p)])

    # jaw contour (left side from the ear down to the chin), mirrored for the right
    jaw_left = [
        (0.655, 0.04, 0.16), (0.665, -0.12, 0.16), (0.655, -0.28, 0.15), (0.60, -0.52, 0.15),
        (0.54, -0.70, 0.17), (0.45, -0.83, 0.32), (0.32, -0.95, 0.50), (0.17, -1.02, 0.63),
    ]  # fmt: skip
    for k, p in enumerate(jaw_left):
        name_left = "jaw_16_left_ear" if k == 0 else f"jaw_{16 - k:02d}"
        name_right = "jaw_00_right_ear" if k == 0 else f"jaw_{k:02d}"
        both(name_left, name_right, p)
    out["jaw_08_chin"] = ("surface", np.array([0.0, -1.05, 0.70]))
    # brows: left brow inner -> outer
    brow = [(0.10, 0.245), (0.20, 0.285), (0.31, 0.30), (0.42, 0.29), (0.51, 0.255)]
    names_l = ["brow_left_inner", "brow_left_3", "brow_left_mid", "brow_left_1", "brow_left_outer"]
    names_r = ["brow_right_inner", "brow_right_3", "brow_right_mid", "brow_right_1", "brow_right_outer"]
    for (bx, by), nl, nr in zip(brow, names_l, names_r, strict=True):
        both(nl, nr, (bx, by), "front")
    # nose
    for name, (yy, xx) in {
        "nose_bridge_nasion": (0.125, 0),
        "nose_bridge_1": (0.0, 0),
        "nose_bridge_2": (-0.15, 0),
    }.items():
        out[name] = ("front", np.array([xx, yy]))
    out["nose_tip"] = ("front", np.array([0.0, a.nose_tip[0]]))
    out["subnasale"] = ("front", np.array([0.0, a.subnasale[0] + 0.004]))
    both("nose_base_left_ala", "nose_base_right_ala", (0.175, -0.33), "front")
    both("nose_base_left", "nose_base_right", (0.07, -0.35), "front")
    # eyes: corners and lid thirds
    for k, side in enumerate(("left", "right")):
        up, lo = skin.eye_upper[k], skin.eye_lower[k]
        n = len(up)
        out[f"eye_{side}_inner_corner"] = ("vertex", int(up[0]))
        out[f"eye_{side}_outer_corner"] = ("vertex", int(up[-1]))
        out[f"eye_{side}_upper_inner"] = ("vertex", int(up[round((n - 1) / 3)]))
        out[f"eye_{side}_upper_outer"] = ("vertex", int(up[round(2 * (n - 1) / 3)]))
        out[f"eye_{side}_lower_inner"] = ("vertex", int(lo[round((n - 1) / 3)]))
        out[f"eye_{side}_lower_outer"] = ("vertex", int(lo[round(2 * (n - 1) / 3)]))
    # mouth: inner contour on the slit rows, outer contour on the vermilion borders
    up, lo = skin.mouth_upper, skin.mouth_lower
    xs_up, xs_lo = verts_all[up, 0], verts_all[lo, 0]

    def row_at(row, xs, x):
        return int(row[np.argmin(np.abs(xs - x))])

    out["mouth_right_inner_corner"] = ("vertex", int(up[0]))
    out["mouth_left_inner_corner"] = ("vertex", int(up[-1]))
    out["lip_upper_inner_mid"] = ("vertex", row_at(up, xs_up, 0.0))
    out["lip_upper_inner_1"] = ("vertex", row_at(up, xs_up, -0.085))
    out["lip_upper_inner_3"] = ("vertex", row_at(up, xs_up, 0.085))
    out["lip_lower_inner_mid"] = ("vertex", row_at(lo, xs_lo, 0.0))
    out["lip_lower_inner_1"] = ("vertex", row_at(lo, xs_lo, -0.085))
    out["lip_lower_inner_3"] = ("vertex", row_at(lo, xs_lo, 0.085))
    ym = float(sculpt.mouth_line_y(np.array([0.0]))[0])
    both("mouth_left_corner", "mouth_right_corner", (a.mouth_half_width + 0.012, ym + 0.004), "front")
    out["lip_upper_outer_mid"] = ("front", np.array([0.0, ym + 0.083]))
    both("lip_upper_outer_4", "lip_upper_outer_2", (0.065, ym + 0.088), "front")
    both("lip_upper_outer_5", "lip_upper_outer_1", (0.150, ym + 0.060), "front")
    out["lip_lower_outer_mid"] = ("front", np.array([0.0, ym - 0.100]))
    both("lip_lower_outer_4", "lip_lower_outer_2", (0.080, ym - 0.095), "front")
    both("lip_lower_outer_5", "lip_lower_outer_1", (0.160, ym - 0.066), "front")
    # extras
    out["forehead_center"] = ("front", np.array([0.0, 0.50]))
    both("cheek_left", "cheek_right", (0.40, -0.28), "front")
    return out


@lru_cache(maxsize=1)
def build_template() -> Template:
    """Build (once per process) the mean neutral template head; see the module docstring."""
    from head360.mesh import _parts
    from head360.mesh._skin import build_skin

    skin = build_skin()
    asm = _Assembler()

    # --- skin -----------------------------------------------------------------------------------
    skin_uv_table, skin_faces_uv = _skin_uvs(skin, None)
    asm.verts.append(skin.vertices)
    asm.parts.append(np.full(len(skin.vertices), int(Part.SKIN), np.uint8))
    asm.nv = len(skin.vertices)
    asm.ranges["skin"] = (0, asm.nv)
    asm.faces.append(skin.faces)
    asm.uvs.append(skin_uv_table)
    asm.faces_uv.append(skin_faces_uv)
    asm.nt = len(skin_uv_table)
    cen = skin.vertices[skin.faces].mean(1)
    asm.labels.append(np.where(_neck_faces(cen), Label.NECK, Label.SKIN).astype(np.uint8))
    asm.face_parts.append(np.full(len(skin.faces), int(Part.SKIN), np.uint8))

    # --- ears -----------------------------------------------------------------------------------
    asm.add("ear_left", _parts.build_ear(1.0), Part.EAR_LEFT, Label.SKIN, ATLAS_RECTS["ear_left"])
    asm.add("ear_right", _parts.build_ear(-1.0), Part.EAR_RIGHT, Label.SKIN, ATLAS_RECTS["ear_right"])

    # --- eyes -----------------------------------------------------------------------------------
    centers = sculpt.eye_centers()
    for k, side in enumerate(("left", "right")):
        piece = _parts.build_eyeball(centers[k])
        part = Part.EYEBALL_LEFT if k == 0 else Part.EYEBALL_RIGHT
        asm.add(f"eyeball_{side}", piece, part, Label.EYES, ATLAS_RECTS[f"eyeball_{side}"])
    structure: dict[str, np.ndarray] = {}
    for k, side in enumerate(("left", "right")):
        loop = np.concatenate([skin.eye_upper[k], skin.eye_lower[k][1:-1][::-1]])
        piece = _parts.build_eye_socket(centers[k], loop, skin.vertices)
        part = Part.EYE_SOCKET_LEFT if k == 0 else Part.EYE_SOCKET_RIGHT
        asm.add(f"eye_socket_{side}", piece, part, Label.SKIN, ATLAS_RECTS[f"eye_socket_{side}"])
        # which lid each lining vertex hangs from (+1 upper, -1 lower, 0 corners / back) and its ring
        n, n_up = len(loop), len(skin.eye_upper[k])
        n_own = len(piece.vertices) - n
        pos = np.arange(n_own) % n
        lid = np.where((pos > 0) & (pos < n_up - 1), 1, np.where(pos >= n_up, -1, 0))
        lid[-1] = 0
        ring = np.arange(n_own) // n + 1
        structure[f"eye_socket_{side}_lid"] = lid.astype(np.int64)
        structure[f"eye_socket_{side}_ring"] = ring.astype(np.int64)

    # --- mouth ----------------------------------------------------------------------------------
    bag, bag_side = _parts.build_mouth_bag(skin.vertices, skin.mouth_upper, skin.mouth_lower)
    bag_index = asm.add("mouth_bag", bag, Part.MOUTH_BAG, Label.MOUTH_INTERIOR, ATLAS_RECTS["mouth_bag"])
    n_loop = len(skin.mouth_upper) + len(skin.mouth_lower) - 2
    own = np.array([i not in bag.shared for i in range(len(bag.vertices))])
    structure["mouth_bag_side"] = bag_side[own].astype(np.int64)
    structure["mouth_bag_ring"] = (np.nonzero(own)[0] // n_loop).astype(np.int64)
    upper_arch, lower_arch = _parts.dental_arches()
    up_piece, up_index = _parts.build_teeth(upper_arch, _parts.UPPER_TEETH, upper=True)
    lo_piece, lo_index = _parts.build_teeth(lower_arch, _parts.LOWER_TEETH, upper=False)
    first_up = asm.nv
    asm.add("teeth_upper", up_piece, Part.TEETH_UPPER, Label.MOUTH_INTERIOR, ATLAS_RECTS["teeth_upper"])
    first_lo = asm.nv
    asm.add("teeth_lower", lo_piece, Part.TEETH_LOWER, Label.MOUTH_INTERIOR, ATLAS_RECTS["teeth_lower"])
    tongue = _parts.build_tongue(lower_arch)
    asm.add("tongue", tongue, Part.TONGUE, Label.MOUTH_INTERIOR, ATLAS_RECTS["tongue"])

    vertices = np.concatenate(asm.verts).astype(np.float32)
    faces = np.concatenate(asm.faces).astype(np.int64)
    uvs = np.concatenate(asm.uvs).astype(np.float32)
    faces_uv = np.concatenate(asm.faces_uv).astype(np.int64)
    face_label = np.concatenate(asm.labels).astype(np.uint8)
    vertex_part = np.concatenate(asm.parts).astype(np.uint8)
    face_part = np.concatenate(asm.face_parts).astype(np.uint8)
    teeth = tuple((n, first_up + f, c) for n, f, c in up_index) + tuple((n, first_lo + f, c) for n, f, c in lo_index)

    anchors = _anchors(skin, vertices, vertex_part, asm.ranges, bag_index, bag_side, upper_arch, lower_arch)
    anchors.update(structure)
    landmarks = _landmarks(skin, vertices)
    return Template(
        vertices=vertices,
        faces=faces,
        uvs=uvs,
        faces_uv=faces_uv,
        face_label=face_label,
        vertex_part=vertex_part,
        face_part=face_part,
        anchors=anchors,
        landmarks=landmarks,
        part_ranges=dict(asm.ranges),
        teeth=teeth,
    )


def _landmarks(skin, vertices) -> tuple[Landmark, ...]:
    targets = _landmark_targets(skin, vertices)
    table = LANDMARKS_68 + EXTRA_LANDMARKS
    kinds = [targets[name][0] for name, _ in table]
    front = [k for k, kind in enumerate(kinds) if kind == "front"]
    surface = [k for k, kind in enumerate(kinds) if kind == "surface"]
    points = np.zeros((len(table), 3))
    if front:
        points[front] = _front_point(np.stack([targets[table[k][0]][1] for k in front]))
    if surface:
        points[surface] = _surface_point(np.stack([targets[table[k][0]][1] for k in surface]))
    nearest = _nearest(vertices, np.arange(len(skin.vertices)), points)
    out = []
    for k, (name, mp_index) in enumerate(table):
        vid = int(targets[name][1]) if kinds[k] == "vertex" else int(nearest[k])
        out.append(Landmark(name, vid, mp_index))
    return tuple(out)


def _anchors(skin, vertices, vertex_part, ranges, bag_index, bag_side, upper_arch, lower_arch) -> dict[str, np.ndarray]:
    from head360.mesh import _parts
    from head360.mesh._skin import _sph

    a = sculpt.ANATOMY
    anc: dict[str, np.ndarray] = {}
    f32 = np.float32
    centers = sculpt.eye_centers()
    for k, side in enumerate(("left", "right")):
        anc[f"eye_center_{side}"] = centers[k].astype(f32)
        anc[f"iris_direction_{side}"] = np.array([0.0, 0.0, 1.0], f32)
        for lid, ids in (("upper", skin.eye_upper[k]), ("lower", skin.eye_lower[k])):
            anc[f"lid_{lid}_{side}"] = vertices[ids].astype(f32)
            anc[f"lid_{lid}_{side}_vertices"] = np.asarray(ids, np.int64)
    anc["eyeball_radius"] = np.array(a.eyeball_radius, f32)
    anc["iris_radius"] = np.array(a.eyeball_radius * np.sin(_parts.LIMBUS_ANGLE), f32)
    bx = np.linspace(0.09, 0.53, 12)
    by = 0.245 + 0.06 * np.clip(np.sin(np.pi * (bx - 0.09) / 0.44), 0, 1) ** 0.8 - 0.02 * (bx - 0.09) / 0.44
    brow = _front_point(np.stack([bx, by], 1))
    anc["brow_left"] = brow.astype(f32)
    anc["brow_right"] = (brow * np.array([-1, 1, 1])).astype(f32)
    skin_ids = np.arange(len(skin.vertices))
    front = skin_ids[np.abs(skin.vertices[:, 0]) < 0.02]
    anc["nose_tip"] = vertices[front[np.argmax(skin.vertices[front, 2])]].astype(f32)
    nasion, subnasale, chin = _front_point(np.array([[0.0, 0.125], [0.0, a.subnasale[0]], [0.0, -0.93]]))
    anc["nasion"] = nasion.astype(f32)
    anc["subnasale"] = subnasale.astype(f32)
    up, lo = skin.mouth_upper, skin.mouth_lower
    anc["mouth_corner_left"] = vertices[up[-1]].astype(f32)
    anc["mouth_corner_right"] = vertices[up[0]].astype(f32)
    anc["lip_upper_line"] = vertices[up].astype(f32)
    anc["lip_lower_line"] = vertices[lo].astype(f32)
    anc["lip_upper_vertices"] = np.asarray(up, np.int64)
    anc["lip_lower_vertices"] = np.asarray(lo, np.int64)
    hx, hy, hz = a.jaw_hinge
    anc["condyle_left"] = np.array([hx, hy, hz], f32)
    anc["condyle_right"] = np.array([-hx, hy, hz], f32)
    anc["jaw_hinge"] = np.array([0.0, hy, hz], f32)
    anc["jaw_axis"] = np.array([1.0, 0.0, 0.0], f32)
    anc["chin"] = chin.astype(f32)
    mid = skin_ids[(np.abs(skin.vertices[:, 0]) < 0.03) & (skin.vertices[:, 2] > 0.55) & (skin.vertices[:, 1] > -1.3)]
    anc["menton"] = vertices[mid[np.argmin(skin.vertices[mid, 1])]].astype(f32)
    for side, part in (("left", Part.EAR_LEFT), ("right", Part.EAR_RIGHT)):
        ev = vertices[vertex_part == int(part)]
        sx = 1.0 if side == "left" else -1.0
        tx, ty, tz = a.tragus
        anc[f"ear_{side}"] = np.array([sx * (tx - 0.01), ty, tz - 0.05], f32)
        anc[f"ear_top_{side}"] = ev[np.argmax(ev[:, 1])].astype(f32)
        anc[f"ear_lobe_{side}"] = ev[np.argmin(ev[:, 1])].astype(f32)
    anc["head_top"] = vertices[skin.crown].astype(f32)
    anc["head_back"] = vertices[skin_ids[np.argmin(skin.vertices[:, 2])]].astype(f32)
    anc["crown_vertex"] = np.array(skin.crown, np.int64)
    anc["neck_ring_vertices"] = np.asarray(skin.neck_ring, np.int64)
    # scalp: above the hairline, on the skin only
    az, _ = _sph(_normalize(vertices.astype(np.float64)))
    hl = hairline_height(az)
    w = np.clip((vertices[:, 1] - hl + 0.03) / 0.06, 0.0, 1.0)
    w = w * w * (3 - 2 * w)
    w[vertex_part != int(Part.SKIN)] = 0.0
    anc["scalp_weight"] = w.astype(f32)
    az_line = np.linspace(-np.pi, np.pi, 181)
    hh = hairline_height(az_line)
    # the skin point at that height and azimuth: sample elevations, interpolate the crossing
    els = np.linspace(-1.2, 1.5, 64)
    grid = np.stack(np.broadcast_arrays(az_line[:, None], els[None]), -1).reshape(-1, 2)
    d = np.stack(
        [np.cos(grid[:, 1]) * np.sin(grid[:, 0]), np.sin(grid[:, 1]), np.cos(grid[:, 1]) * np.cos(grid[:, 0])], 1
    )
    yy = (sculpt.skin_radius(d)[:, None] * d)[:, 1].reshape(len(az_line), len(els))
    lo_el = np.array([np.interp(h, row, els) for h, row in zip(hh, yy, strict=True)])
    d = np.stack([np.cos(lo_el) * np.sin(az_line), np.sin(lo_el), np.cos(lo_el) * np.cos(az_line)], 1)
    anc["hairline"] = (sculpt.skin_radius(d)[:, None] * d).astype(f32)
    t = np.linspace(-1.45, 1.45, 41)
    for name, arch in (("upper_teeth_edge", upper_arch), ("lower_teeth_edge", lower_arch)):
        p = arch.point(np.abs(t))
        p[:, 0] *= np.sign(t)
        anc[name] = p.astype(f32)
    tg = vertices[vertex_part == int(Part.TONGUE)]
    anc["tongue_tip"] = tg[np.argmax(tg[:, 2])].astype(f32)
    return anc
