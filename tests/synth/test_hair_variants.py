"""``synth --hair-variants K``: every subject is also rendered wearing K hairstyles other subjects of the
dataset wear, coloured as their first wearer, so training sees each hairstyle on several heads."""

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


def test_a_variant_is_the_same_head_with_the_other_hairstyle_in_its_wearers_colour(variants):
    index = json.loads((variants / "dataset.json").read_text())
    own = {s["id"]: s["hairstyle"] for s in index["subjects"]}
    wearer = {style: sid for sid, style in reversed(list(own.items()))}  # the first subject wearing it
    front = [r for r in index["images"] if r.get("hair_variant") and r["view"] == 24]
    for r in front:
        donor = wearer[r["hairstyle"]]
        swapped, swapped_label = _image(variants, r["path"])
        bald, bald_label = _image(variants, r["path"].replace(f"hair-{r['hairstyle']}", "bald"))
        donors, donor_label = _image(variants, f"images/{donor}/neutral/hair/24.png")
        hair = swapped_label == int(Label.HAIR)
        assert hair.sum() > 50, r["path"]
        # the face the hair leaves visible is the subject's own, as in its bald image
        skin = (swapped_label == int(Label.SKIN)) & (bald_label == int(Label.SKIN))
        assert np.abs(swapped[skin] - bald[skin]).mean() < 12.0
        # the hair has the colour of the hairstyle's first wearer
        donor_hair = donors[donor_label == int(Label.HAIR)].mean(0)
        assert np.abs(swapped[hair].mean(0) - donor_hair).max() < 30.0, (r["path"], donor)


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


def test_hair_variants_need_neutral_images_with_hair():
    from head360.synth.writer import make_config

    with pytest.raises(Head360Error, match="neutral expression with hair"):
        make_config("tiny", hair="off", hair_variants=2)
    with pytest.raises(Head360Error, match="neutral expression with hair"):
        make_config("tiny", expressions=("jawOpen",), hair_variants=2)
    with pytest.raises(Head360Error, match="between 0 and 8"):
        make_config("tiny", hair_variants=9)
