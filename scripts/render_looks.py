"""Render the figures of the procedural looks through the data factory's own pipeline.

    python scripts/render_looks.py [--out docs] [--size 256]

docs/hairstyles.png: every hairstyle (rows) on two identities (front, 3/4, back for each).
docs/appearance.png: sampled subjects (rows) from the front, 3/4, side and back.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _label(image, text: str):
    """Write ``text`` in the top-left corner of a uint8 image (PIL's default font)."""
    from PIL import Image, ImageDraw

    im = Image.fromarray(image)
    ImageDraw.Draw(im).text((6, 4), text, fill=(20, 20, 20))
    import numpy as np

    return np.asarray(im)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--out", default="docs")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--only", choices=("hairstyles", "appearance"), default=None)
    args = p.parse_args()

    import numpy as np

    from head360.cameras import Camera
    from head360.fileio import write_image
    from head360.gl.renderer import MeshRenderer
    from head360.mesh.identity import sample_identity
    from head360.synth.appearance import HAIR_COLORS, sample_appearance
    from head360.synth.hair import HAIRSTYLES
    from head360.synth.subject import SubjectAssets, SubjectSpec

    renderer = MeshRenderer(args.size, supersample=2, background=(0.86, 0.86, 0.86))
    neutral = np.zeros(52, np.float32)

    def shoot(spec: SubjectSpec, views) -> list:
        assets = SubjectAssets.build(spec, texture_size=1024)
        renderer.set_scene(assets.render_meshes(neutral, hair=True))
        return [renderer.render(Camera.orbit(yaw, pitch), outputs=("rgb",)).rgb for yaw, pitch in views]

    if args.only in (None, "hairstyles"):
        t0 = time.perf_counter()
        # --- hairstyles on two identities ---------------------------------------------------------------
        rng = np.random.default_rng(2024)
        people = [(sample_identity(rng), sample_appearance(rng)) for _ in range(2)]
        colours = ["dark_brown", "black", "brown", "auburn", "blond", "light_brown", "red", "platinum", "grey"]
        rows = []
        for k, style in enumerate(HAIRSTYLES[1:]):
            cells = []
            for j, (identity, look) in enumerate(people):
                hair = colours[(k + 3 * j) % len(colours)]
                look = type(look)(
                    **{**look.__dict__, "hair": hair, "hair_color": tuple(c / 255 for c in HAIR_COLORS[hair])}
                )
                spec = SubjectSpec(f"h{k}{j}", 1000 + 10 * k + j, list(map(float, identity)), look.to_json(), style)
                cells += shoot(spec, [(0, 0), (40, 10), (180, 0)])
            cells[0] = _label(cells[0], style)
            rows.append(np.concatenate(cells, 1))
        write_image(Path(args.out) / "hairstyles.png", np.concatenate(rows, 0))
        print(f"hairstyles.png in {time.perf_counter() - t0:.1f} s")

    if args.only in (None, "appearance"):
        # --- sampled subjects ----------------------------------------------------------------------------
        t0 = time.perf_counter()
        rng = np.random.default_rng(7)
        rows = []
        strata = rng.permutation(8)  # one subject per eighth of the skin-tone range, as sampled (not edited)
        for i in range(8):
            identity = sample_identity(rng)
            look = sample_appearance(rng)
            while int(look.skin_tone * 8) != strata[i]:
                look = sample_appearance(rng)
            style = HAIRSTYLES[1 + (i * 5) % (len(HAIRSTYLES) - 1)]
            spec = SubjectSpec(f"a{i}", 500 + i, list(map(float, identity)), look.to_json(), style)
            cells = shoot(spec, [(0, 0), (35, 5), (90, 0), (180, 0)])
            cells[0] = _label(cells[0], f"{look.hair}, {look.iris} eyes, tone {look.skin_tone:.2f}")
            rows.append(np.concatenate(cells, 1))
        write_image(Path(args.out) / "appearance.png", np.concatenate(rows, 0))
        print(f"appearance.png in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
