"""One image of several subjects x expressions x views, so a person can judge the data at a glance."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from head360.cameras import Camera
from head360.fileio import write_image

# (column title, expression weights by name, yaw, pitch, hair)
DEFAULT_COLUMNS: tuple[tuple[str, dict, float, float, bool], ...] = (
    ("front", {}, 0.0, 0.0, True),
    ("3/4 left", {}, 45.0, 0.0, True),
    ("profile", {}, 90.0, 0.0, True),
    ("back", {}, 180.0, 0.0, True),
    ("from above", {}, 330.0, 20.0, True),
    ("bald", {}, 30.0, 0.0, False),
    ("jawOpen", {"jawOpen": 1.0}, 0.0, 0.0, True),
    ("eyeBlinkLeft", {"eyeBlinkLeft": 1.0}, 0.0, 0.0, True),
    ("mouthSmileLeft", {"mouthSmileLeft": 1.0}, 0.0, 0.0, True),
    ("browInnerUp", {"browInnerUp": 1.0}, 0.0, 0.0, True),
    ("mouthPucker", {"mouthPucker": 1.0}, 20.0, 0.0, True),
    ("cheekPuff", {"cheekPuff": 1.0}, 0.0, 0.0, True),
    ("eyeLookOutL", {"eyeLookOutLeft": 1.0}, 0.0, 0.0, True),
    ("tongueOut", {"tongueOut": 1.0, "jawOpen": 0.3}, 0.0, 0.0, True),
)


def render_contact_sheet(
    out: str | Path,
    subjects: int = 6,
    seed: int = 0,
    resolution: int = 256,
    columns=DEFAULT_COLUMNS,
    first_subject: int = 0,
) -> np.ndarray:
    """Render and write the sheet; returns the image [H, W, 3] uint8."""
    import cv2

    from head360.arkit import index_of
    from head360.gl.renderer import MeshRenderer
    from head360.synth.subject import SubjectAssets, sample_subject

    renderer = MeshRenderer(resolution)
    header = max(18, resolution // 9)
    rows = []
    for i in range(first_subject, first_subject + subjects):
        spec = sample_subject(seed, i)
        assets = SubjectAssets.build(spec, texture_size=1024)
        tiles = []
        for _title, named, yaw, pitch, hair in columns:
            w = np.zeros(52, np.float32)
            for name, value in named.items():
                w[index_of(name)] = value
            renderer.set_scene(assets.render_meshes(w, hair=hair))
            tiles.append(renderer.render(Camera.orbit(yaw, pitch)).rgb)
        row = np.concatenate(tiles, axis=1)
        label = f"{spec.id}  {spec.hairstyle}"
        cv2.putText(
            row, label, (6, resolution - 8), cv2.FONT_HERSHEY_SIMPLEX, resolution / 520, (60, 60, 60), 1, cv2.LINE_AA
        )
        rows.append(row)
    sheet = np.concatenate(rows, axis=0)
    head = np.full((header, sheet.shape[1], 3), 255, np.uint8)
    for c, (title, *_rest) in enumerate(columns):
        cv2.putText(
            head,
            title,
            (c * resolution + 6, header - 6),
            cv2.FONT_HERSHEY_SIMPLEX,
            resolution / 560,
            (0, 0, 0),
            1,
            cv2.LINE_AA,
        )
    sheet = np.concatenate([head, sheet], axis=0)
    write_image(out, sheet)
    return sheet
