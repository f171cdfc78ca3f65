"""``python main.py synth --from-meshes MESHDIR --out DIR``: render rigged heads an artist exported in
the same dataset layout as the procedural factory.

MESHDIR holds one folder per subject with
    neutral.obj                      the neutral head (any parts: skin, eyes, mouth interior...)
    <ARKit name>.obj x 52            each blendshape at weight 1, same topology as neutral.obj
                                     (file names match ARKit names case-insensitively)
    a texture image                  the MTL's map_Kd, or head.png / texture.png / the only image
    hair.obj (+ its texture)         optional
    subject.json                     optional: {"hairstyle": "bob"} names the hairstyle
All subjects must share one topology: the importer fits the bilinear mesh model on them. Face labels
come from OBJ material names (``usemtl``): names with 'eye' -> eyes, 'teeth'/'tongue'/'mouth' -> mouth
interior, 'neck' -> neck, 'hair' -> hair, anything else -> skin. Meshes are expected in the project's
frame (+y up, face along +z, 1 unit = 10 cm); heads modelled in cm or m are rescaled and centred
automatically (the summary says so).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from head360.arkit import ARKIT_NAMES, NEUTRAL
from head360.cameras import HEAD_BOX_HALF
from head360.errors import Head360Error
from head360.labels import Label
from head360.synth.writer import DatasetWriter, SynthConfig

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".tga", ".bmp")


def label_of_material(name: str) -> int:
    n = name.lower()
    if "eye" in n or "iris" in n or "cornea" in n or "sclera" in n:
        return int(Label.EYES)
    if any(k in n for k in ("teeth", "tooth", "tongue", "mouth", "gum", "oral")):
        return int(Label.MOUTH_INTERIOR)
    if "neck" in n or "body" in n or "shoulder" in n:
        return int(Label.NECK)
    if "hair" in n:
        return int(Label.HAIR)
    return int(Label.SKIN)


@dataclass
class Topology:
    """The template-like part of an imported subject that the render path needs."""

    faces: np.ndarray
    uvs: np.ndarray
    faces_uv: np.ndarray
    face_label: np.ndarray


def _find_case_insensitive(folder: Path, stem: str) -> Path | None:
    want = stem.lower() + ".obj"
    for p in folder.iterdir():
        if p.is_file() and p.name.lower() == want:
            return p
    return None


def _read_image(path: Path) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except Exception as e:
        raise Head360Error(f"cannot read texture image '{path}' ({e}); export it as PNG or JPEG") from e


def _expand_per_vertex_uv(vertices, faces, uvs, faces_uv):
    """OBJ-style separate UV indices -> one UV per vertex (vertices split along UV seams)."""
    pairs = np.stack([faces.reshape(-1), faces_uv.reshape(-1)], 1)
    unique, inverse = np.unique(pairs, axis=0, return_inverse=True)
    return vertices[unique[:, 0]], inverse.reshape(-1, 3), uvs[unique[:, 1]]


class ImportedSubject:
    """One subject folder; ``build()`` reads and checks all its meshes."""

    def __init__(self, folder: Path, transform):
        self.folder = folder
        self.id = folder.name
        self.transform = transform
        meta = {}
        if (folder / "subject.json").is_file():
            try:
                meta = json.loads((folder / "subject.json").read_text())
            except json.JSONDecodeError as e:
                raise Head360Error(f"'{folder / 'subject.json'}' is not valid JSON ({e})") from e
        has_hair = (folder / "hair.obj").is_file()
        self.hairstyle = str(meta.get("hairstyle") or f"hair_{self.id}") if has_hair else "none"
        self._neutral = None
        self._built = None
        self.keep_built = False

    # --- reading ------------------------------------------------------------------------------
    def neutral_mesh(self):
        from head360.mesh.obj import read_obj

        if self._neutral is None:
            self._neutral = read_obj(self.folder / "neutral.obj")
        return self._neutral

    def blendshape_paths(self) -> list[Path]:
        paths, missing = [], []
        for name in ARKIT_NAMES:
            p = _find_case_insensitive(self.folder, name)
            (paths if p else missing).append(p or name)
        if missing:
            shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
            raise Head360Error(
                f"subject '{self.id}' lacks {len(missing)} of the 52 ARKit blendshape OBJs ({shown}); "
                "export every shape as <name>.obj beside neutral.obj"
            )
        return paths

    def build(self):
        """Read and check the subject's meshes -> SubjectAssets (kept for the next call)."""
        if self._built is not None:
            return self._built
        from head360.mesh.obj import read_obj, read_obj_vertices
        from head360.synth.hair import HairMesh
        from head360.synth.subject import SubjectAssets, SubjectSpec

        neutral = self.neutral_mesh()
        paths = self.blendshape_paths()
        base = self.transform(neutral.vertices)
        topology = read_obj_vertices(self.folder / "neutral.obj")[1]
        deltas = np.zeros((len(ARKIT_NAMES), len(base), 3), np.float32)
        for j, p in enumerate(paths):
            vertices, digest = read_obj_vertices(p)
            if vertices.shape != neutral.vertices.shape or digest != topology:
                raise Head360Error(
                    f"subject '{self.id}': {p.name} has {len(vertices)} vertices and "
                    f"{'the same' if digest == topology else 'different'} faces, neutral.obj has "
                    f"{len(neutral.vertices)} vertices; blendshapes must share the neutral's topology"
                )
            deltas[j] = self.transform(vertices) - base
        topo = _topology(neutral, self.id)
        texture = self._texture(neutral)
        hair = hair_texture = None
        if (self.folder / "hair.obj").is_file():
            h = read_obj(self.folder / "hair.obj")
            hv = self.transform(h.vertices)
            if h.uvs is not None and h.faces_uv is not None:
                hv, hf, huv = _expand_per_vertex_uv(hv, h.faces, h.uvs, h.faces_uv)
            else:
                hf, huv = h.faces, np.zeros((len(hv), 2), np.float32)
            hair = HairMesh(vertices=hv.astype(np.float32), faces=hf, uvs=huv.astype(np.float32),
                            tangents=_strand_tangents(hv, hf))  # fmt: skip
            hair_texture = _read_image(h.texture) if h.texture and h.texture.is_file() else _solid((60, 45, 35))
        spec = SubjectSpec(self.id, 0, [], {}, self.hairstyle)
        built = SubjectAssets(spec, topo, base.astype(np.float32), deltas, texture, hair, hair_texture)
        if self.keep_built:
            self._built = built
        return built

    def _texture(self, neutral) -> np.ndarray:
        if neutral.texture is not None and neutral.texture.is_file():
            return _read_image(neutral.texture)
        for name in ("head.png", "texture.png", "head.jpg", "texture.jpg"):
            if (self.folder / name).is_file():
                return _read_image(self.folder / name)
        images = [p for p in self.folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and "hair" not in p.stem]
        if len(images) == 1:
            return _read_image(images[0])
        raise Head360Error(
            f"subject '{self.id}' has no texture image: reference it from neutral.obj's MTL (map_Kd) or name it "
            "head.png"
        )

    def record(self, mesh_model) -> dict:
        from head360.mesh.fit import project_shape

        shape = project_shape(mesh_model, self.transform(self.neutral_mesh().vertices))
        return {"id": self.id, "seed": 0, "identity": [], "appearance": {}, "hairstyle": self.hairstyle,
                "shape": [round(float(x), 6) for x in shape], "source": str(self.folder)}  # fmt: skip


