"""Datasets of multi-view head images, as torch ``Dataset``s with one sample format.

A sample is a dict:

    image     [3, H, W] float32 in [0, 1], composited on ``background``
    alpha     [1, H, W] float32 in [0, 1]
    depth     [1, H, W] float32 camera-space z of the surface (world units; 0 = empty, or unknown when
              ``has_depth`` is False: datasets written before depth was saved)
    has_depth bool
    label_map [H, W] int64 (head360.labels.Label)
    camera    [25] float32 EG3D label (cam2world + normalised intrinsics)
    weights   [52] float32 ARKit blendshape weights
    shape     [50] float32 shape code of the subject in the dataset's mesh model
    subject   int   index into ``dataset.subjects``
    hair      bool  whether the image shows hair
    hairstyle int   index into ``dataset.hairstyles`` ("none" when bald)
    hair_color [3] float32 the hair's mean colour, sRGB 0..1 (all -1 when not known: bald images, or
              subjects that came with no appearance)
    yaw, pitch float degrees

``HeadDataset`` reads a folder written by ``main.py synth``; ``OnlineHeadDataset`` renders samples on
the fly (random continuous blendshape mixes, random views between the 72 rig cameras) from procedural
subjects, so training can run without any data on disk.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from head360.arkit import ARKIT_NAMES, NEUTRAL
from head360.errors import Head360Error


def _weights_of(expression: str) -> np.ndarray:
    from head360.synth.subject import expression_weights

    return expression_weights(expression)


def _to_sample(rgba: np.ndarray, label: np.ndarray, background: float) -> dict:
    rgb = rgba[..., :3].astype(np.float32) / 255.0
    alpha = rgba[..., 3:4].astype(np.float32) / 255.0 if rgba.shape[2] == 4 else np.ones_like(rgb[..., :1])
    # renders are stored composited on white: re-composite on the requested background
    rgb = rgb - (1.0 - alpha) * 1.0 + (1.0 - alpha) * background
    return {
        "image": torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1))).clamp(0, 1),
        "alpha": torch.from_numpy(np.ascontiguousarray(alpha.transpose(2, 0, 1))),
        "label_map": torch.from_numpy(label.astype(np.int64)),
    }


def _inside(rel, what: str, index_path: Path) -> str:
    """``rel`` if it is a relative path that stays inside the dataset folder (no absolute path, no '..'),
    checked before any file is opened."""
    from head360.fileio import stays_inside

    if not isinstance(rel, str) or not rel:
        raise TypeError(f"{what} path must be a non-empty string, got {rel!r}")
    if not stays_inside(rel):
        raise Head360Error(
            f"'{index_path}' names {what} outside its folder ('{rel}'); dataset paths must be relative and stay "
            "inside the dataset folder: regenerate the dataset"
        )
    return rel


def _inconsistent(index_path: Path, record: dict, what: str) -> Head360Error:
    return Head360Error(f"'{index_path}' is inconsistent: '{record['path']}' {what}; regenerate the dataset")


UNKNOWN_HAIR_COLOR = (-1.0, -1.0, -1.0)
"""``hair_color`` of a sample whose hair colour is not known (the model then uses the hairstyle's own)."""


def subject_hair_color(subject: dict) -> tuple[float, float, float] | None:
    """The mean hair colour (sRGB 0..1) of a dataset subject record from its appearance (the factory's),
    or None (no appearance, or one of another kind)."""
    from head360.synth.appearance import Appearance

    try:
        return Appearance.from_json(subject["appearance"]).hair_mean_color()
    except (Head360Error, KeyError, TypeError, ValueError):
        return None


def _record_hair_colors(records: list[dict], subjects: list[dict]) -> list[np.ndarray]:
    """Per record its hair colour [3]: the record's ``hair_color``; for records of datasets made before
    colours were recorded, the wearer's own (a variant then wore the first wearer's colouring)."""
    own = [subject_hair_color(s) for s in subjects]
    first = {}
    for s, c in zip(subjects, own, strict=True):
        first.setdefault(s.get("hairstyle"), c)
    out = []
    for r in records:
        c = r.get("hair_color")
        if c is None and r["hair"]:
            c = first.get(r["hairstyle"]) if r.get("hair_variant") else own[r["subject_index"]]
        c = np.asarray(UNKNOWN_HAIR_COLOR if c is None or not r["hair"] else c, np.float32).reshape(-1)
        if c.shape != (3,) or not np.isfinite(c).all():
            raise ValueError(f"the hair colour of '{r['path']}' is not three numbers")
        out.append(c)
    return out


def _label(cam) -> list[float]:
    """A camera label from dataset.json: 25 finite numbers."""
    cam = [float(x) for x in cam]
    if len(cam) != 25 or not np.isfinite(cam).all():
        raise ValueError(f"a camera label has 25 finite numbers, got {len(cam)}")
    return cam


def _depth_sample(stored: np.ndarray | None, resolution: int) -> dict:
    """A ``<view>.depth.png`` (uint16, or None for a dataset written before depth was saved) -> the
    sample's ``depth`` [1, R, R] camera-space z (0 = empty or unknown) and ``has_depth``."""
    import cv2

    if stored is None or stored.ndim != 2 or stored.dtype != np.uint16:
        return {"depth": torch.zeros(1, resolution, resolution), "has_depth": False}
    from head360.synth.writer import decode_depth

    if stored.shape[0] != resolution:
        stored = cv2.resize(stored, (resolution, resolution), interpolation=cv2.INTER_NEAREST)
    return {"depth": torch.from_numpy(decode_depth(stored)[None]), "has_depth": True}


class HeadDataset(torch.utils.data.Dataset):
    """A dataset folder written by ``main.py synth`` (or ``synth --from-meshes``).

    hair: None (both), True (only images with hair) or False (only bald images);
    subjects / expressions / views: optional filters; resolution: resize on load (area filter).
    """

    def __init__(
        self,
        root: str | Path,
        hair: bool | None = None,
        subjects: list[str] | None = None,
        expressions: list[str] | None = None,
        views: list[int] | None = None,
        resolution: int | None = None,
        background: float = 1.0,
    ):
        self.root = Path(root)
        index_path = self.root / "dataset.json"
        if not self.root.is_dir():
            raise Head360Error(f"dataset folder '{self.root}' does not exist; create one with `python main.py synth`")
        if not index_path.is_file():
            hint = (
                " (an unfinished synth run: rerun the same command to finish it)"
                if (self.root / "synth.json").exists()
                else ""
            )
            raise Head360Error(f"'{self.root}' is not a dataset: no dataset.json{hint}")
        try:
            index = json.loads(index_path.read_text())
            self.expressions: list[str] = list(index["expressions"])
            self.native_resolution = int(index["resolution"])
            self.subjects: list[dict] = list(index["subjects"])
            self.hairstyles: list[str] = list(index["hairstyles"])
            labels = {_inside(rel, "an image", index_path): _label(cam) for rel, cam in index["labels"]}
            records = list(index["images"])
            mesh_model = _inside(index.get("mesh_model", "mesh_model.safetensors"), "the mesh model", index_path)
            subject_index = {s["id"]: i for i, s in enumerate(self.subjects)}
            self._shapes = [np.asarray(s["shape"], np.float32).reshape(-1) for s in self.subjects]
            if len({len(x) for x in self._shapes}) > 1 or not all(np.isfinite(x).all() for x in self._shapes):
                raise ValueError("the subjects' shape codes differ in length or are not finite numbers")
            keep = self._keep(records, labels, subject_index, index_path, (hair, subjects, expressions, views))
            self.hair_colors = _record_hair_colors(keep, self.subjects)
            """Per record its hair colour [3] (``UNKNOWN_HAIR_COLOR`` when not known)."""
        except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError, UnicodeDecodeError) as e:
            raise Head360Error(f"'{index_path}' is malformed ({type(e).__name__}: {e}); regenerate the dataset") from e
        except OSError as e:
            raise Head360Error(f"cannot read '{index_path}' ({e.strerror or e}); check the dataset folder") from e
        self.resolution = int(resolution or self.native_resolution)
        self.background = float(background)
        self.mesh_model_path = self.root / mesh_model
        if not keep:
            raise Head360Error(f"no images in '{self.root}' match the requested hair/subject/expression/view filter")
        self.records = keep

    def _keep(self, records: list, labels: dict, subject_index: dict, index_path: Path, filters) -> list[dict]:
        """The records that pass the filters (hair, subjects, expressions, views), each with its camera
        label and subject index; a record of the wrong types raises TypeError / ValueError / KeyError."""
        hair, subjects, expressions, views = filters
        keep, known_expressions = [], set()
        for r in records:
            _inside(r["path"], "an image", index_path)
            float(r["yaw_deg"]), float(r["pitch_deg"]), int(r["view"])
            if (r["hairstyle"] if r["hair"] else "none") not in self.hairstyles:
                raise _inconsistent(index_path, r, "has an unlisted hairstyle")
            if r["expression"] not in known_expressions:
                try:
                    _weights_of(r["expression"])
                except Head360Error:
                    raise _inconsistent(index_path, r, f"has an unknown expression '{r['expression']}'") from None
                known_expressions.add(r["expression"])
            if hair is not None and bool(r["hair"]) != hair:
                continue
            if subjects is not None and r["subject"] not in subjects:
                continue
            if expressions is not None and r["expression"] not in expressions:
                continue
            if views is not None and int(r["view"]) not in views:
                continue
            if r["path"] not in labels or r["subject"] not in subject_index:
                raise _inconsistent(index_path, r, "has no camera or subject")
            keep.append({**r, "camera": labels[r["path"]], "subject_index": subject_index[r["subject"]]})
        return keep

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int) -> dict:
        import cv2

        r = self.records[i]
        path = self.root / r["path"]
        rgba = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        label = cv2.imread(str(path)[: -len(".png")] + ".label.png", cv2.IMREAD_UNCHANGED)
        if rgba is None or label is None or rgba.ndim != 3 or rgba.shape[2] not in (3, 4) or label.ndim != 2:
            raise Head360Error(f"cannot read '{path}' or its label map: the dataset is damaged; rerun synth")
        if rgba.shape[:2] != label.shape or rgba.shape[0] != rgba.shape[1]:
            raise Head360Error(f"'{path}' and its label map differ in size: the dataset is damaged; rerun synth")
        rgba = cv2.cvtColor(rgba, cv2.COLOR_BGRA2RGBA if rgba.shape[2] == 4 else cv2.COLOR_BGR2RGB)
        if self.resolution != rgba.shape[0]:
            rgba = cv2.resize(rgba, (self.resolution, self.resolution), interpolation=cv2.INTER_AREA)
            label = cv2.resize(label, (self.resolution, self.resolution), interpolation=cv2.INTER_NEAREST)
        sample = _to_sample(rgba, label, self.background)
        depth_path = Path(str(path)[: -len(".png")] + ".depth.png")
        stored = cv2.imread(str(depth_path), cv2.IMREAD_UNCHANGED) if depth_path.is_file() else None
        sample.update(_depth_sample(stored, self.resolution))
        hairstyle = r["hairstyle"] if r["hair"] else "none"
        sample.update(
            camera=torch.tensor(r["camera"], dtype=torch.float32),
            weights=torch.from_numpy(_weights_of(r["expression"])),
            shape=torch.from_numpy(self._shapes[r["subject_index"]]),
            subject=r["subject_index"],
            hair=bool(r["hair"]),
            hairstyle=self.hairstyles.index(hairstyle),
            hair_color=torch.from_numpy(self.hair_colors[i]),
            yaw=float(r["yaw_deg"]),
            pitch=float(r["pitch_deg"]),
            expression=r["expression"],
            view=int(r["view"]),
        )
        return sample


