"""The demo model's renders grid for docs/ and the README: subjects x expressions x yaw 0/90/180/270,
then a hair swap (each subject with every trained hairstyle, and bald).

    python scripts/demo_grid.py [--checkpoint assets/demo.safetensors] [--out docs/demo_grid.png]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    import cv2
    import numpy as np
    import torch

    from head360.arkit import index_of
    from head360.assets import bundled_checkpoint
    from head360.cameras import Camera
    from head360.fileio import write_image
    from head360.model.checkpoint import load_checkpoint, resolve_subject, subject_planes
    from head360.model.generator import to_uint8

    p = argparse.ArgumentParser()
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--out", default="docs/demo_grid.png")
    p.add_argument("--size", type=int, default=192)
    args = p.parse_args()
    torch.set_num_threads(1)
    ckpt = load_checkpoint(args.checkpoint or bundled_checkpoint())
    g = ckpt.generator.eval()
    size = args.size

    def render(planes, yaw, hair=True):
        cam = torch.tensor([Camera.orbit(yaw, 0.0).label()], dtype=torch.float32)
        with torch.no_grad():
            return to_uint8(g.render(planes, cam, resolution=size, hair=hair)["rgb"][0])

    def label(img, text):
        img = img.copy()
        cv2.putText(img, text, (5, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (40, 40, 40), 1, cv2.LINE_AA)
        return img

    rows = []
    expressions = ("neutral", "jawOpen", "eyeBlinkLeft", "mouthSmileLeft")
    for i in range(len(ckpt.subjects)):
        subject = resolve_subject(ckpt, i)
        for name in expressions:
            w = np.zeros(52, np.float32)
            if name != "neutral":
                w[index_of(name)] = 1.0
            planes = subject_planes(g, subject, w)
            tiles = [label(render(planes, yaw), f"{ckpt.subjects[i].name} {name} {int(yaw)}")
                     for yaw in (0.0, 90.0, 180.0, 270.0)]  # fmt: skip
            rows.append(np.concatenate(tiles, 1))
    trained = [s.hairstyle for s in ckpt.subjects if s.hairstyle]
    for i in range(len(ckpt.subjects)):
        subject = resolve_subject(ckpt, i)
        tiles = []
        for style in [*dict.fromkeys(trained), None]:
            planes = subject_planes(g, subject, None, hairstyle=style)
            tiles.append(label(render(planes, 30.0, hair=style is not None), f"hair: {style or 'none'}"))
        while len(tiles) < 4:
            tiles.append(np.full_like(tiles[0], 255))
        rows.append(np.concatenate(tiles[:4], 1))
    write_image(args.out, np.concatenate(rows, 0))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
