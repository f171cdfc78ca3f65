"""Checkpoints and subject files: safetensors + JSON, nothing pickled.

Checkpoint (one ``.safetensors`` file, self-contained). The JSON lives in the safetensors header
metadata (no sidecar file), under these keys:

* ``format``: ``"head360-checkpoint/1"``
* ``config``: the :class:`~head360.model.config.GeneratorConfig` as JSON
* ``subjects``: ``[{"name": str, "hairstyle": str | null}, ...]`` (the training subjects, in order)
* ``info``: free JSON (training step, dataset, ...)

Tensors: ``generator/<state-dict key>``; ``mesh/file`` (uint8: the bytes of the mesh model's own
``.safetensors`` file, in its compact versioned format, so the checkpoint alone rebuilds ``V(s, b)``);
``subjects/texture_codes [N, Zt]`` and ``subjects/shape_codes [N, 50]``; optionally
``module/<name>/<state-dict key>`` for other networks (discriminators, RefineNet D...).

Subject file (``.h360``, also safetensors): ``texture_code [Zt]``, ``shape_code [50]``,
``blend_weights [52]``, optional ``neural_texture [C, T, T]`` (an optimised UV neural texture: still
animatable, it is rasterized through the mesh for any expression) and optional ``head_planes`` /
``hair_planes [3, C, P, P]`` (optimised planes: fixed to the stored expression); metadata ``format``
``"head360-subject/1"``, ``hairstyle``, ``source`` (what it was made from), ``blendshapes`` (names).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from head360.arkit import ARKIT_NAMES, NUM_BLENDSHAPES
from head360.errors import Head360Error
from head360.fileio import atomic_path
from head360.mesh.model import MeshModel
from head360.model.config import GeneratorConfig, config_from_dict, config_to_dict

CHECKPOINT_FORMAT = "head360-checkpoint/1"
SUBJECT_FORMAT = "head360-subject/1"
SUBJECT_SUFFIX = ".h360"


@dataclass
class SubjectCodes:
    """One training subject: texture_code [Zt], shape_code [50], default hairstyle (None = no hair),
    hair colour (sRGB 0..1; None = the hairstyle's own)."""

    name: str
    texture_code: np.ndarray
    shape_code: np.ndarray
    hairstyle: str | None = None
    hair_color: tuple[float, float, float] | None = None


@dataclass
class Checkpoint:
    generator: torch.nn.Module  # Head360Generator
    subjects: list[SubjectCodes]
    modules: dict[str, dict[str, torch.Tensor]] = field(default_factory=dict)
    """State dicts of the other networks stored with ``save_checkpoint(modules=...)``."""
    info: dict = field(default_factory=dict)
    path: Path | None = None

    @property
    def config(self) -> GeneratorConfig:
        return self.generator.config

    @property
    def trained_hairstyles(self) -> tuple[str, ...]:
        """The hairstyles of the bank that training saw on some image, in bank order. Every hairstyle
        for a checkpoint that does not say (not written by training): its bank may be anything."""
        styles = self.generator.hairstyles
        seen = self.info.get("hairstyles_trained")
        if seen is None and "split" in self.info and "data" in self.info:
            # written before training recorded it: the hairstyles of the training subjects
            train = set(self.info["split"].get("train_subjects", []))
            seen = [s.get("hairstyle") for s in self.info["data"].get("subjects", []) if s.get("id") in train]
        if seen is None:
            return styles
        return tuple(s for s in styles if s in set(seen))


def _mesh_model_bytes(mesh: MeshModel) -> bytes:
    """The mesh model's own file (its compact, versioned format) as bytes."""
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "mesh.safetensors"
        mesh.save(path)
        return path.read_bytes()


def _read_safetensors(path: Path, what: str, expected_format: str, hint: str):
    if not path.exists():
        raise Head360Error(f"{what} '{path}' not found; {hint}")
    if not path.is_file():
        raise Head360Error(f"{what} '{path}' is not a file; {hint}")
    try:
        from safetensors import safe_open
        from safetensors.torch import load_file

        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        tensors = load_file(str(path))
    except Exception as e:  # safetensors raises several types for damaged / foreign files
        raise Head360Error(f"'{path}' is not a readable {what} (damaged or another file type); {hint}") from e
    fmt = meta.get("format")
    if fmt != expected_format:
        raise Head360Error(f"'{path}' is not a Head360 {what} (format {fmt!r}, expected {expected_format!r}); {hint}")
    for name, value in tensors.items():
        if value.is_floating_point() and not torch.isfinite(value).all():
            raise Head360Error(f"{what} '{path}' holds NaN or infinite numbers in '{name}'; {hint}")
    return meta, tensors


def save_checkpoint(
    path: str | Path,
    generator,
    subjects: list[SubjectCodes] | tuple = (),
    modules: dict[str, torch.nn.Module] | None = None,
    info: dict | None = None,
) -> None:
    """Write ``generator`` (+ its mesh model, config and subject table, + other ``modules``) atomically."""
    from safetensors.torch import save_file

    mesh: MeshModel = generator.mesh
    tensors: dict[str, torch.Tensor] = {}
    for k, v in generator.state_dict().items():
        tensors[f"generator/{k}"] = v.detach().cpu().contiguous().clone()
    tensors["mesh/file"] = torch.from_numpy(np.frombuffer(_mesh_model_bytes(mesh), np.uint8).copy())
    zt = generator.config.texture.code_dim
    tex = np.stack([np.asarray(s.texture_code, np.float32) for s in subjects]) if subjects else np.zeros((0, zt))
    shp = np.stack([np.asarray(s.shape_code, np.float32) for s in subjects]) if subjects else np.zeros((0, 50))
    if tex.shape[1:] != (zt,):
        raise Head360Error(f"subject texture codes must have {zt} values, got {tex.shape[1:]}")
    tensors["subjects/texture_codes"] = torch.from_numpy(np.ascontiguousarray(tex, np.float32))
    tensors["subjects/shape_codes"] = torch.from_numpy(np.ascontiguousarray(shp, np.float32))
    for mname, module in (modules or {}).items():
        for k, v in module.state_dict().items():
            tensors[f"module/{mname}/{k}"] = v.detach().cpu().contiguous().clone()
    for s in subjects:
        if s.hairstyle is not None:
            generator.hairstyle_index(s.hairstyle)  # unknown names fail here, not at load time
    meta = {
        "format": CHECKPOINT_FORMAT,
        "config": json.dumps(config_to_dict(generator.config)),
        "subjects": json.dumps(
            [
                {"name": s.name, "hairstyle": s.hairstyle}
                | ({} if s.hair_color is None else {"hair_color": [float(c) for c in s.hair_color]})
                for s in subjects
            ]
        ),  # fmt: skip
        "blendshapes": json.dumps(list(ARKIT_NAMES)),
        "info": json.dumps(info or {}),
    }
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=meta)


