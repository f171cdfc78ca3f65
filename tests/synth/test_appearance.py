"""Appearance: sampling covers people, JSON round trips, and the painted textures put the right colours
where a user looks for them (iris, pupil, sclera, cheek, lips, brows, teeth; hair strands)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from head360.errors import Head360Error
from head360.mesh.template import Part
from head360.synth.appearance import (
    HAIR_COLORS,
    IRIS_COLORS,
    Appearance,
    paint_hair_texture,
    paint_head_texture,
    sample_appearance,
    srgb_to_linear,
)

SIZE = 256  # small atlas: the first paint builds the texel maps (GL bake) once per template and size


def _luminance(rgb) -> float:
    return float(srgb_to_linear(np.asarray(rgb, np.float64)) @ np.array([0.2126, 0.7152, 0.0722]))


def test_a_few_dozen_subjects_cover_skin_tones_hair_and_eye_colours():
    rng = np.random.default_rng(0)
    people = [sample_appearance(rng) for _ in range(64)]
    tones = [p.skin_tone for p in people]
    assert min(tones) < 0.1 and max(tones) > 0.9
    lum = [_luminance(p.skin_color) for p in people]
    assert max(lum) > 4 * min(lum), "skin colours should run from very light to very dark"
    hair = {p.hair for p in people}
    assert {"blond", "platinum", "white", "grey"} <= hair, f"light hair colours missing: {sorted(hair)}"
    assert hair == set(HAIR_COLORS), f"hair colours missing: {sorted(set(HAIR_COLORS) - hair)}"
    assert {p.iris for p in people} == set(IRIS_COLORS)
    assert any(p.stubble > 0 for p in people) and any(p.stubble == 0 for p in people)
    assert any(p.freckles > 0 for p in people)


def test_appearance_json_round_trip_and_errors():
    a = sample_appearance(np.random.default_rng(3))
    text = json.dumps(a.to_json())
    b = Appearance.from_json(json.loads(text))
    assert b == a
    assert Appearance.from_json(text) == a
    broken = a.to_json()
    del broken["iris_color"]
    with pytest.raises(Head360Error, match="iris_color"):
        Appearance.from_json(broken)
    with pytest.raises(Head360Error, match="JSON"):
        Appearance.from_json("{not json")


# ----------------------------------------------------------------------------------------------
# head texture
# ----------------------------------------------------------------------------------------------
def _vertex_uv(template, vertices: np.ndarray) -> np.ndarray:
    """One UV per template vertex (the first face corner that uses it) -> [n, 2]."""
    faces = np.asarray(template.faces).reshape(-1)
    corners = np.asarray(template.faces_uv).reshape(-1)
    first = np.full(len(template.vertices), -1)
    first[faces[::-1]] = corners[::-1]
    return np.asarray(template.uvs)[first[vertices]]


def _texels(image: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """sRGB colours (0..1) of the texels under ``uv`` [n, 2] (row 0 is v = 1)."""
    size = image.shape[0]
    cols = np.clip((uv[:, 0] * size).astype(int), 0, size - 1)
    rows = np.clip(((1.0 - uv[:, 1]) * size).astype(int), 0, size - 1)
    return image[rows, cols].astype(np.float64) / 255.0


def _eye_vertices(template, lo: float, hi: float) -> np.ndarray:
    """Left-eyeball vertices whose angle from the gaze is between lo and hi times the iris angle."""
    a = template.anchors
    centre, gaze = np.asarray(a["eye_center_left"]), np.asarray(a["iris_direction_left"])
    iris_angle = np.arcsin(float(a["iris_radius"]) / float(a["eyeball_radius"]))
    ids = np.nonzero(np.asarray(template.vertex_part) == Part.EYEBALL_LEFT)[0]
    d = np.asarray(template.vertices)[ids] - centre
    ang = np.arccos(np.clip((d / np.linalg.norm(d, axis=1, keepdims=True)) @ gaze, -1, 1))
    sel = ids[(ang >= lo * iris_angle) & (ang <= hi * iris_angle)]
    assert len(sel) > 0
    return sel


def _nearest_skin_vertex(template, point) -> int:
    v = np.asarray(template.vertices)
    skin = np.nonzero(np.asarray(template.vertex_part) == Part.SKIN)[0]
    return int(skin[np.argmin(((v[skin] - np.asarray(point)) ** 2).sum(1))])


@pytest.fixture(scope="module")
def blue_eyed(template):
    """A medium-brown-skinned subject with blue eyes, dark brows, a clean shave."""
    a = sample_appearance(np.random.default_rng(11))
    a = dataclasses.replace(
        a,
        skin_tone=0.6,
        skin_color=(0.62, 0.43, 0.31),
        iris="blue",
        iris_color=(0.33, 0.5, 0.68),
        iris_inner_color=(0.4, 0.55, 0.63),
        brow_color=(0.12, 0.09, 0.07),
        brow_density=1.0,
        lip_color=(0.6, 0.3, 0.3),
        stubble=0.0,
        freckles=0.0,
    )
    return a, paint_head_texture(a, template, SIZE, np.random.default_rng(0))


def test_head_texture_is_an_srgb_image_of_the_asked_size(blue_eyed):
    _, tex = blue_eyed
    assert tex.shape == (SIZE, SIZE, 3) and tex.dtype == np.uint8


def test_iris_pupil_and_sclera(template, blue_eyed):
    a, tex = blue_eyed
    iris = np.median(_texels(tex, _vertex_uv(template, _eye_vertices(template, 0.55, 0.8))), axis=0)
    assert iris[2] > iris[0] + 0.1, f"a blue iris should be blue, got {iris}"
    assert np.abs(iris - np.array(a.iris_color)).max() < 0.2
    pupil = np.median(_texels(tex, _vertex_uv(template, _eye_vertices(template, 0.0, 0.12))), axis=0)
    assert pupil.max() < 0.12, f"the pupil should be black, got {pupil}"
    sclera = np.median(_texels(tex, _vertex_uv(template, _eye_vertices(template, 1.5, 2.2))), axis=0)
    assert sclera.min() > 0.6 and sclera.max() - sclera.min() < 0.15, f"the sclera should be white, got {sclera}"


def test_cheek_is_skin_coloured_lips_redder_brows_darker(template, blue_eyed):
    a, tex = blue_eyed
    anchors = template.anchors
    eye = np.asarray(anchors["eye_center_left"])
    cheek_v = _nearest_skin_vertex(template, eye + np.array([0.1, -0.32, 0.25]))
    cheek = _texels(tex, _vertex_uv(template, np.array([cheek_v])))[0]
    assert np.abs(cheek - np.array(a.skin_color)).max() < 0.12, f"cheek {cheek} vs skin {a.skin_color}"
    lip_line = np.asarray(anchors["lip_lower_line"])
    lip_v = _nearest_skin_vertex(template, lip_line[len(lip_line) // 2] + np.array([0.0, -0.05, 0.01]))
    lip = _texels(tex, _vertex_uv(template, np.array([lip_v])))[0]
    assert lip[0] / lip[1] > 1.2 * cheek[0] / cheek[1], f"lips {lip} should be redder than the cheek {cheek}"
    brow = np.asarray(anchors["brow_left"])
    brow_ids = np.array([_nearest_skin_vertex(template, p) for p in brow[2:8]])
    brows = np.median(_texels(tex, _vertex_uv(template, brow_ids)), axis=0)
    assert brows.mean() < 0.8 * cheek.mean(), f"dark brows {brows} should be darker than the cheek {cheek}"


def test_teeth_are_off_white(template, blue_eyed):
    _, tex = blue_eyed
    v = np.asarray(template.vertices)
    ids = np.nonzero(np.asarray(template.vertex_part) == Part.TEETH_UPPER)[0]
    front = ids[v[ids, 2] > np.percentile(v[ids, 2], 90)]  # the incisors
    teeth = np.median(_texels(tex, _vertex_uv(template, front)), axis=0)
    assert teeth.min() > 0.6 and teeth[0] >= teeth[2], f"teeth should be off-white, got {teeth}"


def test_skin_tone_follows_the_appearance(template, blue_eyed):
    a, _ = blue_eyed
    light = dataclasses.replace(a, skin_tone=0.05, skin_color=(0.88, 0.74, 0.66))
    tex = paint_head_texture(light, template, SIZE, np.random.default_rng(0))
    cheek_v = _nearest_skin_vertex(template, np.asarray(template.anchors["eye_center_left"]) + [0.1, -0.32, 0.25])
    cheek = _texels(tex, _vertex_uv(template, np.array([cheek_v])))[0]
    assert np.abs(cheek - np.array(light.skin_color)).max() < 0.12


def test_head_texture_is_deterministic(template, blue_eyed):
    a, tex = blue_eyed
    again = paint_head_texture(a, template, SIZE, np.random.default_rng(0))
    np.testing.assert_array_equal(again, tex)
    other = paint_head_texture(a, template, SIZE, np.random.default_rng(1))
    assert np.abs(other.astype(int) - tex.astype(int)).max() > 0  # new pores and blotches


# ----------------------------------------------------------------------------------------------
# hair texture
# ----------------------------------------------------------------------------------------------
def _with_hair(name: str) -> Appearance:
    a = sample_appearance(np.random.default_rng(2))
    return dataclasses.replace(a, hair=name, hair_color=tuple(c / 255 for c in HAIR_COLORS[name]), hair_grey=0.0)


def test_hair_texture_colour_strands_and_tiling():
    for name in ("black", "brown", "red", "blond", "platinum", "white"):
        a = _with_hair(name)
        tex = paint_hair_texture(a, "long", 128, np.random.default_rng(0))
        assert tex.shape == (128, 128, 3) and tex.dtype == np.uint8
        mean = srgb_to_linear(tex / 255.0).mean((0, 1))
        want = srgb_to_linear(np.array(a.hair_color))
        assert np.all(np.abs(np.log(mean + 1e-3) - np.log(want + 1e-3)) < 0.35), f"{name}: {mean} vs {want}"
        lum = srgb_to_linear(tex / 255.0) @ np.array([0.2126, 0.7152, 0.0722])
        across = np.abs(np.diff(lum, axis=1)).mean()  # strands: neighbouring columns differ
        along = np.abs(np.diff(lum, axis=0)).mean()  # ... much more than neighbouring rows
        assert across > 1.5 * along, f"{name}: streaks should run along v"
        seam = np.abs(lum[:, 0] - lum[:, -1]).mean()  # u wraps around the head: no seam
        assert seam < 2.0 * across, f"{name}: the texture should tile in u"
    blond = paint_hair_texture(_with_hair("blond"), "bob", 64)
    black = paint_hair_texture(_with_hair("black"), "bob", 64)
    assert blond.mean() > 3 * black.mean()


def test_parted_styles_show_the_scalp_along_the_part():
    a = _with_hair("black")
    tex = paint_hair_texture(a, "side_part", 256, np.random.default_rng(0))
    part = tex[-64:-8, :2].reshape(-1, 3).mean(0) / 255.0  # u = 0, near the root (v small = bottom rows)
    away = tex[-64:-8, 100:140].reshape(-1, 3).mean(0) / 255.0
    assert part.mean() > away.mean() + 0.1, "the part line should show lighter scalp between black hair"


def test_hair_texture_rejects_bad_requests():
    a = _with_hair("brown")
    with pytest.raises(Head360Error):
        paint_hair_texture(a, "none")
    with pytest.raises(Head360Error):
        paint_hair_texture(a, "dreadlocks")