def _topology(mesh, subject_id: str) -> Topology:
    if mesh.uvs is None or mesh.faces_uv is None:
        raise Head360Error(f"subject '{subject_id}': neutral.obj has no texture coordinates (vt); unwrap it first")
    names = getattr(mesh, "material_names", None) or []
    fm = getattr(mesh, "face_material", None)
    if fm is None or not names:
        labels = np.full(len(mesh.faces), int(Label.SKIN), np.uint8)
    else:
        table = np.array([label_of_material(n) for n in names], np.uint8)
        labels = np.where(fm >= 0, table[np.clip(fm, 0, None)], int(Label.SKIN)).astype(np.uint8)
    return Topology(mesh.faces.astype(np.int64), mesh.uvs.astype(np.float32), mesh.faces_uv.astype(np.int64), labels)


def _strand_tangents(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Hair strand direction for imported hair: 'down' along the surface."""
    from head360.mesh.obj import vertex_normals

    n = vertex_normals(vertices, faces)
    down = np.array([0.0, -1.0, 0.0], np.float32)
    t = down[None] - (n @ down)[:, None] * n
    norm = np.linalg.norm(t, axis=1, keepdims=True)
    t = np.where(norm > 1e-6, t / np.maximum(norm, 1e-6), np.array([0.0, 0.0, -1.0], np.float32))
    return t.astype(np.float32)


def _solid(rgb) -> np.ndarray:
    return np.tile(np.array(rgb, np.uint8), (8, 8, 1))


def frame_transform(vertices: np.ndarray):
    """Identity when the neutral head fits the head box; otherwise a scale by a power of ten (cm or m
    models) plus centring, applied to every mesh of the subject set. Returns (transform, note)."""
    v = np.asarray(vertices, np.float64)
    lo, hi = v.min(0), v.max(0)
    if (np.abs(v) <= HEAD_BOX_HALF * 1.05).all():  # a neck cut at the box bottom counts as fitting
        return (lambda x: np.asarray(x, np.float32)), None
    height = float(hi[1] - lo[1])
    scale = 10.0 ** np.round(np.log10(2.4 / max(height, 1e-9)))
    centre = (lo + hi) / 2.0
    top = hi[1]

    def transform(x):
        x = (np.asarray(x, np.float64) - [centre[0], top, centre[2]]) * scale
        return (x + [0.0, 1.3, 0.0]).astype(np.float32)

    note = f"rescaled by {scale:g} and centred (the meshes did not fit the {2 * HEAD_BOX_HALF:g}-unit head box)"
    return transform, note


class ImportWriter(DatasetWriter):
    """The dataset writer over artist meshes instead of procedural subjects."""

    def __init__(self, mesh_dir, root, config: SynthConfig, progress: bool = True):
        self.mesh_dir = Path(mesh_dir)
        if not self.mesh_dir.is_dir():
            raise Head360Error(f"mesh folder '{self.mesh_dir}' does not exist")
        folders = sorted(p for p in self.mesh_dir.iterdir() if p.is_dir() and (p / "neutral.obj").is_file())
        if not folders:
            raise Head360Error(
                f"'{self.mesh_dir}' has no subject folders with a neutral.obj (expected MESHDIR/<subject>/neutral.obj "
                "+ 52 ARKit-named OBJs)"
            )
        super().__init__(root, config, progress)
        first = ImportedSubject(folders[0], lambda x: np.asarray(x, np.float32))
        self.transform, self.note = frame_transform(first.neutral_mesh().vertices)
        self._subjects = [ImportedSubject(f, self.transform) for f in folders]
        for s in self._subjects:  # the mesh-model fit and the renders read each subject: keep a few in memory
            s.keep_built = len(self._subjects) <= 16
        self._check_topologies()

    def _check_topologies(self) -> None:
        ref = self._subjects[0].neutral_mesh()
        for s in self._subjects[1:]:
            m = s.neutral_mesh()
            if m.vertices.shape != ref.vertices.shape or not np.array_equal(m.faces, ref.faces):
                raise Head360Error(
                    f"subjects '{self._subjects[0].id}' and '{s.id}' have different topologies "
                    f"({len(ref.vertices)} vs {len(m.vertices)} vertices); the parametric model needs one topology"
                )
        for s in self._subjects:
            s.blendshape_paths()  # fail early, before anything is rendered

    def subjects(self) -> list:
        return self._subjects

    def _worker_recipe(self) -> tuple:
        return (ImportWriter, (str(self.mesh_dir), str(self.root), self.config))

    def _hairstyles(self) -> list[str]:
        return []

    def _make_mesh_model(self, subjects: list):
        from head360.mesh.fit import fit_mesh_model_from_meshes

        neutrals = np.stack([s.transform(s.neutral_mesh().vertices) for s in subjects])
        topo = _topology(subjects[0].neutral_mesh(), subjects[0].id)
        return fit_mesh_model_from_meshes(neutrals, lambda i: subjects[i].build().deltas, topo.faces, topo.uvs,
                                          topo.faces_uv, topo.face_label)  # fmt: skip

    def run(self) -> dict:
        summary = super().run()
        if self.note:
            summary["note"] = self.note
        return summary


def import_meshes(mesh_dir, out, config: SynthConfig, progress: bool = True, workers: int = 1) -> dict:
    if NEUTRAL not in config.expressions:
        raise Head360Error("an imported dataset needs the 'neutral' expression")
    return ImportWriter(mesh_dir, out, config, progress).run(workers=workers)
