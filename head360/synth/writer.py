"""The dataset writer behind ``python main.py synth``.

Layout of a dataset folder ``DIR`` (see docs/DESIGN.md)::

    DIR/dataset.json                       written last: its presence means the dataset is complete
    DIR/synth.json                         the settings that made it (a rerun must use the same ones)
    DIR/mesh_model.safetensors             the bilinear mesh model V(s, b)
    DIR/images/<subject>/<expression>/<hair|bald>/<view>.png        RGBA, view = 00..71
    DIR/images/<subject>/<expression>/<hair|bald>/<view>.label.png  label map (head360.labels.Label)
    DIR/images/<subject>/<expression>/<hair|bald>/<view>.depth.png  depth: uint16 camera-space z in
                                                                    units of 1/DEPTH_SCALE (0 = empty)
    DIR/images/<subject>/<expression>/done.json                     marker: this unit is complete
    DIR/images/<subject>/neutral/hair-<style>/<view>.png            with --hair-variants: the subject
    DIR/images/<subject>/neutral/hair-<style>.done.json             wearing another hairstyle (+ marker)
    DIR/meshes/<subject>/<expression>.obj  (+ head.png / hair.obj / hair.png / materials)

Every file is written under a temporary name and renamed, and a unit's marker is written after all its
files, so a killed run never leaves something that a rerun (which skips finished units) or the reader
would take for complete.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from head360.arkit import ARKIT_NAMES, NEUTRAL, canonical_name
from head360.cameras import NUM_VIEWS, rig_camera, rig_views
from head360.errors import Head360Error
from head360.fileio import ensure_writable_dir, write_json

HAIR_MODES = {"on": ("hair",), "off": ("bald",), "both": ("hair", "bald")}
MAX_SUBJECTS = 10_000
MAX_HAIR_VARIANTS = 8
DEPTH_SCALE = 5000.0
"""Depth maps store camera-space z (world units, along the view axis) times this, as uint16: 0.2 µm
steps up to 13 units (the rig cameras sit 7 units from the head)."""


@dataclass(frozen=True)
class SynthConfig:
    subjects: int
    """number of procedural subjects"""
    expressions: tuple[str, ...]
    """dataset expressions: 'neutral' and/or ARKit names (each rendered at weight 1)"""
    resolution: int
    """image edge in pixels"""
    hair: str = "both"
    """'on' (images with hair), 'off' (bald), 'both' (hair detachment needs both)"""
    seed: int = 0
    texture_size: int = 1024
    """edge of the painted head texture"""
    write_meshes: bool = True
    """write per-(subject, expression) OBJ meshes"""
    hair_variants: int = 0
    """Hair variants: each subject is also rendered (neutral expression, every view) wearing this many
    other hairstyles of the dataset, each coloured as the first subject who wears it. A hairstyle's
    planes then see several heads, so a hair swap learns to change only the hair."""

    def validate(self) -> None:
        if not 1 <= self.subjects <= MAX_SUBJECTS:
            raise Head360Error(f"--subjects must be between 1 and {MAX_SUBJECTS}, got {self.subjects}")
        if not 16 <= self.resolution <= 2048:
            raise Head360Error(f"--resolution must be between 16 and 2048 pixels, got {self.resolution}")
        if self.hair not in HAIR_MODES:
            raise Head360Error(f"--hair must be one of on, off, both; got '{self.hair}'")
        if not self.expressions:
            raise Head360Error("--expressions names no expression; use 'all' or a comma-separated list")
        if not 0 <= self.hair_variants <= MAX_HAIR_VARIANTS:
            raise Head360Error(f"--hair-variants must be between 0 and {MAX_HAIR_VARIANTS}, got {self.hair_variants}")
        if self.hair_variants and (NEUTRAL not in self.expressions or "hair" not in HAIR_MODES[self.hair]):
            raise Head360Error(
                "--hair-variants renders the neutral expression with hair: keep 'neutral' in --expressions "
                "and --hair on or both"
            )


ALL_EXPRESSIONS = (NEUTRAL, *ARKIT_NAMES)

PRESETS: dict[str, SynthConfig] = {
    # The paper's SynHead100 layout: 100 subjects x (neutral + 52) x 72 views at 512^2.
    "paper": SynthConfig(subjects=100, expressions=ALL_EXPRESSIONS, resolution=512),
    # What the bundled demo model trains on: 12 subjects x 14 expressions x 72 views x (hair, bald) at the
    # demo model's output resolution (24,192 images; about 20 minutes here with --workers 2).
    "demo": SynthConfig(
        subjects=12,
        expressions=(NEUTRAL, "jawOpen", "eyeBlinkLeft", "eyeBlinkRight", "mouthSmileLeft", "mouthSmileRight",
                     "browInnerUp", "browDownLeft", "mouthPucker", "mouthFunnel", "eyeLookOutLeft",
                     "eyeLookUpRight", "tongueOut", "cheekPuff"),
        resolution=256,
        texture_size=1024,
    ),
    # For tests: two subjects, three expressions, small images.
    "tiny": SynthConfig(
        subjects=2, expressions=(NEUTRAL, "jawOpen", "eyeBlinkLeft"), resolution=64, texture_size=256,
        write_meshes=True,
    ),
}  # fmt: skip


def parse_expressions(text: str) -> tuple[str, ...]:
    """'all' or a comma-separated list of 'neutral' / ARKit names (any capitalisation)."""
    if text.strip().lower() == "all":
        return ALL_EXPRESSIONS
    out: list[str] = []
    for raw in text.split(","):
        raw = raw.strip()
        if not raw:
            continue
        name = NEUTRAL if raw.lower() == NEUTRAL else canonical_name(raw)
        if name not in out:
            out.append(name)
    return tuple(out)


def make_config(preset: str = "demo", **overrides) -> SynthConfig:
    if preset not in PRESETS:
        raise Head360Error(f"unknown preset '{preset}'; choose one of {', '.join(PRESETS)}")
    cfg = replace(PRESETS[preset], **{k: v for k, v in overrides.items() if v is not None})
    cfg.validate()
    return cfg


def unit_dir(root: Path, subject: str, expression: str) -> Path:
    return root / "images" / subject / expression


def image_relpath(subject: str, expression: str, hair: str, view: int) -> str:
    return f"images/{subject}/{expression}/{hair}/{view:02d}.png"


def label_relpath(image_rel: str) -> str:
    return image_rel[: -len(".png")] + ".label.png"


def depth_relpath(image_rel: str) -> str:
    return image_rel[: -len(".png")] + ".depth.png"


def encode_depth(depth: np.ndarray) -> np.ndarray:
    """[H, W] float camera-space z (0 = empty) -> [H, W] uint16 as stored in ``<view>.depth.png``."""
    return np.clip(np.round(depth * DEPTH_SCALE), 0, 65535).astype(np.uint16)


def decode_depth(stored: np.ndarray) -> np.ndarray:
    """Inverse of :func:`encode_depth`: [H, W] uint16 -> float32 camera-space z (0 = empty)."""
    return stored.astype(np.float32) / DEPTH_SCALE


class DatasetWriter:
    """Renders a dataset folder; resumable (finished units are skipped)."""

    def __init__(self, root: str | Path, config: SynthConfig, progress: bool = True):
        config.validate()
        self.root = ensure_writable_dir(root)
        self.config = config
        self.progress = progress
        self._check_settings()

    # --- settings ----------------------------------------------------------------------------
    def _settings(self) -> dict:
        d = asdict(self.config)
        d["expressions"] = list(self.config.expressions)
        if not d["hair_variants"]:
            del d["hair_variants"]  # folders made before hair variants existed resume as they are
        return {"format": "head360-dataset/1", **d}

    def _check_settings(self) -> None:
        path = self.root / "synth.json"
        mine = self._settings()
        if path.exists():
            try:
                theirs = json.loads(path.read_text())
            except (OSError, json.JSONDecodeError):
                theirs = None
            if theirs != mine:
                diff = [k for k in mine if theirs is None or theirs.get(k) != mine[k]]
                raise Head360Error(
                    f"'{self.root}' holds a dataset made with different settings ({', '.join(diff)}); "
                    "rerun with the same settings to resume, or choose another --out"
                )
        else:
            write_json(path, mine, indent=2)

    # --- main loop ---------------------------------------------------------------------------
    def subjects(self) -> list:
        """The subjects to render: objects with ``id``, ``hairstyle``, ``build()`` (-> something with
        ``render_meshes(weights, hair)``), and ``record(mesh_model)`` (their dataset.json entry)."""
        from head360.synth.subject import sample_subject

        return [
            _ProceduralSubject(sample_subject(self.config.seed, i), self.config.texture_size)
            for i in range(self.config.subjects)
        ]

    def mesh_model(self, subjects: list):
        """The bilinear mesh model stored with the dataset (reused when a resumed run finds it)."""
        from head360.mesh.model import MeshModel

        path = self.root / "mesh_model.safetensors"
        if path.is_file():
            try:
                return MeshModel.load(path)
            except Head360Error:
                pass  # damaged by an earlier crash: write it again
        model = self._make_mesh_model(subjects)
        model.save(path)
        return model

    def _make_mesh_model(self, subjects: list):
        from head360.mesh.store import default_mesh_model

        return default_mesh_model()

    def run(self, workers: int = 1) -> dict:
        """Render everything that is missing, then write dataset.json. Returns a summary.

        workers > 1 renders subjects in that many processes (each with its own OpenGL context)."""
        subjects = self.subjects()
        mesh_model = self.mesh_model(subjects)
        todo = self.units_to_render(subjects)
        total_images = NUM_VIEWS * sum(1 if v else len(_hair_modes(self.config.hair, s)) for s, _, v in todo)
        bar = _progress(total_images, self.progress, "rendering")
        t0 = time.perf_counter()
        pending = list(dict.fromkeys(s.id for s, _, _ in todo))
        workers = max(1, min(int(workers), len(pending)))
        if workers == 1:
            self.render_units(todo, bar.update)
        else:
            self._render_in_processes(pending, workers, bar)
        bar.close()
        seconds = time.perf_counter() - t0
        index = self._write_index(subjects, mesh_model)
        return {
            "root": str(self.root),
            "images": len(index["images"]),
            "rendered_units": len(todo),
            "seconds": round(seconds, 2),
        }

    def hair_variant_plan(self, subjects: list) -> dict[str, list[tuple[str, dict]]]:
        """With ``hair_variants`` K: subject id -> K (hairstyle, appearance JSON colouring it) that the
        subject is also rendered wearing. The hairstyles are those other subjects of the dataset wear
        (drawn per subject from the seed); each variant's hair colour is drawn from ``HAIR_COLORS`` (the
        wearer's own appearance otherwise, for the scalp), so a hairstyle is seen in several colours and
        a model can learn hair colour apart from hairstyle."""
        from head360.synth.appearance import HAIR_COLORS, Appearance

        k = self.config.hair_variants
        if not k:
            return {}
        if not all(hasattr(s, "spec") for s in subjects):
            raise Head360Error("--hair-variants works with procedural subjects, not with --from-meshes")
        worn = list(dict.fromkeys(s.hairstyle for s in subjects if s.hairstyle != "none"))
        colors = sorted(HAIR_COLORS)
        plan = {}
        for i, s in enumerate(subjects):
            others = [style for style in worn if style != s.hairstyle]
            rng = np.random.default_rng([self.config.seed, i, 0x4A1])
            picked = sorted(rng.choice(len(others), size=min(k, len(others)), replace=False)) if others else []
            tint = np.random.default_rng([self.config.seed, i, 0xC01])
            own = Appearance.from_json(s.spec.appearance)
            plan[s.id] = [
                (others[j], own.recoloured(colors[int(tint.integers(len(colors)))], tint).to_json()) for j in picked
            ]
        return plan

    def units_to_render(self, subjects: list) -> list[tuple]:
        """The units not rendered yet: (subject, expression, None) for the subject's own hair and bald
        images of an expression, (subject, 'neutral', (hairstyle, appearance)) for a hair variant (also
        one whose marker names another hair colour: made by an older factory, it is rendered again)."""
        units = [(s, e, None) for s in subjects for e in self.config.expressions if not self._unit_done(s.id, e)]
        plan = self.hair_variant_plan(subjects)
        for s in subjects:
            for variant in plan.get(s.id, []):
                marker = self._variant_marker(s.id, variant[0])
                if not marker.is_file() or json.loads(marker.read_text()).get("hair_color") != _mean_color(variant[1]):
                    units.append((s, NEUTRAL, variant))
        return units

    def _variant_marker(self, subject: str, style: str) -> Path:
        return unit_dir(self.root, subject, NEUTRAL) / f"hair-{style}.done.json"

    def render_units(self, todo: list, on_image) -> None:
        """Render the units of :meth:`units_to_render`; ``on_image(1)`` after every image written."""
        from head360.gl.renderer import MeshRenderer
        from head360.synth.subject import expression_weights

        cfg = self.config
        renderer = None
        built, built_id = None, None
        wrote_subject_files: set[str] = set()
        for subject, expression, variant in todo:
            if built_id != subject.id:
                built, built_id = subject.build(), subject.id
            if renderer is None:
                renderer = MeshRenderer(cfg.resolution)
            weights = expression_weights(expression)
            if variant is not None:
                style, appearance = variant
                rng = np.random.default_rng([subject.spec.seed, *map(ord, style)])
                meshes = built.with_hair(style, appearance, rng).render_meshes(weights, hair=True)
                self._render_views(renderer, meshes, subject.id, expression, f"hair-{style}", on_image)
                marker = {"views": NUM_VIEWS, "hair_color": _mean_color(appearance)}
                write_json(self._variant_marker(subject.id, style), marker)
                continue
            for hair in _hair_modes(cfg.hair, subject):
                meshes = built.render_meshes(weights, hair=(hair == "hair"))
                self._render_views(renderer, meshes, subject.id, expression, hair, on_image)
            if cfg.write_meshes:
                from head360.synth.export import write_subject_meshes

                first = subject.id not in wrote_subject_files
                write_subject_meshes(self.root / "meshes" / subject.id, built, expression, weights, first)
                wrote_subject_files.add(subject.id)
            write_json(unit_dir(self.root, subject.id, expression) / "done.json", {"views": NUM_VIEWS})
        if renderer is not None:
            renderer.close()

    def _render_views(self, renderer, meshes: list, subject: str, expression: str, mode: str, on_image) -> None:
        """The 72 rig views of one scene into ``images/<subject>/<expression>/<mode>/`` (+ label maps)."""
        renderer.set_scene(meshes)
        for view, _, _ in rig_views():
            out = renderer.render(rig_camera(view), outputs=("rgb", "alpha", "label", "depth"))
            rel = image_relpath(subject, expression, mode, view)
            _write_png(self.root / rel, np.dstack([out.rgb, out.alpha]))
            _write_png(self.root / label_relpath(rel), out.label)
            _write_png(self.root / depth_relpath(rel), encode_depth(out.depth))
            on_image(1)

    def _worker_recipe(self) -> tuple:
        """What a worker process needs to rebuild this writer (picklable)."""
        return (DatasetWriter, (str(self.root), self.config))

    def _render_in_processes(self, subject_ids: list[str], workers: int, bar) -> None:
        import multiprocessing as mp
        import queue as queue_mod

        ctx = mp.get_context("spawn")  # OpenGL does not survive fork
        progress = ctx.Queue()
        shares = [subject_ids[k::workers] for k in range(workers)]
        procs = [ctx.Process(target=_render_worker, args=(self._worker_recipe(), ids, progress), daemon=True)
                 for ids in shares]  # fmt: skip
        for p in procs:
            p.start()
        errors = []
        try:
            while any(p.is_alive() for p in procs) or not progress.empty():
                try:
                    kind, value = progress.get(timeout=0.5)
                except queue_mod.Empty:
                    continue
                if kind == "images":
                    bar.update(value)
                else:
                    errors.append(value)
        finally:
            for p in procs:
                p.join(timeout=5)
                if p.is_alive():
                    p.terminate()
        failed = [p.exitcode for p in procs if p.exitcode]
        if errors or failed:
            raise Head360Error(
                errors[0] if errors else f"a rendering worker stopped (exit code {failed[0]}); rerun to resume"
            )

    def _unit_done(self, subject: str, expression: str) -> bool:
        return (unit_dir(self.root, subject, expression) / "done.json").is_file()

    def _write_index(self, subjects: list, mesh_model) -> dict:
        cfg = self.config
        labels, images = [], []
        own = {s.id: _mean_color(s.spec.appearance) if hasattr(s, "spec") else None for s in subjects}
        for subject in subjects:
            for expression in cfg.expressions:
                for hair in _hair_modes(cfg.hair, subject):
                    for view, yaw, pitch in rig_views():
                        rel = image_relpath(subject.id, expression, hair, view)
                        labels.append([rel, rig_camera(view).label()])
                        images.append({
                            "path": rel, "subject": subject.id, "expression": expression,
                            "hair": hair == "hair", "hairstyle": subject.hairstyle if hair == "hair" else "none",
                            "view": view, "yaw_deg": yaw, "pitch_deg": pitch,
                        } | ({"hair_color": own[subject.id]} if hair == "hair" and own[subject.id] else {})
                        )  # fmt: skip
        plan = self.hair_variant_plan(subjects)
        for subject in subjects:
            for style, appearance in plan.get(subject.id, []):
                for view, yaw, pitch in rig_views():
                    rel = image_relpath(subject.id, NEUTRAL, f"hair-{style}", view)
                    labels.append([rel, rig_camera(view).label()])
                    images.append({
                        "path": rel, "subject": subject.id, "expression": NEUTRAL, "hair": True,
                        "hairstyle": style, "hair_variant": True, "view": view, "yaw_deg": yaw, "pitch_deg": pitch,
                        "hair_color": _mean_color(appearance),
                    })  # fmt: skip
        styles = list(dict.fromkeys(["none", *self._hairstyles(), *(s.hairstyle for s in subjects)]))
        index = {
            "labels": labels,
            "images": images,
            "expressions": list(cfg.expressions),
            "resolution": cfg.resolution,
            "subjects": [s.record(mesh_model) for s in subjects],
            "hairstyles": styles,
            "mesh_model": "mesh_model.safetensors",
            "format": "head360-dataset/1",
        }
        write_json(self.root / "dataset.json", index)
        return index

    def _hairstyles(self) -> list[str]:
        return _hairstyles()


class _ProceduralSubject:
    """A factory subject: its recipe, built into render meshes on demand."""

    def __init__(self, spec, texture_size: int):
        self.spec, self.texture_size = spec, texture_size
        self.id, self.hairstyle = spec.id, spec.hairstyle

    def build(self):
        from head360.synth.subject import SubjectAssets

        return SubjectAssets.build(self.spec, texture_size=self.texture_size)

    def record(self, mesh_model) -> dict:
        from head360.mesh.fit import project_shape
        from head360.mesh.identity import identity_vertices
        from head360.mesh.template import build_template

        neutral = identity_vertices(build_template(), np.asarray(self.spec.identity, np.float32))
        shape = project_shape(mesh_model, neutral)
        return {**self.spec.to_json(), "shape": [round(float(x), 6) for x in shape]}


def _render_worker(recipe: tuple, subject_ids: list[str], progress) -> None:
    """Process entry point: rebuild the writer, render the units of ``subject_ids``."""
    cls, args = recipe
    try:
        writer = cls(*args, progress=False)
        wanted = set(subject_ids)
        todo = [u for u in writer.units_to_render(writer.subjects()) if u[0].id in wanted]
        pending = [0]

        def on_image(n: int) -> None:
            pending[0] += n
            if pending[0] >= 16:
                progress.put(("images", pending[0]))
                pending[0] = 0

        writer.render_units(todo, on_image)
        progress.put(("images", pending[0]))
    except Head360Error as e:
        progress.put(("error", str(e)))
    except Exception as e:  # a crash in a worker must reach the user as one line
        progress.put(("error", f"rendering worker failed: {type(e).__name__}: {e}"))


def _mean_color(appearance: dict) -> list[float]:
    """The hair's mean colour of an appearance JSON, sRGB 0..1 rounded for the index (the ``hair_color``
    of an image record)."""
    from head360.synth.appearance import Appearance

    return [round(c, 4) for c in Appearance.from_json(appearance).hair_mean_color()]


def _hair_modes(hair: str, subject) -> tuple[str, ...]:
    """Which of 'hair' / 'bald' to render for a subject (one without hair has only bald images)."""
    return tuple(m for m in HAIR_MODES[hair] if not (m == "hair" and subject.hairstyle == "none"))


def _hairstyles() -> list[str]:
    from head360.synth.hair import HAIRSTYLES

    return list(HAIRSTYLES)


def _write_png(path: Path, image: np.ndarray) -> None:
    """PNG through OpenCV (fast, level 3), atomically. ``image``: [H,W] or [H,W,3|4] uint8 RGB(A), or
    [H,W] uint16."""
    import cv2

    from head360.fileio import atomic_path

    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGBA2BGRA if image.shape[2] == 4 else cv2.COLOR_RGB2BGR)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        if not cv2.imwrite(str(tmp), image, [cv2.IMWRITE_PNG_COMPRESSION, 3]):
            raise Head360Error(f"could not write '{path}' (disk full or no permission?)")


class _NoBar:
    def update(self, n=1):
        pass

    def close(self):
        pass


def _progress(total: int, enabled: bool, desc: str):
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="img", dynamic_ncols=True)
