"""A procedural subject: identity + appearance + hairstyle, and the meshes and textures to render it.

``SubjectSpec`` is the small, JSON-able recipe (fully determined by the dataset seed and the subject
index, so a resumed run rebuilds exactly the same person); ``SubjectAssets`` holds what is expensive
to build once per subject (neutral mesh, 52 blendshape deltas, head texture, hair mesh and texture) and
turns blendshape weights into render meshes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from head360.arkit import ARKIT_NAMES, NEUTRAL, canonical_name
from head360.labels import Label


@dataclass
class SubjectSpec:
    id: str
    seed: int
    identity: list[float]  # [50] procedural identity parameters (one sigma each)
    appearance: dict  # head360.synth.appearance.Appearance as JSON
    hairstyle: str

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "seed": self.seed,
            "identity": [round(float(x), 6) for x in self.identity],
            "appearance": self.appearance,
            "hairstyle": self.hairstyle,
        }

    @staticmethod
    def from_json(d: dict) -> SubjectSpec:
        return SubjectSpec(d["id"], int(d["seed"]), list(d["identity"]), dict(d["appearance"]), d["hairstyle"])


def subject_rng(dataset_seed: int, index: int) -> np.random.Generator:
    return np.random.default_rng([int(dataset_seed), int(index), 0x4EAD])


def sample_subject(dataset_seed: int, index: int, hairstyle: str | None = None) -> SubjectSpec:
    """The ``index``-th subject of a dataset with ``dataset_seed``; hairstyles cycle through all styles
    (in a seed-dependent order) so every style is represented, unless ``hairstyle`` is given."""
    from head360.mesh.identity import sample_identity
    from head360.synth.appearance import sample_appearance
    from head360.synth.hair import HAIRSTYLES

    rng = subject_rng(dataset_seed, index)
    identity = sample_identity(rng)
    appearance = sample_appearance(rng)
    if hairstyle is None:
        styles = [s for s in HAIRSTYLES if s != "none"]
        order = np.random.default_rng([int(dataset_seed), 0x4A1]).permutation(len(styles))
        hairstyle = styles[int(order[index % len(styles)])]
    return SubjectSpec(
        f"s{index:03d}", int(rng.integers(2**31)), list(map(float, identity)), appearance.to_json(), hairstyle
    )


def expression_weights(expression: str) -> np.ndarray:
    """Weights [52] of a named dataset expression: 'neutral' or one ARKit name at weight 1."""
    w = np.zeros(len(ARKIT_NAMES), np.float32)
    if expression != NEUTRAL:
        w[ARKIT_NAMES.index(canonical_name(expression))] = 1.0
    return w


@dataclass
class SubjectAssets:
    """Everything needed to render one subject in any pose.

    neutral: [V, 3]; deltas: [52, V, 3]; head_texture: [S, S, 3] uint8; hair: HairMesh or None.
    """

    spec: SubjectSpec
    template: object
    neutral: np.ndarray
    deltas: np.ndarray
    head_texture: np.ndarray
    hair: object | None
    hair_texture: np.ndarray | None
    _occlusion: dict = field(default_factory=dict, repr=False)

    @staticmethod
    def build(spec: SubjectSpec, texture_size: int = 1024) -> SubjectAssets:
        from head360.mesh.blendshapes import blendshape_deltas
        from head360.mesh.identity import identity_vertices
        from head360.mesh.template import build_template
        from head360.synth.appearance import Appearance, paint_hair_texture, paint_head_texture
        from head360.synth.hair import build_hair

        template = build_template()
        neutral = identity_vertices(template, np.asarray(spec.identity, np.float32)).astype(np.float32)
        deltas = blendshape_deltas(template, neutral).astype(np.float32)
        appearance = Appearance.from_json(spec.appearance)
        rng = np.random.default_rng(spec.seed)
        head_texture = paint_head_texture(appearance, template, size=texture_size, rng=rng)
        hair = build_hair(spec.hairstyle, neutral, template, rng=rng)
        hair_texture = None
        if hair is not None:
            hair_texture = paint_hair_texture(appearance, spec.hairstyle, size=max(256, texture_size // 2), rng=rng)
        return SubjectAssets(spec, template, neutral, deltas, head_texture, hair, hair_texture)

    def with_hair(self, style: str, appearance: dict, rng: np.random.Generator) -> SubjectAssets:
        """The same head wearing hairstyle ``style`` coloured by ``appearance`` (an Appearance as JSON,
        e.g. another subject's): a hair variant for clean hair swaps. ``rng`` draws the strands."""
        from head360.synth.appearance import Appearance, paint_hair_texture
        from head360.synth.hair import build_hair

        hair = build_hair(style, self.neutral, self.template, rng=rng)
        texture = None
        if hair is not None:
            size = max(256, self.head_texture.shape[0] // 2)
            texture = paint_hair_texture(Appearance.from_json(appearance), style, size=size, rng=rng)
        return SubjectAssets(self.spec, self.template, self.neutral, self.deltas, self.head_texture, hair, texture)

    def vertices(self, weights: np.ndarray) -> np.ndarray:
        """Head vertices [V, 3] for blendshape weights [52]."""
        w = np.asarray(weights, np.float32)
        return self.neutral + np.tensordot(w, self.deltas, axes=1)

    def render_meshes(self, weights: np.ndarray, hair: bool, occlusion: bool = True) -> list:
        """RenderMesh list for blendshape weights [52]: the head split by material (skin, eyes, mouth
        interior), then the hair when ``hair`` and the subject has one. With ``occlusion`` the meshes
        carry per-vertex ambient occlusion of this pose (hair included when it is shown)."""
        from head360.gl.renderer import RenderMesh, ambient_occlusion

        t = self.template
        verts = self.vertices(weights)
        show_hair = hair and self.hair is not None
        head_ao = hair_ao = None
        if occlusion:
            if show_hair:
                n = len(verts)
                all_v = np.concatenate([verts, self.hair.vertices]).astype(np.float32)
                all_f = np.concatenate([t.faces, self.hair.faces + n])
                ao = ambient_occlusion(all_v, all_f)
                head_ao, hair_ao = ao[:n], ao[n:]
            else:
                head_ao = ambient_occlusion(verts, t.faces)
        meshes = []
        for material, keep in _material_groups(t):
            meshes.append(
                RenderMesh(
                    vertices=verts,
                    faces=t.faces[keep],
                    uvs=t.uvs,
                    faces_uv=t.faces_uv[keep],
                    texture=self.head_texture,
                    face_label=t.face_label[keep],
                    material=material,
                    occlusion=head_ao,
                )
            )
        if show_hair:
            meshes.append(
                RenderMesh(
                    vertices=self.hair.vertices,
                    faces=self.hair.faces,
                    uvs=self.hair.uvs,
                    faces_uv=self.hair.faces,
                    texture=self.hair_texture,
                    label=int(Label.HAIR),
                    material="hair",
                    tangents=self.hair.tangents,
                    occlusion=hair_ao,
                )
            )
        return meshes


def _material_groups(topology) -> list[tuple[str, np.ndarray]]:
    """(material, face mask) pairs of a head: skin and neck, eyes, teeth, and the rest of the mouth
    interior (cavity, tongue). Topologies without parts (imported meshes) split by label only."""
    label = topology.face_label
    groups = [("skin", np.isin(label, (int(Label.SKIN), int(Label.NECK)))), ("eye", label == int(Label.EYES))]
    mouth = label == int(Label.MOUTH_INTERIOR)
    face_part = getattr(topology, "face_part", None)
    if face_part is not None:
        from head360.mesh.template import Part

        teeth = np.isin(face_part, (int(Part.TEETH_UPPER), int(Part.TEETH_LOWER)))
        tongue = face_part == int(Part.TONGUE)
        groups += [("teeth", mouth & teeth), ("skin", mouth & tongue), ("cavity", mouth & ~teeth & ~tongue)]
    else:
        groups.append(("cavity", mouth))
    return [(m, keep) for m, keep in groups if keep.any()]