class OnlineHeadDataset(torch.utils.data.Dataset):
    """Renders samples on the fly from ``subjects`` procedural subjects.

    Each item draws (deterministically from ``seed`` and the item index) a subject, a random blendshape
    mix (a named expression, or up to ``max_active`` shapes at random weights), a random camera with
    yaw in [0, 360) and pitch within the rig's range, and hair on or off (``hair``: None for both).
    Renderers are created lazily, so each DataLoader worker has its own OpenGL context.
    """

    def __init__(
        self,
        subjects: int = 8,
        resolution: int = 128,
        length: int = 10_000,
        seed: int = 0,
        hair: bool | None = None,
        max_active: int = 3,
        texture_size: int = 512,
        background: float = 1.0,
    ):
        from head360.cameras import RIG_PITCHES_DEG
        from head360.mesh.fit import project_shape
        from head360.mesh.identity import identity_vertices
        from head360.mesh.store import default_mesh_model
        from head360.mesh.template import build_template
        from head360.synth.hair import HAIRSTYLES
        from head360.synth.subject import sample_subject

        if subjects < 1 or length < 1:
            raise Head360Error("an online dataset needs at least one subject and one item")
        self.resolution, self.length, self.seed = int(resolution), int(length), int(seed)
        self.hair_mode, self.max_active, self.texture_size = hair, int(max_active), int(texture_size)
        self.background = float(background)
        self.pitch_range = (min(RIG_PITCHES_DEG), max(RIG_PITCHES_DEG))
        self.specs = [sample_subject(seed, i) for i in range(subjects)]
        self.hairstyles = list(HAIRSTYLES)
        self.expressions = [NEUTRAL, *ARKIT_NAMES]
        model = default_mesh_model()
        template = build_template()
        self.subjects = []
        for spec in self.specs:
            shape = project_shape(model, identity_vertices(template, np.asarray(spec.identity, np.float32)))
            self.subjects.append({**spec.to_json(), "shape": [float(x) for x in shape]})
        self._shapes = [np.asarray(s["shape"], np.float32) for s in self.subjects]
        self._assets: dict = {}
        self._renderer = None

    def __len__(self) -> int:
        return self.length

    def draw(self, i: int) -> dict:
        """The random choices of item ``i`` (subject, weights, yaw, pitch, hair)."""
        rng = np.random.default_rng([self.seed, int(i), 0x0711])
        subject = int(rng.integers(len(self.specs)))
        weights = np.zeros(len(ARKIT_NAMES), np.float32)
        n_active = int(rng.integers(0, self.max_active + 1))
        if n_active:
            idx = rng.choice(len(ARKIT_NAMES), size=n_active, replace=False)
            weights[idx] = rng.uniform(0.2, 1.0, size=n_active)
        yaw = float(rng.uniform(0.0, 360.0))
        pitch = float(rng.uniform(*self.pitch_range))
        hair = bool(rng.integers(2)) if self.hair_mode is None else bool(self.hair_mode)
        return {"subject": subject, "weights": weights, "yaw": yaw, "pitch": pitch, "hair": hair}

    def __getitem__(self, i: int) -> dict:
        from head360.cameras import Camera
        from head360.gl.renderer import MeshRenderer
        from head360.synth.subject import SubjectAssets

        d = self.draw(i)
        spec = self.specs[d["subject"]]
        if spec.id not in self._assets:
            if len(self._assets) >= 4:  # keep memory bounded: a few subjects per worker
                self._assets.pop(next(iter(self._assets)))
            self._assets[spec.id] = SubjectAssets.build(spec, texture_size=self.texture_size)
        assets = self._assets[spec.id]
        if self._renderer is None:
            self._renderer = MeshRenderer(self.resolution)
        camera = Camera.orbit(d["yaw"], d["pitch"])
        self._renderer.set_scene(assets.render_meshes(d["weights"], hair=d["hair"]))
        out = self._renderer.render(camera)
        sample = _to_sample(np.dstack([out.rgb, out.alpha]), out.label, self.background)
        sample.update(depth=torch.from_numpy(out.depth[None].astype(np.float32)), has_depth=True)
        has_hair = d["hair"] and spec.hairstyle != "none"
        sample.update(
            camera=torch.tensor(camera.label(), dtype=torch.float32),
            weights=torch.from_numpy(d["weights"]),
            shape=torch.from_numpy(self._shapes[d["subject"]]),
            subject=d["subject"],
            hair=has_hair,
            hairstyle=self.hairstyles.index(spec.hairstyle if has_hair else "none"),
            hair_color=torch.tensor(
                subject_hair_color(spec.to_json()) if has_hair else UNKNOWN_HAIR_COLOR, dtype=torch.float32
            ),
            yaw=d["yaw"],
            pitch=d["pitch"],
            expression="mix",
            view=-1,
        )
        return sample


def open_dataset(spec: str, resolution: int | None = None, **kwargs) -> torch.utils.data.Dataset:
    """A folder path, or ``online[:subjects[:resolution]]`` for the render-on-the-fly dataset."""
    if spec.startswith("online"):
        parts = spec.split(":")
        try:
            subjects = int(parts[1]) if len(parts) > 1 and parts[1] else 8
            res = int(parts[2]) if len(parts) > 2 and parts[2] else (resolution or 128)
        except ValueError as e:
            raise Head360Error(f"'{spec}': use online[:SUBJECTS[:RESOLUTION]], e.g. online:8:128") from e
        return OnlineHeadDataset(subjects=subjects, resolution=res, **kwargs)
    return HeadDataset(spec, resolution=resolution, **kwargs)