def load_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> Checkpoint:
    """Rebuild the generator from a checkpoint (eval mode, on ``device``). The mesh model is the one
    stored inside (quantised as the mesh model's file stores it).

    A missing, damaged or foreign file, a tensor holding NaN or infinite numbers, or weights that do not
    fit the stored configuration (a file from another version of the code), raise Head360Error with one
    line saying so; an error in the stored mesh model names this checkpoint.
    """
    from head360.model.generator import Head360Generator

    path = Path(path)
    hint = "pass a checkpoint written by `python -m head360.model.init_checkpoint` or by training"
    meta, tensors = _read_safetensors(path, "checkpoint", CHECKPOINT_FORMAT, hint)
    try:
        config = config_from_dict(json.loads(meta["config"]))
        subjects_meta = json.loads(meta.get("subjects", "[]"))
        info = json.loads(meta.get("info", "{}"))
        names = json.loads(meta.get("blendshapes", json.dumps(list(ARKIT_NAMES))))
    except (json.JSONDecodeError, KeyError) as e:
        raise Head360Error(f"checkpoint '{path}' has a damaged header ({e}); {hint}") from e
    if names != list(ARKIT_NAMES):
        raise Head360Error(f"checkpoint '{path}' uses a different blendshape list than this version of Head360")
    if "mesh/file" not in tensors:
        raise Head360Error(f"checkpoint '{path}' lacks its mesh model; {hint}")
    mesh = MeshModel.from_bytes(tensors["mesh/file"].numpy().tobytes(), f"the mesh model inside checkpoint '{path}'")
    generator = Head360Generator(config, mesh)
    state = {k[len("generator/") :]: v for k, v in tensors.items() if k.startswith("generator/")}
    own = generator.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong = sorted(k for k in set(own) & set(state) if own[k].shape != state[k].shape)
    if missing or unexpected or wrong:
        detail = "; ".join(
            f"{label}: {', '.join(keys[:3])}{' ...' if len(keys) > 3 else ''}"
            for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong))
            if keys
        )
        raise Head360Error(
            f"checkpoint '{path}' does not match this version of the Head360 generator ({detail}); "
            "use a checkpoint written by this version"
        )
    generator.load_state_dict(state)
    generator.to(device).eval()
    tex = tensors.get("subjects/texture_codes", torch.zeros(0, config.texture.code_dim)).numpy()
    shp = tensors.get("subjects/shape_codes", torch.zeros(0, 50)).numpy()
    if len(subjects_meta) != len(tex) or len(tex) != len(shp):
        raise Head360Error(f"checkpoint '{path}' has an inconsistent subject table; {hint}")
    subjects = [
        SubjectCodes(
            str(m.get("name", f"subject {i}")), tex[i], shp[i], m.get("hairstyle"), _color(m.get("hair_color"))
        )
        for i, m in enumerate(subjects_meta)
    ]
    modules: dict[str, dict[str, torch.Tensor]] = {}
    for k, v in tensors.items():
        if k.startswith("module/"):
            _, mname, key = k.split("/", 2)
            modules.setdefault(mname, {})[key] = v
    return Checkpoint(generator=generator, subjects=subjects, modules=modules, info=info, path=path)


