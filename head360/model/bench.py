"""Benchmark figures of a checkpoint (``python main.py bench``): never used as timed assertions.

* ``camera_only_ms``: one frame when only the camera moves (planes and occupancy grid reused).
* ``code_change_ms``: one frame when the texture code changes (planes, occupancy grid and render).
* ``blendshape_change_ms``: the same for an expression change (mesh, rasterization, planes, render).
* ``cpu_ms``: process CPU time per frame (with ``--threads 1``: what an idle core would take).
* ``mesh_export_s``: density grid + marching cubes + vertex colours at ``mesh_resolution``^3, and the
  OBJ write.
* parameter counts of this model's networks (and of the ``paper`` preset, counted without allocating).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from head360.cameras import Camera


def parameter_counts(generator) -> dict[str, int]:
    from head360.model.discriminator import DualDiscriminator
    from head360.model.generator import count_parameters
    from head360.model.refine import MultiscaleDiscriminator

    cfg = generator.config
    parts = {
        "mapping": generator.mapping,
        "texture_synthesis": generator.texture_synthesis,
        "static_planes": generator.static_synthesis,
        "hair_synthesis": generator.hair_synthesis,
        "decoder": generator.decoder,
        "superres": generator.superres,
    }
    counts = {k: count_parameters(m) for k, m in parts.items()}
    counts["hair_embedding"] = int(generator.hair_embedding.numel())
    counts["mouth"] = count_parameters(generator.mouth) if generator.mouth is not None else 0
    counts["refinenet"] = count_parameters(generator.refine) if generator.refine is not None else 0
    counts["generator_total"] = count_parameters(generator)
    with torch.device("meta"):
        counts["dual_discriminator"] = count_parameters(DualDiscriminator(cfg.discriminator, cfg.image_resolution))
        counts["refine_discriminator"] = count_parameters(MultiscaleDiscriminator(cfg.refine))
    return counts


def paper_parameter_counts(mesh) -> dict[str, int]:
    """Parameter counts of the ``paper`` preset for this mesh (built on the meta device: no memory)."""
    from head360.model.config import make_config
    from head360.model.generator import Head360Generator

    with torch.device("meta"):
        g = Head360Generator(make_config("paper"), mesh)
    return parameter_counts(g)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _time_frames(fn, frames: int, device) -> tuple[float, float]:
    """(wall ms, process CPU ms) per call of ``fn(i)``, after one warm-up call. On a machine shared
    with other work the CPU time of a one-thread run is the better estimate of an idle machine."""
    fn(0)  # warm-up
    _sync(device)
    start, cpu = time.perf_counter(), time.process_time()
    for i in range(frames):
        fn(i + 1)
    _sync(device)
    return (time.perf_counter() - start) / frames * 1000.0, (time.process_time() - cpu) / frames * 1000.0


@torch.no_grad()
def run_bench(checkpoint, frames: int = 10, mesh_resolution: int = 256, paper: bool = True) -> dict:
    from head360.export.mesh import extract_mesh, save_mesh
    from head360.model.checkpoint import resolve_subject, subject_planes

    g = checkpoint.generator.eval()
    dev = g.device
    cfg = g.config
    if checkpoint.subjects:
        subject = resolve_subject(checkpoint, 0)
    else:
        from head360.arkit import NUM_BLENDSHAPES
        from head360.model.checkpoint import Subject

        subject = Subject(
            np.random.default_rng(0).standard_normal(cfg.texture.code_dim).astype(np.float32),
            np.zeros(g.mesh.shape_dim, np.float32),
            np.zeros(NUM_BLENDSHAPES, np.float32),
            cfg.hair.styles[0],
        )
    rng = np.random.default_rng(1)
    labels = [
        torch.tensor([Camera.orbit(7.0 * i, 5.0 * np.sin(i)).label()], dtype=torch.float32, device=dev)
        for i in range(frames + 1)
    ]
    t0 = torch.as_tensor(subject.texture_code, device=dev)[None]
    s0 = torch.as_tensor(subject.shape_code, device=dev)[None]
    b0 = torch.as_tensor(subject.blend_weights, device=dev)[None]
    hairstyle = subject.hairstyle or cfg.hair.styles[0]
    planes = subject_planes(g, subject, subject.blend_weights, hairstyle)
    result: dict = {
        "load_average_1min": round(os.getloadavg()[0], 2),  # other work on this machine skews wall times
        "preset": cfg.name,
        "device": str(dev),
        "torch_threads": torch.get_num_threads(),
        "mesh_vertices": g.mesh.num_vertices,
        "mesh_faces": int(len(g.mesh.faces)),
        "image_resolution": cfg.image_resolution,
        "trained": bool(checkpoint.info.get("trained", True)),
    }
    occ = g.occupancy(planes)
    result["occupied_fraction"] = round(float(occ.float().mean()), 4)
    for qname, q in cfg.renderer.qualities.items():
        cam_ms, cam_cpu = _time_frames(lambda i, q=qname: g.render(planes, labels[i], quality=q), frames, dev)
        codes = [torch.as_tensor(rng.standard_normal(t0.shape), dtype=torch.float32) for _ in range(frames + 1)]
        codes = [c.to(dev) for c in codes]
        code_ms, code_cpu = _time_frames(
            lambda i, q=qname, c=codes: g.render(g.planes(c[i], s0, b0, hairstyle), labels[i], quality=q), frames, dev
        )
        weights = [torch.as_tensor(rng.uniform(0, 0.5, b0.shape), dtype=torch.float32) for _ in range(frames + 1)]
        weights = [w.to(dev) for w in weights]
        blend_ms, blend_cpu = _time_frames(
            lambda i, q=qname, w=weights: g.render(g.planes(t0, s0, w[i], hairstyle), labels[i], quality=q), frames, dev
        )
        result[f"{qname}"] = {
            "neural_resolution": q.neural_resolution,
            "samples_per_ray": q.coarse_samples + q.importance_samples,
            "output_resolution": cfg.image_resolution,
            "superres_blocks": q.superres_blocks or len(cfg.superres.channels),
            "occupancy_resolution": q.occupancy_resolution or cfg.renderer.occupancy_resolution,
            "camera_only_ms": round(cam_ms, 1),
            "camera_only_fps": round(1000.0 / cam_ms, 1),
            "code_change_ms": round(code_ms, 1),
            "code_change_fps": round(1000.0 / code_ms, 1),
            "blendshape_change_ms": round(blend_ms, 1),
            "cpu_ms": {
                "camera_only": round(cam_cpu, 1),
                "code_change": round(code_cpu, 1),
                "blendshape": round(blend_cpu, 1),
            },
        }
    # mesh export at the default (automatic) iso
    start, cpu = time.perf_counter(), time.process_time()
    mesh = extract_mesh(g, planes, mesh_resolution)
    iso = mesh.iso
    export_s, export_cpu = time.perf_counter() - start, time.process_time() - cpu
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        save_mesh(mesh, Path(tmp) / "bench.obj")
        obj_s = time.perf_counter() - start
    result["mesh_export"] = {
        "resolution": mesh_resolution,
        "iso": round(iso, 4),
        "extract_s": round(export_s, 2),  # density grid + marching cubes + vertex colours
        "extract_cpu_s": round(export_cpu, 2),
        "obj_write_s": round(obj_s, 2),
        "vertices": int(len(mesh.vertices)),
        "faces": int(len(mesh.faces)),
    }
    result["parameters"] = parameter_counts(g)
    if paper:
        result["paper_parameters"] = paper_parameter_counts(g.mesh)
    return result
