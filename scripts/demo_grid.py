"""The demo model beside the data factory's truth, for docs/ and the README.

    python scripts/demo_grid.py --data DIR [--checkpoint assets/demo.safetensors] [--out docs/demo_grid.png]
                                [--subjects s000,s004] [--fit-steps 150] [--size 128]

One row per subject: pairs of tiles (truth | model) for neutral, jawOpen, eyeBlinkLeft and mouthSmileLeft
seen from yaw 345, then neutral from yaw 75 (side) and 165 (back): rig views that training never saw.
Subjects of DATA that the model never trained on are fitted as `main.py eval` fits them (a texture code
from their front training views, ``--fit-steps`` steps) and marked "held out"; each head's hair in the
colour its truth shows (a model with the colour input). Then rows swapping hairstyles: each of the first
shown subjects wearing the hairstyles of the others (in its own hair colour), and bald; and, for a model
with the colour input, the first subject's hairstyle in the factory's named hair colours.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PAIRS = (("neutral", 47), ("jawOpen", 47), ("eyeBlinkLeft", 47), ("mouthSmileLeft", 47), ("neutral", 29),
         ("neutral", 35))  # fmt: skip
"""(expression, rig view) of each truth | model pair: views 47, 29, 35 are yaw 345, 75, 165 at pitch 0."""


def main() -> int:
    import cv2
    import numpy as np
    import torch

    from head360.assets import bundled_checkpoint
    from head360.cameras import Camera
    from head360.data.dataset import HeadDataset
    from head360.errors import Head360Error
    from head360.fileio import write_image
    from head360.model.checkpoint import load_checkpoint
    from head360.model.generator import to_uint8
    from head360.train.evaluate import fit_held_out_codes

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="the factory dataset the model was trained on")
    p.add_argument("--checkpoint", default=None, help="default: the bundled demo model")
    p.add_argument("--out", default="docs/demo_grid.png")
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--subjects", default=None, help="comma-separated subject ids (default: all of DATA)")
    p.add_argument("--fit-steps", type=int, default=150)
    args = p.parse_args()
    torch.set_num_threads(1)
    path = str(args.checkpoint or bundled_checkpoint())
    ckpt = load_checkpoint(path)
    g = ckpt.generator.eval()
    size = args.size
    expressions = sorted({e for e, _ in PAIRS})
    ds = HeadDataset(args.data, hair=True, expressions=expressions, views=sorted({v for _, v in PAIRS}))
    wanted = args.subjects.split(",") if args.subjects else sorted({r["subject"] for r in ds.records})
    styles = {s["id"]: s["hairstyle"] for s in ds.subjects}
    # each subject in its own hairstyle (not the hair variants the dataset also holds)
    by_key = {(r["subject"], r["expression"], int(r["view"])): i for i, r in enumerate(ds.records)
              if r["hairstyle"] == styles[r["subject"]]}  # fmt: skip
    codes = {s.name: torch.as_tensor(s.texture_code)[None] for s in ckpt.subjects}
    if any(sid not in codes for sid in wanted):
        for sid, fitted in fit_held_out_codes(path, args.data, args.fit_steps, "cpu").items():
            codes[sid] = torch.as_tensor(fitted["texture_code"])[None]

    def tile(rgb: np.ndarray, text: str) -> np.ndarray:
        img = cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA)
        cv2.putText(img, text, (4, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.34, (40, 40, 40), 1, cv2.LINE_AA)
        return img

    def strip_row(tiles: list, width: int) -> np.ndarray:
        strip = np.concatenate(tiles, 1)[:, :width]
        return np.pad(strip, ((0, 0), (0, width - strip.shape[1]), (0, 0)), constant_values=255)

    def style_of(name: str | None) -> str | None:
        return name if name in g.hairstyles else None

    def color_of(sample):
        """The hair colour the truth shows, for a model with the colour input (else the style's own)."""
        c = sample["hair_color"]
        return c if g.hair_color is not None and bool((c >= 0).all()) else None

    own_color: dict = {}
    rows = []
    for sid in wanted:
        if sid not in codes:
            raise Head360Error(f"'{path}' knows no code for {sid} and none could be fitted from '{args.data}'")
        tag = sid if sid in ckpt.info.get("split", {}).get("train_subjects", [sid]) else f"{sid} held out"
        tiles = []
        for expression, view in PAIRS:
            key = (sid, expression, view)
            if key not in by_key:
                raise Head360Error(f"'{args.data}' has no image of {sid} / {expression} / view {view}")
            sample = ds[by_key[key]]
            own_color[sid] = color_of(sample)
            with torch.no_grad():
                planes = g.planes(codes[sid], sample["shape"][None], sample["weights"][None], style_of(styles[sid]),
                                  hair_color=own_color[sid])  # fmt: skip
                rgb = g.render(planes, sample["camera"][None], quality="full")["rgb"][0]
            text = f"truth {expression} {sample['yaw']:.0f}"
            tiles += [tile(to_uint8(sample["image"]), text), tile(to_uint8(rgb), f"model {tag}")]
        rows.append(np.concatenate(tiles, 1))
    # hair swap: the first subjects shown, each wearing the others' hairstyles, and bald (yaw 30)
    swap = wanted[:4]
    worn = [style_of(styles[s]) for s in swap]
    cam = torch.tensor([Camera.orbit(30.0, 0.0).label()], dtype=torch.float32)
    shape_of = {s["id"]: s["shape"] for s in ds.subjects}
    for sid in swap:
        tiles = []
        for style in [*dict.fromkeys(w for w in worn if w), None]:
            subject_shape = torch.as_tensor(np.asarray(shape_of[sid], np.float32))[None]
            with torch.no_grad():
                planes = g.planes(codes[sid], subject_shape, torch.zeros(1, 52), style, hair_color=own_color[sid])
                rgb = g.render(planes, cam, quality="full", hair=style is not None)["rgb"][0]
            tiles.append(tile(to_uint8(rgb), f"{sid} hair: {style or 'none'}"))
        rows.append(strip_row(tiles, rows[0].shape[1]))
    if g.hair_color is not None:  # hair colour: the first subject's hairstyle in the factory's named colours
        from head360.synth.appearance import HAIR_COLORS

        sid = wanted[0]
        subject_shape = torch.as_tensor(np.asarray(shape_of[sid], np.float32))[None]
        tiles = []
        for name in ("black", "dark_brown", "auburn", "red", "blond", "platinum", "grey", "white"):
            color = torch.tensor(HAIR_COLORS[name], dtype=torch.float32) / 255.0
            with torch.no_grad():
                planes = g.planes(
                    codes[sid], subject_shape, torch.zeros(1, 52), style_of(styles[sid]), hair_color=color
                )
                rgb = g.render(planes, cam, quality="full")["rgb"][0]
            tiles.append(tile(to_uint8(rgb), f"{sid} hair colour: {name}"))
        rows.append(strip_row(tiles, rows[0].shape[1]))
    write_image(args.out, np.concatenate(rows, 0))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