# --- subject files --------------------------------------------------------------------------------
@dataclass
class Subject:
    """A head: codes + hairstyle (+ optional optimised texture / planes). Arrays are float32 numpy.

    texture_code [Zt], shape_code [50], blend_weights [52] (ARKit order, each in [0, 1]),
    neural_texture [C, T, T] or None, head_planes / hair_planes [3, C, P, P] or None, hair_color
    (sRGB 0..1) or None for the hairstyle's own colour.
    """

    texture_code: np.ndarray
    shape_code: np.ndarray
    blend_weights: np.ndarray
    hairstyle: str | None = None
    source: str = ""
    neural_texture: np.ndarray | None = None
    head_planes: np.ndarray | None = None
    hair_planes: np.ndarray | None = None
    hair_color: tuple[float, float, float] | None = None

    def save(self, path: str | Path) -> None:
        from safetensors.numpy import save_file

        path = Path(path)
        if path.suffix != SUBJECT_SUFFIX:
            raise Head360Error(f"subject files end in {SUBJECT_SUFFIX}, got '{path.name}'")
        arrays = {
            "texture_code": np.asarray(self.texture_code, np.float32),
            "shape_code": np.asarray(self.shape_code, np.float32),
            "blend_weights": np.asarray(self.blend_weights, np.float32),
        }
        for name in ("neural_texture", "head_planes", "hair_planes"):
            value = getattr(self, name)
            if value is not None:
                arrays[name] = np.asarray(value, np.float32)
        meta = {
            "format": SUBJECT_FORMAT,
            "hairstyle": json.dumps(self.hairstyle),
            "hair_color": json.dumps(None if self.hair_color is None else [float(c) for c in self.hair_color]),
            "source": self.source,
            "blendshapes": json.dumps(list(ARKIT_NAMES)),
        }
        with atomic_path(path) as tmp:
            save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(tmp), metadata=meta)

    @staticmethod
    def load(path: str | Path) -> Subject:
        """Read a ``.h360`` file; a damaged or foreign one, NaN or infinite numbers, or blendshape weights
        outside [0, 1] raise Head360Error with one line naming the file."""
        path = Path(path)
        hint = "save one from the studio or with `python main.py fit`"
        meta, t = _read_safetensors(path, "subject file", SUBJECT_FORMAT, hint)
        try:
            if json.loads(meta.get("blendshapes", "[]")) != list(ARKIT_NAMES):
                raise Head360Error(f"subject file '{path}' uses a different blendshape list")
            subject = Subject(
                texture_code=t["texture_code"].numpy(),
                shape_code=t["shape_code"].numpy(),
                blend_weights=t["blend_weights"].numpy(),
                hairstyle=json.loads(meta.get("hairstyle", "null")),
                source=meta.get("source", ""),
                neural_texture=t["neural_texture"].numpy() if "neural_texture" in t else None,
                head_planes=t["head_planes"].numpy() if "head_planes" in t else None,
                hair_planes=t["hair_planes"].numpy() if "hair_planes" in t else None,
                hair_color=_color(json.loads(meta.get("hair_color", "null")), path),
            )
        except (KeyError, json.JSONDecodeError) as e:
            raise Head360Error(f"subject file '{path}' is incomplete ({e}); {hint}") from e
        if subject.blend_weights.shape != (NUM_BLENDSHAPES,) or subject.shape_code.ndim != 1:
            raise Head360Error(f"subject file '{path}' has arrays of the wrong shape; {hint}")
        outside = np.flatnonzero((subject.blend_weights < 0.0) | (subject.blend_weights > 1.0))
        if len(outside):
            name, w = ARKIT_NAMES[outside[0]], float(subject.blend_weights[outside[0]])
            raise Head360Error(
                f"subject file '{path}': blendshape weight for {name} must be in [0, 1], got {w:g}; {hint}"
            )
        return subject


