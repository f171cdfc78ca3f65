"""Hairstyles: every style builds on several identities as a closed shell outside the skin, inside the head
box, leaves the face free, looks different from the other styles and follows the skull it is built on."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hair_checks import boundary_edges, depth_inside_skin, iou, silhouette

from head360.cameras import HEAD_BOX_HALF
from head360.errors import Head360Error
from head360.mesh.template import Part
from head360.synth.hair import HAIRSTYLES, LONG_STYLES, HairMesh, build_hair

STYLES = HAIRSTYLES[1:]
EAR_FREE = ("buzz", "crop", "side_part", "ponytail", "bun")
EAR_COVERED = ("bob", "shoulder", "long", "curly")


@pytest.fixture(scope="module")
def hair(template, identities) -> dict[tuple[str, int], HairMesh]:
    """Every style on every identity, each with its own seed."""
    out = {}
    for i, head in enumerate(identities):
        for k, style in enumerate(STYLES):
            out[(style, i)] = build_hair(style, head, template, np.random.default_rng(100 * i + k))
    return out


@pytest.fixture(scope="module")
def skin_faces(template):
    part = np.asarray(template.vertex_part)[np.asarray(template.faces)]
    outer = np.isin(part, [Part.SKIN, Part.EAR_LEFT, Part.EAR_RIGHT]).all(1)
    return np.asarray(template.faces)[outer]


def test_style_list():
    assert HAIRSTYLES[0] == "none"
    assert len(HAIRSTYLES) >= 9 and len(set(HAIRSTYLES)) == len(HAIRSTYLES)


def test_none_gives_no_hair(template):
    assert build_hair("none", template.vertices, template) is None


def test_unknown_style_and_wrong_vertices_are_user_errors(template):
    with pytest.raises(Head360Error, match="unknown hairstyle"):
        build_hair("mohawk", template.vertices, template)
    with pytest.raises(Head360Error, match="shape"):
        build_hair("buzz", template.vertices[:100], template)


def test_meshes_are_well_formed_closed_shells(hair):
    for (style, i), h in hair.items():
        n = len(h.vertices)
        assert h.vertices.shape == (n, 3) and h.uvs.shape == (n, 2) and h.tangents.shape == (n, 3), style
        assert np.isfinite(h.vertices).all() and h.faces.min() >= 0 and h.faces.max() < n, style
        assert h.uvs.min() >= 0.0 and h.uvs.max() <= 1.0, style
        np.testing.assert_allclose(np.linalg.norm(h.tangents, axis=1), 1.0, atol=1e-4, err_msg=style)
        # closed: after welding equal positions every edge is shared by two triangles
        assert boundary_edges(h.vertices, h.faces) == 0, f"{style} on identity {i} has holes"


def _inside_point(template, head: np.ndarray) -> np.ndarray:
    """A point well inside the skull of ``head``: between the ear canals, 1.5 cm up."""
    tv = np.asarray(template.vertices)
    ears = [head[np.argmin(((tv - template.anchors[n]) ** 2).sum(1))] for n in ("ear_left", "ear_right")]
    return 0.5 * (ears[0] + ears[1]) + np.array([0.0, 0.15, 0.0])


def test_hair_stays_outside_the_skin(hair, identities, skin_faces, template):
    for (style, i), h in hair.items():
        head = np.asarray(identities[i], np.float64)
        depth = depth_inside_skin(h.vertices, head, skin_faces, _inside_point(template, head))
        assert depth.max() < 0.005, f"{style} on identity {i} goes {depth.max():.3f} inside the skin"


def test_hair_stays_in_the_head_box_and_long_hair_is_cut_at_its_bottom(hair):
    for (style, _), h in hair.items():
        assert np.abs(h.vertices).max() <= HEAD_BOX_HALF + 1e-5, style
        lowest = h.vertices[:, 1].min()
        if style in LONG_STYLES:
            assert lowest == pytest.approx(-HEAD_BOX_HALF, abs=1e-4), style
            cut = h.vertices[:, 1] < -HEAD_BOX_HALF + 1e-4
            assert cut.sum() > 50, f"{style}: the hair should be cut flat across the bottom of the box"
        else:
            assert lowest > -HEAD_BOX_HALF + 0.05, style


def _eye_boxes(template, head):
    from head360.synth.hair import head_frame

    fr = head_frame(head, template)
    return fr


def test_no_hair_in_front_of_the_eyes_and_fringes_stop_above_the_brows(hair, identities, template):
    for (style, i), h in hair.items():
        fr = _eye_boxes(template, np.asarray(identities[i], np.float64))
        v = h.vertices
        eye_z = np.asarray(identities[i])[:, 2].max() - 0.6  # well in front of the face surface at the eyes
        for sx in (1.0, -1.0):
            in_front = (
                (np.abs(v[:, 0] - sx * fr.eye_half_span) < 0.16)
                & (np.abs(v[:, 1] - fr.eye_y) < 0.1)
                & (v[:, 2] > eye_z)
            )
            assert not in_front.any(), f"{style} on identity {i} puts hair in front of an eye"
        face = (np.abs(v[:, 0]) < fr.eye_half_span + 0.1) & (v[:, 2] > eye_z)
        if face.any():
            assert v[face, 1].min() > fr.eye_y + 0.08, f"{style}: hair comes below the brows over the face"


def test_ears_are_free_or_covered_as_the_style_says(hair, identities, template):
    part = np.asarray(template.vertex_part)
    for (style, i), h in hair.items():
        head = np.asarray(identities[i])
        for ear_part in (Part.EAR_LEFT, Part.EAR_RIGHT):
            ear = head[part == ear_part]
            lo, hi = ear.min(0), ear.max(0)
            sx = np.sign(ear[:, 0].mean())
            # hair right beside the ear, on the outside
            beside = (
                (h.vertices[:, 1] > lo[1] + 0.1)
                & (h.vertices[:, 1] < hi[1] - 0.1)
                & (h.vertices[:, 2] > lo[2] + 0.05)
                & (h.vertices[:, 2] < hi[2] - 0.05)
                & (h.vertices[:, 0] * sx > np.abs(ear[:, 0]).max() - 0.05)
            )
            if style in EAR_FREE:
                assert not beside.any(), f"{style} covers the ear on identity {i}"
            else:
                assert beside.sum() > 10, f"{style} leaves the ear uncovered on identity {i}"


def _signature(h: HairMesh) -> np.ndarray:
    return np.concatenate([silhouette(h.vertices, view).ravel() for view in ("front", "side", "top")])


def test_styles_look_different(hair):
    sigs = {style: _signature(hair[(style, 0)]) for style in STYLES}
    lows = {style: hair[(style, 0)].vertices[:, 1].min() for style in STYLES}
    for a, b in itertools.combinations(STYLES, 2):
        similar = iou(sigs[a], sigs[b])
        # a user tells two styles apart by their outline or by how far down the hair reaches
        # (the same style with another seed overlaps its outline by 0.96-0.98; a flipped part by ~0.9)
        assert similar < 0.94 or abs(lows[a] - lows[b]) > 0.12, f"{a} and {b} look alike (IoU {similar:.3f})"


def test_hair_follows_the_skull(template, hair):
    """A wider head gets wider hair (by about as much), for every style."""
    head = np.asarray(template.vertices, np.float64)
    wide = head * np.array([1.1, 1.0, 1.0])
    for k, style in enumerate(STYLES):
        a = hair[(style, 0)]
        b = build_hair(style, wide, template, np.random.default_rng(k))
        wa = np.ptp(a.vertices[:, 0])
        wb = np.ptp(b.vertices[:, 0])
        grow = wb - wa
        head_grow = np.ptp(wide[:, 0]) - np.ptp(head[:, 0])
        assert 0.5 * head_grow < grow < 1.6 * head_grow, f"{style}: hair width grew {grow:.3f} for {head_grow:.3f}"


def test_same_seed_same_hair_other_seed_other_hair(template):
    a = build_hair("curly", template.vertices, template, np.random.default_rng(5))
    b = build_hair("curly", template.vertices, template, np.random.default_rng(5))
    c = build_hair("curly", template.vertices, template, np.random.default_rng(6))
    np.testing.assert_array_equal(a.vertices, b.vertices)
    np.testing.assert_array_equal(a.faces, b.faces)
    assert a.vertices.shape != c.vertices.shape or np.abs(a.vertices - c.vertices).max() > 0.01
