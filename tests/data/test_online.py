"""The online dataset renders samples on the fly with the same fields as the on-disk reader."""

import numpy as np
import torch

from head360.cameras import Camera


def test_online_samples_are_random_continuous_mixes_between_rig_views():
    from head360.data.dataset import OnlineHeadDataset

    ds = OnlineHeadDataset(subjects=2, resolution=48, length=50, seed=3, texture_size=256)
    assert len(ds) == 50 and len(ds.subjects) == 2 and all(len(s["shape"]) == 50 for s in ds.subjects)
    draws = [ds.draw(i) for i in range(50)]
    weights = np.stack([d["weights"] for d in draws])
    assert ((weights > 0) & (weights < 1)).any(), "weights should be continuous, not one-hot"
    assert (weights.sum(1) == 0).any() and (np.count_nonzero(weights, axis=1) > 1).any()
    yaws = np.array([d["yaw"] for d in draws])
    assert (yaws % 15 > 0.5).mean() > 0.5, "views should fall between the 72 rig cameras"
    assert ds.draw(7)["yaw"] == draws[7]["yaw"], "an item must be the same every time it is read"

    i = next(k for k, d in enumerate(draws) if d["hair"])
    sample = ds[i]
    assert sample["image"].shape == (3, 48, 48) and sample["alpha"].shape == (1, 48, 48)
    assert sample["label_map"].shape == (48, 48) and sample["camera"].shape == (25,)
    assert torch.allclose(sample["weights"], torch.from_numpy(draws[i]["weights"]))
    cam = Camera.from_label(sample["camera"].numpy())
    yaw = np.degrees(np.arctan2(cam.position[0], cam.position[2])) % 360
    assert abs(yaw - draws[i]["yaw"]) < 1e-3
    # the head is in the picture and the background is the requested white
    alpha = sample["alpha"][0].numpy()
    assert 0.1 < alpha.mean() < 0.9
    assert float(sample["image"][:, alpha < 0.01].min()) > 0.99
    assert sample["hair"] == (ds.specs[draws[i]["subject"]].hairstyle != "none")
