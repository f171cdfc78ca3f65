"""Training data: the train / held-out split, checks that a dataset fits a preset, per-stage datasets,
and a resumable, rank-sharded, infinite batch sampler.

The split (chosen at train time, recorded in the run and in every checkpoint) holds out, on a dataset
folder: some rig views (``TrainConfig.holdout_views``), the last few expressions of the dataset's list
(never ``neutral``) and the last few subjects. Training sees only the remaining subjects x expressions x
views; ``main.py eval`` measures the three held-out groups. The online dataset (continuous random
views and expression mixes) has no held-out views or expressions: its split holds out nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from head360.arkit import ARKIT_NAMES, NEUTRAL
from head360.errors import Head360Error


@dataclass
class DataSplit:
    """What training never sees. Subjects are dataset ids, expressions names, views rig indices."""

    holdout_subjects: list[str] = field(default_factory=list)
    holdout_expressions: list[str] = field(default_factory=list)
    holdout_views: list[int] = field(default_factory=list)
    train_subjects: list[str] = field(default_factory=list)
    train_expressions: list[str] = field(default_factory=list)
    online: bool = False

    def to_json(self) -> dict:
        return asdict(self)

    @staticmethod
    def from_json(d: dict) -> DataSplit:
        return DataSplit(
            holdout_subjects=list(d.get("holdout_subjects", [])),
            holdout_expressions=list(d.get("holdout_expressions", [])),
            holdout_views=[int(v) for v in d.get("holdout_views", [])],
            train_subjects=list(d.get("train_subjects", [])),
            train_expressions=list(d.get("train_expressions", [])),
            online=bool(d.get("online", False)),
        )


def choose_split(subject_ids: list[str], expressions: list[str], views: list[int], config, online: bool) -> DataSplit:
    """Hold out the last ``config.holdout_subjects`` subjects (while at least two stay for training),
    the last ``config.holdout_expressions`` non-neutral expressions (while at least two stay) and the
    preset's held-out views that the dataset has (while at least eight views stay)."""
    if online:
        return DataSplit(train_subjects=list(subject_ids), train_expressions=list(expressions), online=True)
    n_sub = min(config.holdout_subjects, max(0, len(subject_ids) - 2))
    held_sub = subject_ids[len(subject_ids) - n_sub :] if n_sub else []
    candidates = [e for e in expressions if e != NEUTRAL]
    n_expr = min(config.holdout_expressions, max(0, len(expressions) - 2), len(candidates))
    held_expr = candidates[len(candidates) - n_expr :] if n_expr else []
    present = sorted(set(views))
    held_views = [v for v in config.holdout_views if v in present]
    if len(present) - len(held_views) < 8:
        held_views = []
    return DataSplit(
        holdout_subjects=list(held_sub),
        holdout_expressions=list(held_expr),
        holdout_views=held_views,
        train_subjects=[s for s in subject_ids if s not in held_sub],
        train_expressions=[e for e in expressions if e not in held_expr],
    )


def largest_power_of_two(n: int) -> int:
    return 1 << (int(n).bit_length() - 1) if n >= 1 else 0


@dataclass
class DatasetInfo:
    """What training needs to know about a dataset before reading any image."""

    spec: str
    online: bool
    subjects: list[dict]
    """``[{"id", "shape": [50], "hairstyle", "hair_color": sRGB or None}, ...]`` in dataset order."""
    expressions: list[str]
    hairstyles: list[str]
    """Dataset hairstyle names, "none" first (sample["hairstyle"] indexes this list)."""
    resolution: int
    views: list[int]
    has_hair: bool
    has_bald: bool
    mesh_model_path: str | None
    hair_colors: dict[str, list[float]]
    """Hairstyle -> the mean hair colour (sRGB 0..1) of the images that wear it (styles whose colour is
    not known are left out): each style's reference colour in a model with hair colour as an input."""

    @property
    def subject_ids(self) -> list[str]:
        return [s["id"] for s in self.subjects]

    def to_json(self) -> dict:
        d = asdict(self)
        d["subjects"] = [{"id": s["id"], "hairstyle": s.get("hairstyle")} for s in self.subjects]
        return d


def inspect_dataset(spec: str) -> DatasetInfo:
    """Read a dataset's index (a folder written by ``main.py synth``) or describe the online dataset
    ``online[:SUBJECTS[:RESOLUTION]]``. Bad folders raise Head360Error."""
    from head360.data.dataset import HeadDataset, open_dataset, subject_hair_color

    if spec.startswith("online"):
        ds = open_dataset(spec, length=1)
        return DatasetInfo(
            spec=spec,
            online=True,
            subjects=list(ds.subjects),
            expressions=list(ds.expressions),
            hairstyles=list(ds.hairstyles),
            resolution=int(ds.resolution),
            views=[],
            has_hair=ds.hair_mode is not False,
            has_bald=ds.hair_mode is not True,
            mesh_model_path=None,
            hair_colors=_mean_colors(
                (s.hairstyle, subject_hair_color(s.to_json())) for s in ds.specs if s.hairstyle != "none"
            ),
        )
    ds = HeadDataset(spec)
    unknown = [e for e in ds.expressions if e != NEUTRAL and e not in ARKIT_NAMES]
    if unknown:
        raise Head360Error(
            f"dataset '{spec}' has expressions this model cannot express ({', '.join(unknown[:3])}): "
            "expressions must be 'neutral' or ARKit blendshape names"
        )
    if not ds.hairstyles or ds.hairstyles[0] != "none":
        raise Head360Error(f"dataset '{spec}' lists no 'none' hairstyle first in dataset.json; regenerate it")
    own = _mean_colors(
        (r["subject"], c)
        for r, c in zip(ds.records, ds.hair_colors, strict=True)
        if r["hair"] and not r.get("hair_variant") and c.min() >= 0
    )  # each subject's colour in its own hair
    return DatasetInfo(
        spec=spec,
        online=False,
        subjects=[
            {
                "id": s["id"],
                "shape": list(s["shape"]),
                "hairstyle": s.get("hairstyle"),
                "hair_color": own.get(s["id"]),
            }
            for s in ds.subjects
        ],
        expressions=list(ds.expressions),
        hairstyles=list(ds.hairstyles),
        resolution=int(ds.native_resolution),
        views=sorted({int(r["view"]) for r in ds.records}),
        has_hair=any(bool(r["hair"]) for r in ds.records),
        has_bald=any(not bool(r["hair"]) for r in ds.records),
        mesh_model_path=str(ds.mesh_model_path),
        hair_colors=_mean_colors(
            (r["hairstyle"], c) for r, c in zip(ds.records, ds.hair_colors, strict=True) if r["hair"] and c.min() >= 0
        ),
    )


