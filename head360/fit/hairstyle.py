"""Which hairstyle does the photo show? A small classifier trained on the data factory's renders.

Input: the photo's hair mask (from :mod:`head360.fit.segment`) in the normalised crop, downsampled to
``GRID`` x ``GRID`` by area, plus the same for the whole person and the skin (so "where the hair is
relative to the face" is seen, not only its outline), plus column profiles of the silhouette over the
skull (:func:`features_from_masks`). Model: multinomial logistic regression (one linear
layer, weight decay), trained by ``python -m head360.fit.hairstyle`` on masks that the SAME
segmentation produced on factory renders (bald and with every hairstyle, random identities,
expressions, skin tones, hair colours, small pose jitter), so its errors are part of what it learned.
The weights ship in ``assets/hairstyle_classifier.safetensors`` (a few tens of KB).

When a checkpoint's hairstyles are not the factory's (e.g. a test model), :func:`match_silhouettes`
compares the photo's hair mask with each hairstyle's hair as the generator renders it instead.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from head360.assets import ASSETS_DIR
from head360.errors import Head360Error
from head360.fileio import atomic_path

GRID = 24
"""Side of the downsampled masks the classifier sees."""
FORMAT = "head360-hairstyle-classifier/2"
DEFAULT_PATH = ASSETS_DIR / "hairstyle_classifier.safetensors"


MASK_SIZE = 128
"""Side of the standard masks features are computed from (the crop is resized to this first)."""
PROFILE_BINS = 32


def standard_masks(hair: np.ndarray, person: np.ndarray, skin: np.ndarray) -> np.ndarray:
    """Masks [R, R] of the normalised crop -> [3, MASK_SIZE, MASK_SIZE] uint8 (0/1): hair, person, skin."""
    import cv2

    out = [
        cv2.resize(np.asarray(m, np.float32), (MASK_SIZE, MASK_SIZE), interpolation=cv2.INTER_AREA) > 0.5
        for m in (hair, person, skin)
    ]
    return np.stack(out).astype(np.uint8)


def features_from_masks(masks: np.ndarray) -> np.ndarray:
    """[3, MASK_SIZE, MASK_SIZE] -> features [3 * GRID^2 + 1 + 3 * PROFILE_BINS] float32: the masks on a
    coarse grid, the hair's share of the crop, and per column band the top of the hair, the top of
    the person and the hair's thickness above the skin (the silhouette over the skull, where tight
    styles differ)."""
    import cv2

    m = masks.astype(np.float32)
    feats = [cv2.resize(c, (GRID, GRID), interpolation=cv2.INTER_AREA).reshape(-1) for c in m]
    feats.append(np.array([m[0].mean() * 4.0], np.float32))
    n = MASK_SIZE
    rows = np.arange(n, dtype=np.float32)[:, None]
    hair, person, skin = m[0] > 0.5, m[1] > 0.5, m[2] > 0.5

    def top(mask):  # first row of each column (n where the column is empty), / n
        return np.where(mask.any(0), mask.argmax(0), n).astype(np.float32) / n

    skin_top = np.where(skin.any(0), skin.argmax(0), n)
    above = hair & (rows < skin_top[None, :])
    cols = [top(hair), top(person), above.sum(0).astype(np.float32) / n]
    for c in cols:
        feats.append(c.reshape(PROFILE_BINS, -1).mean(1))
    return np.concatenate(feats).astype(np.float32)


def mask_features(hair: np.ndarray, person: np.ndarray, skin: np.ndarray) -> np.ndarray:
    """Masks [R, R] (bool/float, normalised crop) -> the classifier's feature vector."""
    return features_from_masks(standard_masks(hair, person, skin))


def choose_style(scores: dict[str, float], allowed: tuple[str, ...]) -> str | None:
    """The hairstyle among ``allowed`` (e.g. the styles a checkpoint was trained on) from the classifier's
    probabilities ``scores``; None means bald. Hair or no hair is decided first (bald when "none" is
    allowed and at least as likely as all hairstyles together), then the most likely allowed hairstyle:
    a photo whose own style the model never learned (a bob, for a model trained on ponytails and
    shoulder-length hair) gets the closest one, not "none"."""
    styles = [x for x in allowed if x != "none"]
    p_none = scores.get("none", 0.0)
    if not styles or ("none" in allowed and p_none >= 1.0 - p_none):
        return None
    return max(styles, key=lambda x: scores.get(x, 0.0))


