"""Per-subject mesh export of the data factory, in the layout ``synth --from-meshes`` imports:

    <folder>/neutral.obj, <ARKit name>.obj ...   the head (all parts) per expression, one topology
    <folder>/head.png                           its texture (referenced by the OBJs' MTL)
    <folder>/hair.obj + hair.png                the hair, when the subject has one
    <folder>/subject.json                       hairstyle name (and anything else the importer reads)

Faces carry their part as the OBJ material (``usemtl skin|neck|eyes|mouth``), so labels survive.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from head360.fileio import write_image, write_json
from head360.labels import Label

MATERIAL_OF_LABEL = {
    int(Label.SKIN): "skin",
    int(Label.NECK): "neck",
    int(Label.EYES): "eyes",
    int(Label.MOUTH_INTERIOR): "mouth",
    int(Label.HAIR): "hair",
}


def write_subject_meshes(folder: Path, assets, expression: str, weights: np.ndarray, with_shared: bool) -> None:
    """Write ``<expression>.obj``; with ``with_shared`` also the texture, hair and subject.json."""
    from head360.mesh.obj import write_obj

    folder = Path(folder)
    t = assets.template
    names = sorted(set(MATERIAL_OF_LABEL.values()))
    face_material = np.array([names.index(MATERIAL_OF_LABEL[int(x)]) for x in t.face_label], np.int64)
    if with_shared:
        write_image(folder / "head.png", assets.head_texture)
        if assets.hair is not None:
            write_obj(folder / "hair.obj", assets.hair.vertices, assets.hair.faces, uvs=assets.hair.uvs,
                      faces_uv=assets.hair.faces, texture="hair.png")  # fmt: skip
            write_image(folder / "hair.png", assets.hair_texture)
        write_json(folder / "subject.json", {"id": assets.spec.id, "hairstyle": assets.spec.hairstyle}, indent=2)
    write_obj(folder / f"{expression}.obj", assets.vertices(weights), t.faces, uvs=t.uvs, faces_uv=t.faces_uv,
              texture="head.png", face_material=face_material, material_names=names)  # fmt: skip