def _mean_colors(pairs) -> dict[str, list[float]]:
    """(key, colour [3]) pairs -> key -> mean colour, rounded."""
    sums: dict[str, list] = {}
    for style, color in pairs:
        if color is not None:
            sums.setdefault(style, []).append(np.asarray(color, np.float64))
    return {k: [round(float(x), 4) for x in np.mean(v, axis=0)] for k, v in sums.items()}


def training_resolution(info: DatasetInfo, image_resolution: int, neural_resolution: int, preset: str) -> int:
    """Resolution at which images are compared in training: the model's output resolution, or the
    dataset's (rounded down to a power of two) when that is smaller. Too small a dataset: Head360Error."""
    res = min(image_resolution, largest_power_of_two(info.resolution))
    if res < neural_resolution or res < 16:
        raise Head360Error(
            f"dataset '{info.spec}' has {info.resolution}x{info.resolution} images, too small for the '{preset}' "
            f"preset (it renders {neural_resolution}^2 and outputs {image_resolution}^2): synthesize at "
            f"--resolution {image_resolution} or train a smaller preset"
        )
    return res


def check_dataset_fits(info: DatasetInfo, split: DataSplit) -> None:
    if not split.train_subjects:
        raise Head360Error(f"dataset '{info.spec}' has no subject to train on")
    if not split.online and not any(v not in split.holdout_views for v in info.views):
        raise Head360Error(f"dataset '{info.spec}' has no views left for training after the held-out views")


def stage_dataset(info: DatasetInfo, split: DataSplit, stage: int, resolution: int, length: int = 1_000_000):
    """The torch Dataset a stage trains on: the training split; stage 2 only images with hair."""
    from head360.data.dataset import HeadDataset, open_dataset

    hair = True if stage == 2 else None
    if info.online:
        kwargs = {"hair": hair, "length": length}
        return open_dataset(info.spec, **kwargs)
    train_views = [v for v in info.views if v not in split.holdout_views]
    return HeadDataset(
        info.spec,
        hair=hair,
        subjects=split.train_subjects,
        expressions=split.train_expressions,
        views=train_views,
        resolution=resolution,
    )


class ShardedBatchSampler:
    """Infinite batches of dataset indices for one process of ``world`` processes.

    Each epoch is a permutation seeded by ``(seed, stage, epoch)``, padded to a multiple of
    ``world * batch`` and dealt out rank by rank (like DistributedSampler with drop_last=False), so all
    ranks see disjoint images. ``position`` (epoch, batch within the epoch) is all it takes to continue
    exactly where a run stopped.
    """

    def __init__(self, size: int, batch: int, rank: int, world: int, seed: int, stage: int, start=(0, 0)):
        if size < 1:
            raise Head360Error("the training set of this stage is empty")
        self.size, self.batch, self.rank, self.world = size, batch, rank, world
        self.seed, self.stage = seed, stage
        self.start_epoch, self.start_batch = int(start[0]), int(start[1])
        per_rank = -(-size // world)
        self.batches_per_epoch = max(1, -(-per_rank // batch))

    def epoch_indices(self, epoch: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, self.stage, epoch, 0x7EA1])
        perm = rng.permutation(self.size)
        total = self.batches_per_epoch * self.batch * self.world
        reps = -(-total // self.size)
        perm = np.tile(perm, reps)[:total]
        return perm[self.rank :: self.world]

    def __iter__(self) -> Iterator[list[int]]:
        epoch, first = self.start_epoch, self.start_batch
        while True:
            idx = self.epoch_indices(epoch)
            for b in range(first, self.batches_per_epoch):
                yield idx[b * self.batch : (b + 1) * self.batch].tolist()
            epoch, first = epoch + 1, 0

    def position_after(self, batches: int) -> tuple[int, int]:
        """(epoch, batch) after ``batches`` batches from the start position."""
        flat = self.start_epoch * self.batches_per_epoch + self.start_batch + batches
        return flat // self.batches_per_epoch, flat % self.batches_per_epoch


def _ignore_signals(_worker_id: int) -> None:
    """DataLoader workers leave Ctrl-C / SIGTERM to the training process (which finishes the step,
    saves and shuts them down)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def make_loader(dataset, sampler: ShardedBatchSampler, workers: int, pin_memory: bool):
    """A DataLoader over ``sampler``'s batches. It has its own generator so that creating it never
    draws from the global torch RNG (resumed runs replay the same random numbers)."""
    kwargs = {}
    if workers > 0:
        kwargs.update(worker_init_fn=_ignore_signals, persistent_workers=False, prefetch_factor=4)
    return torch.utils.data.DataLoader(
        dataset,
        batch_sampler=sampler,
        num_workers=workers,
        pin_memory=pin_memory,
        generator=torch.Generator().manual_seed(0),
        **kwargs,
    )
