"""Data-factory throughput: prints JSON with seconds to build a subject (mesh, 52 blendshapes, textures,
hair), ambient occlusion per pose, render throughput (views/s, all outputs read back), and PNG writing.

    python bench/bench_factory.py [--resolution 512] [--views 72] [--subjects 2]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--resolution", type=int, default=512)
    p.add_argument("--views", type=int, default=72)
    p.add_argument("--subjects", type=int, default=2)
    p.add_argument("--texture-size", type=int, default=1024)
    args = p.parse_args()

    import numpy as np

    from head360.cameras import rig_camera
    from head360.gl.renderer import MeshRenderer
    from head360.synth.subject import SubjectAssets, expression_weights, sample_subject
    from head360.synth.writer import _write_png

    build, ao, render, write = [], [], [], []
    renderer = MeshRenderer(args.resolution)
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.subjects):
            t = time.perf_counter()
            assets = SubjectAssets.build(sample_subject(0, i), texture_size=args.texture_size)
            build.append(time.perf_counter() - t)
            t = time.perf_counter()
            meshes = assets.render_meshes(expression_weights("jawOpen"), hair=True)
            ao.append(time.perf_counter() - t)
            renderer.set_scene(meshes)
            renderer.render(rig_camera(0))  # warm-up
            t = time.perf_counter()
            outs = [renderer.render(rig_camera(v % 72)) for v in range(args.views)]
            render.append((time.perf_counter() - t) / args.views)
            t = time.perf_counter()
            for v, out in enumerate(outs):
                _write_png(Path(tmp) / f"{v}.png", np.dstack([out.rgb, out.alpha]))
                _write_png(Path(tmp) / f"{v}.label.png", out.label)
            write.append((time.perf_counter() - t) / args.views)
    per_view = float(np.mean(render)) + float(np.mean(write))
    result = {
        "resolution": args.resolution,
        "subject_build_s": round(float(np.mean(build)), 3),
        "pose_ambient_occlusion_s": round(float(np.mean(ao)), 3),
        "render_views_per_s": round(1.0 / float(np.mean(render)), 1),
        "render_and_write_views_per_s": round(1.0 / per_view, 1),
        # one dataset unit = one (subject, expression) at 72 views with and without hair
        "seconds_per_subject_expression_72x2": round(2 * (72 * per_view + float(np.mean(ao))), 2),
        "seconds_per_subject_paper": round(float(np.mean(build)) + 53 * 2 * (72 * per_view + float(np.mean(ao))), 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
