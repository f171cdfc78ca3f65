"""The on-disk dataset reader refuses an index that points outside its folder or has the wrong types,
before any file is opened, with the dataset's one-line error."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from head360.cameras import rig_camera
from head360.errors import Head360Error


def _write_dataset(root: Path, **overrides) -> Path:
    """One subject, one 8x8 image with its label map, and a dataset.json like the writer's."""
    rel = "images/s000/neutral/hair/000.png"
    (root / rel).parent.mkdir(parents=True)
    cv2.imwrite(str(root / rel), np.full((8, 8, 4), 200, np.uint8))
    cv2.imwrite(str(root / rel).replace(".png", ".label.png"), np.zeros((8, 8), np.uint8))
    index = {
        "labels": [[rel, rig_camera(0).label()]],
        "images": [
            {
                "path": rel,
                "subject": "s000",
                "expression": "neutral",
                "hair": True,
                "hairstyle": "bob",
                "view": 0,
                "yaw_deg": 0.0,
                "pitch_deg": -20.0,
            }
        ],  # fmt: skip
        "expressions": ["neutral"],
        "resolution": 8,
        "subjects": [{"id": "s000", "shape": [0.0] * 50}],
        "hairstyles": ["none", "bob"],
        "mesh_model": "mesh_model.safetensors",
        **overrides,
    }
    (root / "dataset.json").write_text(json.dumps(index))
    return root


def test_a_well_formed_dataset_reads(tmp_path):
    from head360.data.dataset import HeadDataset

    ds = HeadDataset(_write_dataset(tmp_path))
    assert len(ds) == 1 and ds[0]["image"].shape == (3, 8, 8)


@pytest.mark.parametrize("outside", ["/etc/passwd", "../elsewhere/000.png", "images/../../x.png", "C:/x.png"])
@pytest.mark.parametrize("field", ["images", "mesh_model"])
def test_paths_outside_the_folder_are_refused_before_opening(tmp_path, outside, field):
    from head360.data.dataset import HeadDataset

    root = _write_dataset(tmp_path / "data")
    index = json.loads((root / "dataset.json").read_text())
    if field == "images":
        index["images"][0]["path"] = outside
        index["labels"][0][0] = outside
    else:
        index["mesh_model"] = outside
    (root / "dataset.json").write_text(json.dumps(index))
    with pytest.raises(Head360Error, match="outside its folder") as e:
        HeadDataset(root)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize(
    "overrides",
    [
        {"images": 5},
        {"images": [None]},
        {"images": [{"path": 3}]},
        {"labels": [[None, [0.0] * 25]]},
        {"labels": 7},
        {"subjects": [None]},
        {"resolution": "big"},
        {
            "images": [
                {
                    "path": "images/s000/neutral/hair/000.png",
                    "subject": "s000",
                    "expression": "smile!",
                    "hair": True,
                    "hairstyle": "bob",
                    "view": 0,
                    "yaw_deg": 0.0,
                    "pitch_deg": 0.0,
                }
            ]
        },
    ],  # fmt: skip
)
def test_malformed_types_give_the_dataset_error(tmp_path, overrides):
    from head360.data.dataset import HeadDataset

    with pytest.raises(Head360Error, match="dataset.json") as e:
        HeadDataset(_write_dataset(tmp_path, **overrides))
    assert "\n" not in str(e.value)


def test_unequal_shape_codes_are_malformed(tmp_path):
    from head360.data.dataset import HeadDataset

    subjects = [{"id": "s000", "shape": [0.0] * 50}, {"id": "s001", "shape": [0.0] * 49}]
    with pytest.raises(Head360Error, match="malformed"):
        HeadDataset(_write_dataset(tmp_path, subjects=subjects))


@pytest.mark.parametrize("damage", ["gray", "empty", "size", "no-label"])
def test_a_damaged_image_gives_the_dataset_error(tmp_path, damage):
    from head360.data.dataset import HeadDataset

    root = _write_dataset(tmp_path)
    image = root / "images/s000/neutral/hair/000.png"
    label = image.with_name("000.label.png")
    if damage == "gray":
        cv2.imwrite(str(image), np.zeros((8, 8), np.uint8))
    elif damage == "empty":
        image.write_bytes(b"")
    elif damage == "size":
        cv2.imwrite(str(label), np.zeros((6, 8), np.uint8))
    else:
        label.unlink()
    ds = HeadDataset(root)
    with pytest.raises(Head360Error, match="damaged"):
        ds[0]
