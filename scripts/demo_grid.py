"""The demo model's renders grid for docs/ and the README: subjects x expressions x yaw 0/90/180/270,
then a hair swap (each subject with its own hairstyle, the other shown subjects' hairstyles, and bald).

    python scripts/demo_grid.py [--checkpoint assets/demo.safetensors] [--out docs/demo_grid.png]
                                [--subjects 0,1,5] [--held-out DATA] [--fit-steps 150]

--subjects: rows of the checkpoint's subject table (default: all). --held-out DATA: also the subjects of
dataset DATA that the model never trained on, with a texture code fitted as `main.py eval` fits it
(front views only); their expressions then show what the model does with a new person.
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
    p.add_argument("--subjects", default=None, help="comma-separated rows of the subject table (default: all)")
    p.add_argument("--held-out", default=None, metavar="DATA", help="dataset whose untrained subjects to add")
    p.add_argument("--fit-steps", type=int, default=150)
    args = p.parse_args()
    torch.set_num_threads(1)
    path = args.checkpoint or bundled_checkpoint()
    ckpt = load_checkpoint(path)
    g = ckpt.generator.eval()
    size = args.size
    rows_wanted = range(len(ckpt.subjects)) if args.subjects is None else [int(x) for x in args.subjects.split(",")]
    shown = [(ckpt.subjects[i].name, resolve_subject(ckpt, i)) for i in rows_wanted]
    if args.held_out:
        from head360.model.checkpoint import Subject
        from head360.train.evaluate import fit_held_out_codes

        for sid, fitted in fit_held_out_codes(str(path), args.held_out, args.fit_steps, "cpu").items():
            subject = Subject(
                fitted["texture_code"], fitted["shape_code"], np.zeros(52, np.float32), fitted["hairstyle"]
            )
            shown.append((f"{sid} (held out)", subject))

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
    for name, subject in shown:
        for expression in expressions:
            w = np.zeros(52, np.float32)
            if expression != "neutral":
                w[index_of(expression)] = 1.0
            planes = subject_planes(g, subject, w)
            tiles = [label(render(planes, yaw), f"{name} {expression} {int(yaw)}") for yaw in (0.0, 90.0, 180.0, 270.0)]
            rows.append(np.concatenate(tiles, 1))
    styles = list(dict.fromkeys(s.hairstyle for _, s in shown if s.hairstyle))[:3]
    for name, subject in shown:
        tiles = []
        for style in [*styles, None]:
            planes = subject_planes(g, subject, None, hairstyle=style)
            tiles.append(label(render(planes, 30.0, hair=style is not None), f"{name} hair: {style or 'none'}"))
        while len(tiles) < 4:
            tiles.append(np.full_like(tiles[0], 255))
        rows.append(np.concatenate(tiles[:4], 1))
    write_image(args.out, np.concatenate(rows, 0))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
