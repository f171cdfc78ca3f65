"""Benchmark of the offscreen mesh renderer; prints one JSON object.

    python bench/bench_renderer.py [--views 72] [--quick]

Scene: a ~30k-triangle UV sphere with OBJ-style seams and a 1024x1024 texture. Each timed frame is a
camera-only change (a dataset rig view): uniforms only, nothing re-uploaded, then render + read-back.
Also times ``ambient_occlusion`` on a ~30k-vertex mesh and ``rasterize_uv`` at 1024^2.
Figures, never assertions: compare runs on the same machine only. ``cpu_ms`` figures count the CPU
time of this process (llvmpipe's threads included): on a shared machine they are steadier than wall
time. ``load_average`` is the 1-minute load when the run ended.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import head360.gl  # noqa: E402, F401  (chooses the EGL platform before OpenGL is imported)
from head360.cameras import NUM_VIEWS, rig_camera  # noqa: E402


def uv_sphere(rings: int, segments: int):
    """Vertices [N, 3], faces [M, 3], uvs [T, 2], faces_uv [M, 3] of a UV sphere (seam at u = 0/1)."""
    theta = np.linspace(0.0, np.pi, rings + 1)  # from the top
    phi = np.linspace(0.0, 2.0 * np.pi, segments + 1)
    t, p = np.meshgrid(theta, phi, indexing="ij")
    grid = np.stack([np.sin(t) * np.sin(p), np.cos(t), np.sin(t) * np.cos(p)], axis=-1)  # [R+1, S+1, 3]
    uv_grid = np.stack([p / (2 * np.pi), 1.0 - t / np.pi], axis=-1)
    # welded vertices: one per ring position (the seam column repeats the first), one at each pole
    vid = np.arange((rings + 1) * (segments + 1)).reshape(rings + 1, segments + 1)
    vid[:, -1] = vid[:, 0]
    vid[0, :] = vid[0, 0]
    vid[-1, :] = vid[-1, 0]
    uid = np.arange((rings + 1) * (segments + 1)).reshape(rings + 1, segments + 1)
    faces, faces_uv = [], []
    for r in range(rings):
        for s in range(segments):
            a, b, c, d = (r, s), (r + 1, s), (r + 1, s + 1), (r, s + 1)
            for tri in ((a, b, c), (a, c, d)):
                ids = [vid[x] for x in tri]
                if len(set(ids)) == 3:
                    faces.append(ids)
                    faces_uv.append([uid[x] for x in tri])
    used, inverse = np.unique(np.array(faces), return_inverse=True)
    vertices = grid.reshape(-1, 3)[used].astype(np.float32)
    return (
        vertices,
        inverse.reshape(-1, 3).astype(np.int64),
        uv_grid.reshape(-1, 2).astype(np.float32),
        np.array(faces_uv, dtype=np.int64),
    )


def texture_1024() -> np.ndarray:
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:1024, 0:1024]
    checker = ((x // 64 + y // 64) % 2).astype(np.float32)
    base = np.stack([0.75 + 0.1 * checker, 0.55 + 0.05 * checker, 0.45 * np.ones_like(checker)], axis=-1)
    noise = rng.normal(0.0, 0.03, size=(1024, 1024, 1))
    return (np.clip(base + noise, 0, 1) * 255).astype(np.uint8)


def time_views(renderer, views: int, outputs, landmarks=None) -> tuple[float, float]:
    """-> (views per second of wall time, CPU milliseconds per view of this process, all threads)."""
    cams = [rig_camera(i % NUM_VIEWS) for i in range(views)]
    renderer.render(cams[0], outputs=outputs, landmarks=landmarks)  # warm-up (shader JIT on llvmpipe)
    start, cpu = time.perf_counter(), time.process_time()
    for cam in cams:
        renderer.render(cam, outputs=outputs, landmarks=landmarks)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return round(views / wall, 1), round(1000.0 * cpu / views, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--views", type=int, default=72, help="frames timed per configuration")
    parser.add_argument("--quick", action="store_true", help="fewer frames (a smoke run)")
    args = parser.parse_args()
    views = 8 if args.quick else args.views

    from head360.gl.bake import ambient_occlusion, rasterize_uv
    from head360.gl.renderer import OUTPUTS, MeshRenderer, RenderMesh

    vertices, faces, uvs, faces_uv = uv_sphere(122, 123)
    mesh = RenderMesh(vertices, faces, uvs=uvs, faces_uv=faces_uv, texture=texture_1024(), material="skin")
    result: dict = {"triangles": int(len(faces)), "vertices": int(len(vertices)), "texture": 1024}

    for resolution in (256, 512):
        renderer = MeshRenderer(resolution, supersample=2)
        start = time.perf_counter()
        renderer.set_scene([mesh])
        result[f"set_scene_s_{resolution}"] = round(time.perf_counter() - start, 4)
        landmarks = vertices[:: max(1, len(vertices) // 478)][:478]
        for name, outputs, points in (
            ("all_outputs", OUTPUTS, None),
            ("rgb_only", ("rgb",), None),
            ("all_outputs_478_landmarks", OUTPUTS, landmarks),
        ):
            per_s, cpu_ms = time_views(renderer, views, outputs, points)
            result[f"views_per_s_{resolution}_{name}"] = per_s
            result[f"cpu_ms_per_view_{resolution}_{name}"] = cpu_ms
        result["gl_renderer"] = renderer.ctx.gl_renderer
        result["gl_backend"] = renderer.ctx.backend
        renderer.close()

    # ambient occlusion of a ~30k-vertex mesh (60k triangles)
    ao_vertices, ao_faces, _, _ = uv_sphere(172, 174)
    ambient_occlusion(ao_vertices[:100], np.array([[0, 1, 2]]))  # compile the shaders once
    start, cpu = time.perf_counter(), time.process_time()
    ambient_occlusion(ao_vertices, ao_faces, directions=64)
    result["ao_vertices"] = int(len(ao_vertices))
    result["ao_s_64_directions"] = round(time.perf_counter() - start, 3)
    result["ao_cpu_s_64_directions"] = round(time.process_time() - cpu, 3)

    corner_positions = vertices[faces]  # [M, 3, 3]
    rasterize_uv(uvs, faces_uv, corner_positions, 64)
    start = time.perf_counter()
    rasterize_uv(uvs, faces_uv, corner_positions, 1024, dilate=4)
    result["rasterize_uv_s_1024_dilate4"] = round(time.perf_counter() - start, 3)
    result["load_average"] = round(os.getloadavg()[0], 2)
    result["cpu_count"] = os.cpu_count()
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
