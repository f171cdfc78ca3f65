"""Identity space: 50 one-sigma fields that change the head plausibly and keep the parts together."""

from __future__ import annotations

import numpy as np
import pytest
from mesh_helpers import first_hit, visible_fraction

from head360.cameras import Camera
from head360.mesh.identity import IDENTITY_NAMES, NUM_IDENTITY, identity_basis, identity_vertices, sample_identity
from head360.mesh.template import Part

FRONT = Camera.orbit(0.0, 0.0).position


def test_basis_shape_and_scale(template):
    b = identity_basis(template)
    assert b.shape == (NUM_IDENTITY, template.num_vertices, 3) and b.dtype == np.float32
    assert len(set(IDENTITY_NAMES)) == NUM_IDENTITY == 50
    mag = np.abs(b).max((1, 2)) * 100  # mm
    # one sigma of a human variation: noticeable but modest (0.5-8 mm at the most moved vertex)
    assert np.all(mag > 0.5) and np.all(mag < 8.0), dict(zip(IDENTITY_NAMES, np.round(mag, 1), strict=True))
    assert np.allclose(identity_vertices(template, np.zeros(50)), template.vertices)
    s = sample_identity(np.random.default_rng(0))
    assert s.shape == (50,) and abs(float(s.std()) - 1.0) < 0.35
    with pytest.raises(ValueError):
        identity_vertices(template, np.zeros(49))


def _width_at(v, y, band=0.03, front=-1.0):
    sel = (np.abs(v[:, 1] - y) < band) & (v[:, 2] > front)
    return v[sel, 0].max() - v[sel, 0].min()


def test_codes_move_the_silhouette(template):
    skin = template.part_vertices(Part.SKIN)
    v0 = template.vertices[skin]
    cases = (("cheekbones", -0.07, 0.25, 4.0), ("face_width", -0.1, 0.0, 6.0), ("jaw_width", -0.72, 0.0, 6.0),
             ("skull_width", 0.5, -1.0, 10.0))  # fmt: skip
    for name, y, front, min_mm in cases:
        s = np.zeros(50)
        s[IDENTITY_NAMES.index(name)] = 3.0
        wider = _width_at(identity_vertices(template, s)[skin], y, front=front) - _width_at(v0, y, front=front)
        assert wider * 100 > min_mm, (name, wider * 100)
    s = np.zeros(50)
    s[IDENTITY_NAMES.index("face_length")] = 3.0
    menton = np.argmin(np.linalg.norm(template.vertices - template.anchors["menton"], axis=1))
    assert identity_vertices(template, s)[menton, 1] < template.vertices[menton, 1] - 0.08


def _check_parts(template, v):
    """Eyeballs inside their lids, teeth behind the lips, ears on the head."""
    t = template
    r = float(t.anchors["eyeball_radius"])
    skin = t.part_vertices(Part.SKIN)
    for side, part in (("left", Part.EYEBALL_LEFT), ("right", Part.EYEBALL_RIGHT)):
        ball = t.part_vertices(part)
        c = v[ball].mean(0) + (t.anchors[f"eye_center_{side}"] - t.vertices[ball].mean(0))
        assert np.linalg.norm(v[skin] - c, axis=1).min() > r, f"skin enters the {side} eyeball"
        margin = np.concatenate([t.anchors[f"lid_upper_{side}_vertices"], t.anchors[f"lid_lower_{side}_vertices"]])
        assert c[2] < v[margin, 2].min(), f"the {side} eyeball sits in front of its lids"
    ids = np.concatenate([t.part_vertices(Part.TEETH_UPPER), t.part_vertices(Part.TEETH_LOWER)])
    front = ids[t.vertices[ids, 2] > t.vertices[ids, 2].max() - 0.12][::3]
    # only the faces in front of the teeth can hide them: cast against those (and the teeth)
    c = v[t.faces].mean(1)
    near = (
        (np.abs(c[:, 0]) < 0.45) & (np.abs(c[:, 1] - v[front, 1].mean()) < 0.3) & (c[:, 2] > v[front, 2].min() - 0.05)
    )
    teeth = np.isin(t.face_part[near], [Part.TEETH_UPPER, Part.TEETH_LOWER])
    assert visible_fraction(FRONT, v[front], v, t.faces[near], teeth) == 0.0, "teeth show through closed lips"
    # each ear's root stays sunk in the head: rays from the head's centre through the ear's inner
    # vertices leave the head after passing them
    skin_faces = t.face_part == Part.SKIN
    for part in (Part.EAR_LEFT, Part.EAR_RIGHT):
        ear = v[t.part_vertices(part)]
        inner = ear[np.argsort(np.abs(ear[:, 0]))[:40]]
        near = skin_faces & (np.linalg.norm(c - inner.mean(0), axis=1) < 0.4)
        center = np.array([0.0, 0.0, -0.1])
        d = inner - center
        dist = np.linalg.norm(d, axis=1)
        hit, _ = first_hit(np.broadcast_to(center, d.shape), d / dist[:, None], v, t.faces[near])
        assert np.mean(hit > dist) > 0.25, "ear came off"


@pytest.mark.parametrize(
    "name",
    ["face_length", "mouth_height", "chin_projection", "eye_size", "lip_thickness_lower", "mouth_width",
     "lip_thickness_upper", "skull_width", "cheekbones", "ear_angle"],
)  # fmt: skip
@pytest.mark.parametrize("sign", [-3.0, 3.0])
def test_three_sigma_stays_plausible(template, name, sign):
    s = np.zeros(50)
    s[IDENTITY_NAMES.index(name)] = sign
    _check_parts(template, identity_vertices(template, s).astype(np.float64))


def test_every_field_keeps_lids_off_the_eyeballs(template):
    t = template
    r = float(t.anchors["eyeball_radius"])
    skin = t.part_vertices(Part.SKIN)
    b = identity_basis(t).astype(np.float64)
    for k, name in enumerate(IDENTITY_NAMES):
        for sign in (-3.0, 3.0):
            v = t.vertices + sign * b[k]
            for side, part in (("left", Part.EYEBALL_LEFT), ("right", Part.EYEBALL_RIGHT)):
                ball = t.part_vertices(part)
                c = v[ball].mean(0) + (t.anchors[f"eye_center_{side}"] - t.vertices[ball].mean(0))
                assert np.linalg.norm(v[skin] - c, axis=1).min() > r, (name, sign, side)


def test_random_identities_stay_plausible(template):
    rng = np.random.default_rng(7)
    for _ in range(3):
        _check_parts(template, identity_vertices(template, sample_identity(rng, scale=1.5)).astype(np.float64))


def test_rigid_parts(template):
    """Each eyeball and each tooth keeps its shape under every field."""
    b = identity_basis(template).astype(np.float64)
    for part in (Part.EYEBALL_LEFT, Part.EYEBALL_RIGHT):
        ids = template.part_vertices(part)
        spread = b[:, ids] - b[:, ids].mean(1, keepdims=True)
        assert np.abs(spread).max() < 1e-6
    for _, first, count in template.teeth:
        d = b[:, first : first + count]
        assert np.abs(d - d.mean(1, keepdims=True)).max() < 1e-6