def resolve_subject(checkpoint: Checkpoint, spec: str | int | None) -> Subject:
    """``--subject``: None (the first training subject), an index into the checkpoint's subject
    table, or a ``.h360`` file. Checks that the codes fit the checkpoint's generator."""
    g = checkpoint.generator
    if spec is None or (isinstance(spec, str) and spec.strip().isdigit()) or isinstance(spec, int):
        index = 0 if spec is None else int(spec)
        if not checkpoint.subjects:
            raise Head360Error("this checkpoint has no subject table; pass --subject FILE.h360")
        if not 0 <= index < len(checkpoint.subjects):
            raise Head360Error(f"subject {index} does not exist: this checkpoint has 0..{len(checkpoint.subjects) - 1}")
        s = checkpoint.subjects[index]
        subject = Subject(
            texture_code=np.asarray(s.texture_code, np.float32),
            shape_code=np.asarray(s.shape_code, np.float32),
            blend_weights=np.zeros(NUM_BLENDSHAPES, np.float32),
            hairstyle=s.hairstyle,
            source=f"{checkpoint.path} subject {index} ({s.name})",
            hair_color=s.hair_color,
        )
    else:
        path = Path(str(spec))
        if path.suffix != SUBJECT_SUFFIX:
            raise Head360Error(f"--subject takes a subject index or a {SUBJECT_SUFFIX} file, got '{spec}'")
        subject = Subject.load(path)
    cfg = g.config
    if subject.texture_code.shape != (cfg.texture.code_dim,) or subject.shape_code.shape != (g.mesh.shape_dim,):
        raise Head360Error(
            f"subject codes ({subject.texture_code.shape[0]} texture, {subject.shape_code.shape[0]} shape) do not fit "
            f"this checkpoint ({cfg.texture.code_dim}, {g.mesh.shape_dim}); use a subject made with this model"
        )
    plane_shape = (3, cfg.plane_channels, cfg.planes.resolution, cfg.planes.resolution)
    for name in ("head_planes", "hair_planes"):
        value = getattr(subject, name)
        if value is not None and value.shape != plane_shape:
            raise Head360Error(f"subject {name} have shape {value.shape}, this model uses {plane_shape}")
    tex_shape = (cfg.texture.channels, cfg.texture.resolution, cfg.texture.resolution)
    if subject.neural_texture is not None and subject.neural_texture.shape != tex_shape:
        raise Head360Error(
            f"subject neural texture has shape {subject.neural_texture.shape}, this model uses {tex_shape}"
        )
    if subject.hairstyle is not None:
        g.hairstyle_index(subject.hairstyle)
    return subject


