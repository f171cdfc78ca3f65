"""Render the mesh contact sheet (docs/mesh_preview.png): several identities x key expressions, plus
the mean head from four sides, with plain materials (no texture) through the project's renderer.

    python scripts/mesh_preview.py [--out docs/mesh_preview.png] [--size 256]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

EXPRESSIONS: list[tuple[str, dict[str, float]]] = [
    ("neutral", {}),
    ("jawOpen", {"jawOpen": 1.0}),
    ("smile", {"mouthSmileLeft": 1.0, "mouthSmileRight": 1.0, "cheekSquintLeft": 0.5, "cheekSquintRight": 0.5}),
    ("blink + browInnerUp", {"eyeBlinkLeft": 1.0, "eyeBlinkRight": 1.0, "browInnerUp": 1.0}),
    ("pucker", {"mouthPucker": 1.0}),
    ("tongueOut", {"tongueOut": 1.0}),
    ("look left/up", {"eyeLookOutLeft": 1.0, "eyeLookInRight": 1.0, "eyeLookUpLeft": 0.5, "eyeLookUpRight": 0.5}),
    ("frown + browDown", {"mouthFrownLeft": 1.0, "mouthFrownRight": 1.0, "browDownLeft": 1.0, "browDownRight": 1.0}),
]


def vertex_colors(template, vertices: np.ndarray) -> np.ndarray:
    """Plain albedo per vertex: skin with redder lips, sclera / iris / pupil, mouth interior."""
    from head360.mesh.template import Part

    t = template
    p = t.vertices.astype(np.float64)
    col = np.tile(np.array([0.80, 0.62, 0.52]), (len(p), 1))
    lips = np.exp(-(((p[:, 1] + 0.575) / 0.06) ** 2)) * np.exp(-((p[:, 0] / 0.25) ** 6)) * (p[:, 2] > 0.7)
    col = col * (1 - 0.6 * lips[:, None]) + 0.6 * lips[:, None] * np.array([0.70, 0.36, 0.36])
    for side, part in (("left", Part.EYEBALL_LEFT), ("right", Part.EYEBALL_RIGHT)):
        ids = t.part_vertices(part)
        d = p[ids] - t.anchors[f"eye_center_{side}"]
        ang = np.degrees(np.arccos(np.clip(d[:, 2] / np.linalg.norm(d, axis=1), -1, 1)))
        col[ids] = np.where(
            ang[:, None] < 12, [0.03, 0.03, 0.03], np.where(ang[:, None] < 29, [0.30, 0.20, 0.10], [0.92, 0.91, 0.88])
        )
    col[t.part_vertices(Part.MOUTH_BAG)] = [0.42, 0.12, 0.12]
    col[t.part_vertices(Part.TONGUE)] = [0.75, 0.32, 0.35]
    for part in (Part.TEETH_UPPER, Part.TEETH_LOWER):
        col[t.part_vertices(part)] = [0.93, 0.90, 0.82]
    for part in (Part.EYE_SOCKET_LEFT, Part.EYE_SOCKET_RIGHT):
        col[t.part_vertices(part)] = [0.78, 0.50, 0.48]
    return col.astype(np.float32)


def head_meshes(template, vertices: np.ndarray, colors: np.ndarray) -> list:
    from head360.gl.renderer import RenderMesh
    from head360.mesh.template import Part

    t = template
    out = []
    for material, parts in (
        ("skin", (Part.SKIN, Part.EAR_LEFT, Part.EAR_RIGHT, Part.EYE_SOCKET_LEFT, Part.EYE_SOCKET_RIGHT)),
        ("eye", (Part.EYEBALL_LEFT, Part.EYEBALL_RIGHT)),
        ("teeth", (Part.TEETH_UPPER, Part.TEETH_LOWER)),
        ("cavity", (Part.MOUTH_BAG, Part.TONGUE)),
    ):
        keep = np.isin(t.face_part, parts)
        out.append(
            RenderMesh(
                vertices=vertices, faces=t.faces[keep], colors=colors, face_label=t.face_label[keep], material=material
            )
        )
    return out


def main(argv: list[str] | None = None) -> int:
    from PIL import Image, ImageDraw

    from head360.arkit import INDEX
    from head360.cameras import Camera
    from head360.gl.renderer import MeshRenderer
    from head360.mesh.blendshapes import blendshape_deltas
    from head360.mesh.identity import identity_vertices, sample_identity
    from head360.mesh.template import build_template

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "docs" / "mesh_preview.png"))
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--identities", type=int, default=4)
    args = ap.parse_args(argv)
    t = build_template()
    colors = vertex_colors(t, t.vertices)
    size = args.size
    renderer = MeshRenderer(size)
    face_cam = Camera.orbit(25.0, 5.0, radius=4.8, target=(0.0, -0.28, 0.3), focal=2.1)
    rows = []
    # the mean head from four sides
    mean = t.vertices
    renderer.set_scene(head_meshes(t, mean, colors))
    sides = [
        renderer.render(Camera.orbit(yaw, 5.0, radius=7.0, target=(0.0, -0.1, 0.0))).rgb for yaw in (0, 40, 90, 180)
    ]
    rows.append(sides)
    rng = np.random.default_rng(2024)
    codes = [np.zeros(50, np.float32)] + [sample_identity(rng) for _ in range(args.identities - 1)]
    for code in codes:
        neutral = identity_vertices(t, code).astype(np.float64)
        deltas = blendshape_deltas(t, neutral).astype(np.float64)
        row = []
        for _, weights in EXPRESSIONS:
            b = np.zeros(52)
            for name, w in weights.items():
                b[INDEX[name]] = w
            v = (neutral + np.tensordot(b, deltas, axes=1)).astype(np.float32)
            renderer.set_scene(head_meshes(t, v, colors))
            row.append(renderer.render(face_cam).rgb)
        rows.append(row)
    renderer.close()
    width = len(EXPRESSIONS) * size
    sheet = Image.new("RGB", (width, size * len(rows) + 18), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for c, (name, _) in enumerate(EXPRESSIONS):
        draw.text((c * size + 4, size + 4), name, fill=(0, 0, 0))
    for r, row in enumerate(rows):
        y = r * size + (18 if r else 0)
        for c, img in enumerate(row):
            x = c * size if r else int(c * width / len(row))
            sheet.paste(Image.fromarray(img), (x, y))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
