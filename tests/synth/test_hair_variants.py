"""``synth --hair-variants K``: every subject is also rendered wearing K hairstyles other subjects of the
dataset wear, in a hair colour drawn for the variant, so training sees each hairstyle on several heads
and in several colours; every image with hair records its hair colour."""

import json

import numpy as np
import pytest

from head360.errors import Head360Error
from head360.labels import Label


@pytest.fixture(scope="module")
def variants(tmp_path_factory):
    from head360.synth.writer import DatasetWriter, make_config

    out = tmp_path_factory.mktemp("variants")
    config = make_config("tiny", subjects=3, expressions=("neutral",), hair_variants=1, write_meshes=False)
    DatasetWriter(out, config, progress=False).run()
    return out


def _image(root, rel):
    import cv2

    rgba = cv2.cvtColor(cv2.imread(str(root / rel), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGRA2RGBA)
    label = cv2.imread(str(root / rel).replace(".png", ".label.png"), cv2.IMREAD_UNCHANGED)
    return rgba[..., :3].astype(float), label


def test_each_subject_also_wears_another_subjects_hairstyle(variants):
    index = json.loads((variants / "dataset.json").read_text())
    own = {s["id"]: s["hairstyle"] for s in index["subjects"]}
    extra = [r for r in index["images"] if r.get("hair_variant")]
    assert len(index["images"]) == 3 * 72 * 2 + 3 * 72
    assert len(extra) == 3 * 72
    worn = {}
    for r in extra:
        assert r["hair"] and r["expression"] == "neutral" and (variants / r["path"]).is_file()
        worn.setdefault(r["subject"], set()).add(r["hairstyle"])
    assert set(worn) == set(own)
    for sid, styles in worn.items():
        (style,) = styles
        assert style != own[sid] and style in set(own.values())


def _chromaticity(srgb):
    lin = ((np.asarray(srgb, float) + 0.055) / 1.055) ** 2.4
    return lin / lin.sum(-1, keepdims=True)


def test_a_variant_is_the_same_head_with_the_other_hairstyle_in_its_recorded_colour(variants):
    index = json.loads((variants / "dataset.json").read_text())
    front = [r for r in index["images"] if r["hair"] and r["view"] == 24]
    assert len(front) == 6 and all(len(r["hair_color"]) == 3 for r in front)
    for r in front:
        image, label = _image(variants, r["path"])
        hair = label == int(Label.HAIR)
        assert hair.sum() > 50, r["path"]
        # the rendered hair has the hue of the recorded colour (brightness depends on the lighting)
        shown = _chromaticity(image[hair] / 255.0).mean(0)
        assert np.abs(shown - _chromaticity(r["hair_color"])).max() < 0.1, r["path"]
        if r.get("hair_variant"):  # the face the hair leaves visible is the subject's own, as in its bald image
            bald, bald_label = _image(variants, r["path"].replace(f"hair-{r['hairstyle']}", "bald"))
            skin = (label == int(Label.SKIN)) & (bald_label == int(Label.SKIN))
            assert np.abs(image[skin] - bald[skin]).mean() < 12.0
    own = {s["id"]: s["appearance"]["hair_color"] for s in index["subjects"]}
    variant_colors = [r["hair_color"] for r in front if r.get("hair_variant")]
    assert any(c not in [[round(x, 4) for x in v] for v in own.values()] for c in variant_colors)


def test_the_reader_gives_each_variant_its_hairstyle_and_a_rerun_redoes_only_a_killed_variant(variants):
    from head360.data.dataset import HeadDataset
    from head360.synth.writer import DatasetWriter, make_config

    ds = HeadDataset(variants, hair=True, expressions=["neutral"], views=[24])
    styles = sorted((r["subject"], ds.hairstyles[ds[i]["hairstyle"]]) for i, r in enumerate(ds.records))
    index = json.loads((variants / "dataset.json").read_text())
    expected = sorted((r["subject"], r["hairstyle"]) for r in index["images"] if r["hair"] and r["view"] == 24)
    assert styles == expected and len(styles) == 6
    config = make_config("tiny", subjects=3, expressions=("neutral",), hair_variants=1, write_meshes=False)
    assert DatasetWriter(variants, config, progress=False).run()["rendered_units"] == 0
    marker = next((variants / "images" / "s001" / "neutral").glob("hair-*.done.json"))
    marker.unlink()
    assert DatasetWriter(variants, config, progress=False).run()["rendered_units"] == 1
    assert marker.is_file()
    # a variant rendered by an older factory (its marker names no colour, or another one) is made again
    marker.write_text(json.dumps({"views": 72}))
    assert DatasetWriter(variants, config, progress=False).run()["rendered_units"] == 1
    assert json.loads(marker.read_text())["hair_color"] == next(
        r["hair_color"] for r in json.loads((variants / "dataset.json").read_text())["images"]
        if r.get("hair_variant") and r["subject"] == "s001"
    )  # fmt: skip
    # a reader of an older index (no hair colours recorded) takes the wearer's own, or the first wearer's
    index = json.loads((variants / "dataset.json").read_text())
    for r in index["images"]:
        r.pop("hair_color", None)
    (variants / "dataset.json").write_text(json.dumps(index))
    try:
        old = HeadDataset(variants, hair=True, expressions=["neutral"], views=[24])
        owner = {s["hairstyle"]: s for s in reversed(index["subjects"])}
        subjects = {s["id"]: s for s in index["subjects"]}
        for i, r in enumerate(old.records):
            appearance = (owner[r["hairstyle"]] if r.get("hair_variant") else subjects[r["subject"]])["appearance"]
            assert np.allclose(old[i]["hair_color"].numpy(), _mean_color(appearance), atol=1e-4)
    finally:
        DatasetWriter(variants, config, progress=False).run()  # rewrites the index


def _mean_color(appearance):
    from head360.synth.appearance import Appearance

    return Appearance.from_json(appearance).hair_mean_color()


def test_samples_carry_the_recorded_hair_colour_and_bald_ones_none(variants):
    from head360.data.dataset import UNKNOWN_HAIR_COLOR, HeadDataset

    ds = HeadDataset(variants, expressions=["neutral"], views=[24])
    index = {r["path"]: r for r in json.loads((variants / "dataset.json").read_text())["images"]}
    for i, r in enumerate(ds.records):
        c = ds[i]["hair_color"].numpy()
        expected = index[r["path"]]["hair_color"] if r["hair"] else UNKNOWN_HAIR_COLOR
        assert c.shape == (3,) and np.allclose(c, expected, atol=1e-6)


def test_hair_variants_need_neutral_images_with_hair():
    from head360.synth.writer import make_config

    with pytest.raises(Head360Error, match="neutral expression with hair"):
        make_config("tiny", hair="off", hair_variants=2)
    with pytest.raises(Head360Error, match="neutral expression with hair"):
        make_config("tiny", expressions=("jawOpen",), hair_variants=2)
    with pytest.raises(Head360Error, match="between 0 and 8"):
        make_config("tiny", hair_variants=9)