@dataclass
class HairstyleClassifier:
    """Linear softmax classifier over :func:`mask_features`. weight [K, D], bias [K], styles: K names
    (the factory's, "none" included), mean/std [D] feature normalisation."""

    styles: tuple[str, ...]
    weight: np.ndarray
    bias: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    info: dict

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """features [D] or [N, D] -> probabilities [K] or [N, K]."""
        x = (np.asarray(features, np.float32) - self.mean) / self.std
        logits = x @ self.weight.T + self.bias
        logits = logits - logits.max(-1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(-1, keepdims=True)

    def predict(self, features: np.ndarray, allowed: tuple[str, ...] | None = None) -> tuple[str, dict[str, float]]:
        """The most likely style (restricted to ``allowed`` names when given) and every style's probability."""
        p = self.probabilities(features)
        scores = {s: float(p[i]) for i, s in enumerate(self.styles)}
        pool = [s for s in self.styles if allowed is None or s in allowed]
        if not pool:
            raise Head360Error("none of the classifier's hairstyles is known to this model")
        return max(pool, key=lambda s: scores[s]), scores

    def save(self, path: str | Path) -> None:
        from safetensors.numpy import save_file

        arrays = {
            "weight": self.weight.astype(np.float16),
            "bias": self.bias.astype(np.float32),
            "mean": self.mean.astype(np.float16),
            "std": self.std.astype(np.float16),
        }
        meta = {
            "format": FORMAT,
            "styles": json.dumps(list(self.styles)),
            "grid": str(GRID),
            "info": json.dumps(self.info),
        }
        with atomic_path(path) as tmp:
            save_file(arrays, str(tmp), metadata=meta)

    @staticmethod
    def load(path: str | Path = DEFAULT_PATH) -> HairstyleClassifier:
        from safetensors import safe_open
        from safetensors.numpy import load_file

        path = Path(path)
        if not path.is_file():
            raise Head360Error(
                f"hairstyle classifier '{path}' not found; train it with `python -m head360.fit.hairstyle`"
            )
        try:
            with safe_open(str(path), framework="numpy") as f:
                meta = f.metadata() or {}
            a = load_file(str(path))
        except Exception as e:  # damaged file
            raise Head360Error(f"'{path}' is not a readable hairstyle classifier ({e}); retrain it") from e
        if meta.get("format") != FORMAT or int(meta.get("grid", 0)) != GRID:
            raise Head360Error(f"'{path}' is not a hairstyle classifier for this version; retrain it")
        return HairstyleClassifier(
            tuple(json.loads(meta["styles"])),
            a["weight"].astype(np.float32),
            a["bias"].astype(np.float32),
            a["mean"].astype(np.float32),
            np.maximum(a["std"].astype(np.float32), 1e-3),
            json.loads(meta.get("info", "{}")),
        )


def match_silhouettes(photo_hair: np.ndarray, style_masks: dict[str, np.ndarray]) -> tuple[str, dict[str, float]]:
    """Soft IoU of the photo's hair mask [R, R] with each style's rendered hair mask (any size; resized
    to the photo's); "none" scores high when the photo shows almost no hair."""
    import cv2

    r = photo_hair.shape[0]
    p = np.asarray(photo_hair, np.float32)
    scores = {}
    for name, m in style_masks.items():
        mm = cv2.resize(np.asarray(m, np.float32), (r, r), interpolation=cv2.INTER_AREA)
        inter = float(np.minimum(p, mm).sum())
        union = float(np.maximum(p, mm).sum())
        scores[name] = inter / union if union > 0 else 0.0
    scores["none"] = max(0.0, 1.0 - 8.0 * float(p.mean()))
    return max(scores, key=scores.get), scores


# --- training data from the factory ---------------------------------------------------------------
def factory_examples(subjects: list[int], seed: int, resolution: int = 256, jitter: bool = True, progress=None):
    """Render factory subjects (each hairstyle in turn, "none" = bald) from the rig front camera with a
    small random pose jitter, segment them like a photo -> (masks [N, 3, MASK_SIZE, MASK_SIZE] uint8
    from :func:`standard_masks`, labels [N] style names)."""
    import head360.gl  # noqa: F401
    from head360.arkit import NUM_BLENDSHAPES
    from head360.cameras import Camera
    from head360.fit.landmarks import LandmarkDetector
    from head360.fit.segment import segment_photo
    from head360.gl.renderer import MeshRenderer
    from head360.labels import Label
    from head360.synth.hair import HAIRSTYLES
    from head360.synth.subject import SubjectAssets, sample_subject

    rng = np.random.default_rng(seed)
    renderer = MeshRenderer(resolution, supersample=2)
    feats, labels = [], []
    with LandmarkDetector() as detector:
        for k, index in enumerate(subjects):
            style = HAIRSTYLES[index % len(HAIRSTYLES)]
            spec = sample_subject(seed, index, hairstyle=None if style == "none" else style)
            assets = SubjectAssets.build(spec, texture_size=256)
            weights = np.zeros(NUM_BLENDSHAPES, np.float32)
            if rng.random() < 0.5:  # a random mild expression
                weights[rng.integers(NUM_BLENDSHAPES)] = rng.uniform(0.2, 0.7)
            renderer.set_scene(assets.render_meshes(weights, hair=style != "none", occlusion=False))
            yaw, pitch = (rng.normal(0, 6), rng.normal(0, 4)) if jitter else (0.0, 0.0)
            out = renderer.render(Camera.orbit(yaw, pitch), outputs=("rgb", "alpha", "label"))
            faces = detector.detect(out.rgb)
            if not faces:
                continue
            seg = segment_photo(out.rgb, faces[0].xy)
            feats.append(standard_masks(seg.hair, seg.person > 0.5, seg.mask(Label.SKIN)))
            labels.append(style)
            if progress:
                truth = float((out.label == int(Label.HAIR)).mean())
                progress(f"{k + 1}/{len(subjects)} {style}: hair {seg.hair.mean():.3f} (render {truth:.3f})")
    renderer.close()
    return np.array(feats, np.uint8), np.array(labels)


def train_classifier(features: np.ndarray, labels: np.ndarray, styles: tuple[str, ...], steps: int = 600,
                     weight_decay: float = 3e-3) -> HairstyleClassifier:  # fmt: skip
    """Multinomial logistic regression (torch, full batch)."""
    import torch

    mean = features.mean(0)
    std = features.std(0) + 0.05
    x = torch.as_tensor((features - mean) / std)
    y = torch.as_tensor([styles.index(s) for s in labels])
    torch.manual_seed(0)
    layer = torch.nn.Linear(x.shape[1], len(styles))
    opt = torch.optim.Adam(layer.parameters(), lr=0.01, weight_decay=0.0)
    for _ in range(steps):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(layer(x), y) + weight_decay * layer.weight.square().sum()
        loss.backward()
        opt.step()
    return HairstyleClassifier(
        styles,
        layer.weight.detach().numpy().copy(),
        layer.bias.detach().numpy().copy(),
        mean,
        std,
        {},
    )


def main(argv: list[str] | None = None) -> int:
    from head360.synth.hair import HAIRSTYLES

    p = argparse.ArgumentParser(prog="python -m head360.fit.hairstyle", description="train the hairstyle classifier")
    p.add_argument("--per-style", type=int, default=24, help="training subjects per hairstyle (default 24)")
    p.add_argument("--held-out", type=int, default=8, help="held-out subjects per hairstyle (default 8)")
    p.add_argument("--out", default=str(DEFAULT_PATH))
    p.add_argument("--seed", type=int, default=4321)
    p.add_argument("--weight-decay", type=float, default=3e-3)
    p.add_argument("--cache", default=None, help="npz of the rendered examples: written once, then reused")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    n = len(HAIRSTYLES)

    def log(msg):
        print(msg, file=sys.stderr)

    cache = Path(args.cache) if args.cache else None
    if cache is not None and cache.is_file():
        with np.load(cache, allow_pickle=False) as z:
            train_m, train_y, test_m, test_y = z["train_masks"], z["train_y"], z["test_masks"], z["test_y"]
    else:
        train_m, train_y = factory_examples(list(range(args.per_style * n)), args.seed, progress=log)
        test_m, test_y = factory_examples(list(range(100000, 100000 + args.held_out * n)), args.seed + 1, progress=log)
        if cache is not None:
            with atomic_path(cache) as tmp:
                np.savez_compressed(tmp, train_masks=train_m, train_y=train_y.astype(str), test_masks=test_m,
                                    test_y=test_y.astype(str))  # fmt: skip
    train_x = np.stack([features_from_masks(m) for m in train_m])
    test_x = np.stack([features_from_masks(m) for m in test_m])
    clf = train_classifier(train_x, train_y, tuple(HAIRSTYLES), weight_decay=args.weight_decay)
    pred = np.array([clf.styles[i] for i in clf.probabilities(test_x).argmax(1)])
    train_pred = np.array([clf.styles[i] for i in clf.probabilities(train_x).argmax(1)])
    per_style = {s: round(float((pred[test_y == s] == s).mean()), 3) for s in HAIRSTYLES if (test_y == s).any()}
    confusion = {s: dict(zip(*np.unique(pred[test_y == s], return_counts=True), strict=True)) for s in HAIRSTYLES}
    clf.info = {
        "train_examples": len(train_y),
        "held_out_examples": len(test_y),
        "train_accuracy": round(float((train_pred == train_y).mean()), 3),
        "held_out_accuracy": round(float((pred == test_y).mean()), 3),
        "held_out_per_style": per_style,
        "weight_decay": args.weight_decay,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    clf.save(args.out)
    print(json.dumps(clf.info, indent=1))
    print(json.dumps({s: {k: int(v) for k, v in c.items()} for s, c in confusion.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