def subject_planes(
    generator, subject: Subject, blend_weights: np.ndarray | None = None, hairstyle="keep", hair_color="keep"
):
    """Planes of a subject (batch of one) on the generator's device.

    blend_weights [52] overrides the subject's expression; hairstyle "keep" uses the subject's, else a
    name or None; hair_color "keep" the subject's, else (r, g, b) sRGB 0..1 or None for the hairstyle's
    own (a model without the colour input ignores colours). Stored optimised planes are used as they are
    (they hold one fixed expression: asking
    for another expression then raises Head360Error).
    """
    dev = generator.device
    weights = subject.blend_weights if blend_weights is None else np.asarray(blend_weights, np.float32)
    style_name = subject.hairstyle if hairstyle == "keep" else hairstyle
    color = hair_color_input(generator, subject.hair_color if isinstance(hair_color, str) else hair_color)
    t = torch.as_tensor(subject.texture_code, device=dev)[None]
    s = torch.as_tensor(subject.shape_code, device=dev)[None]
    b = torch.as_tensor(weights, device=dev)[None]
    if subject.head_planes is not None:
        if not np.allclose(weights, subject.blend_weights):
            raise Head360Error(
                "this subject stores optimised planes for one expression; its expression cannot be changed "
                "(save it with a neural texture instead of planes to animate it)"
            )
        from head360.model.generator import Planes

        head = torch.as_tensor(subject.head_planes, device=dev)[None]
        same = style_name == subject.hairstyle and (color is None or subject.hair_color == tuple(color.tolist()))
        if subject.hair_planes is not None and same and style_name is not None:
            hair = torch.as_tensor(subject.hair_planes, device=dev)[None]
        else:
            hair, _ = generator.hair_planes(style_name, 1, color)
        style = generator.mapping(t)
        # the mesh and the code's texture still drive the camera-view path (demo preset)
        vertices = generator.mesh.vertices(s, b)
        texture = generator.texture_synthesis(style)
        return Planes(head=head, hair=hair, style=style, hairstyles=(style_name,), vertices=vertices, texture=texture)
    texture = None if subject.neural_texture is None else torch.as_tensor(subject.neural_texture, device=dev)[None]
    return generator.planes(t, s, b, style_name, texture=texture, hair_color=color)


def hair_color_input(generator, color) -> torch.Tensor | None:
    """A subject's hair colour ((r, g, b) sRGB 0..1 or None) as the generator's ``hair_color`` argument:
    [3] float32, or None for the hairstyle's own colour (always None for a model without the input)."""
    return None if color is None or generator.hair_color is None else torch.tensor(color, dtype=torch.float32)


def _color(value, path=None) -> tuple[float, float, float] | None:
    """A stored hair colour (None, or three numbers in 0..1) as a tuple; anything else raises."""
    if value is None:
        return None
    try:
        c = tuple(float(x) for x in value)
    except (TypeError, ValueError):
        c = ()
    if len(c) != 3 or not all(0.0 <= x <= 1.0 for x in c):
        where = f"subject file '{path}'" if path else "the checkpoint's subject table"
        raise Head360Error(f"{where} has a hair colour that is not three numbers in 0..1: {value!r}")
    return c
