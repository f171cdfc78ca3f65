"""Hair and appearance throughput: prints JSON with seconds per hairstyle build (per style, on a random
identity) and per texture paint (head texture at 1024^2 after the one-time per-template setup, hair
texture at 512^2).

    python bench/bench_looks.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--texture-size", type=int, default=1024)
    args = p.parse_args()

    import numpy as np

    from head360.mesh.identity import identity_vertices, sample_identity
    from head360.mesh.template import build_template
    from head360.synth.appearance import paint_hair_texture, paint_head_texture, sample_appearance
    from head360.synth.hair import HAIRSTYLES, build_hair

    template = build_template()
    rng = np.random.default_rng(0)
    head = identity_vertices(template, sample_identity(rng))
    out: dict = {"hair_build_s": {}, "hair_triangles": {}}
    for style in HAIRSTYLES[1:]:
        times = []
        for r in range(args.repeats):
            t = time.perf_counter()
            h = build_hair(style, head, template, np.random.default_rng(r))
            times.append(time.perf_counter() - t)
        out["hair_build_s"][style] = round(min(times), 3)
        out["hair_triangles"][style] = int(len(h.faces))
    look = sample_appearance(rng)
    t = time.perf_counter()
    paint_head_texture(look, template, args.texture_size, np.random.default_rng(0))
    out["head_texture_first_call_s"] = round(time.perf_counter() - t, 3)
    times = []
    for r in range(args.repeats):
        look = sample_appearance(rng)
        t = time.perf_counter()
        paint_head_texture(look, template, args.texture_size, np.random.default_rng(r))
        times.append(time.perf_counter() - t)
    out["head_texture_s"] = round(min(times), 3)
    times = []
    for r in range(args.repeats):
        t = time.perf_counter()
        paint_hair_texture(look, "long", 512, np.random.default_rng(r))
        times.append(time.perf_counter() - t)
    out["hair_texture_512_s"] = round(min(times), 3)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
