"""What the studio's preview quality costs in picture and buys in speed, against the factory's truth;
prints one JSON object.

    python bench/bench_preview.py --checkpoint assets/demo.safetensors --data DIR [--images 24] [--threads 1]

DIR is the dataset the checkpoint was trained on. Held-out views (the checkpoint's split) of its training
subjects, with hair, at every expression, are rendered from the subjects' own texture codes at each
quality: ``full``, ``preview`` as the model's configuration has it, ``preview`` with every
super-resolution block (``superres_blocks=0``; the demo preset's preview stops one 2x block early), and
``preview`` with the renderer's occupancy grid (``occupancy_resolution=0``; the demo preview's is 32³).
Reported per quality: face-region PSNR (pixels the truth labels skin, eyes or mouth interior) and
whole-image PSNR against the truth, and milliseconds per frame when only the camera moves (planes and
occupancy grid made once per head, as in the studio). Figures, never assertions.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    import numpy as np
    import torch
    import torch.nn.functional as F

    from head360.data.dataset import HeadDataset
    from head360.errors import Head360Error
    from head360.model.checkpoint import load_checkpoint
    from head360.train.evaluate import region_masks

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--images", type=int, default=24)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = p.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    ckpt = load_checkpoint(args.checkpoint)
    g = ckpt.generator.eval()
    split = ckpt.info.get("split") or {}
    table = {s.name: s for s in ckpt.subjects}
    subjects = [s for s in split.get("train_subjects", []) if s in table]
    views = split.get("holdout_views")
    if not subjects or not views:
        raise Head360Error(f"'{args.checkpoint}' records no training split; pass a checkpoint written by training")
    ds = HeadDataset(args.data, hair=True, subjects=subjects, views=[int(v) for v in views],
                     resolution=g.config.image_resolution)  # fmt: skip
    picks = np.linspace(0, len(ds) - 1, min(args.images, len(ds))).round().astype(int)
    preview = g.quality("preview")
    qualities = {
        "full": g.quality("full"),
        "preview": preview,
        "preview_all_superres_blocks": dataclasses.replace(preview, superres_blocks=0),
        "preview_renderer_grid": dataclasses.replace(preview, occupancy_resolution=0),
    }
    rows = {name: [] for name in qualities}
    with torch.no_grad():
        for i in picks:
            sample = ds[int(i)]
            r = ds.records[int(i)]
            s = table[r["subject"]]
            style = r["hairstyle"] if r["hairstyle"] in g.hairstyles else None
            color = sample["hair_color"] if g.hair_color is not None and sample["hair_color"].min() >= 0 else None
            planes = g.planes(torch.as_tensor(s.texture_code)[None], torch.as_tensor(s.shape_code)[None],
                              sample["weights"][None], style, hair_color=color)  # fmt: skip
            cam = sample["camera"][None]
            face, _ = region_masks(sample["label_map"][None])
            for name, q in qualities.items():
                g.render(planes, cam, quality=q)  # warm: the occupancy grid is made once per head
                start = time.perf_counter()
                rgb = g.render(planes, cam, quality=q)["rgb"].clamp(0, 1)
                ms = (time.perf_counter() - start) * 1000.0
                if rgb.shape[-1] != ds.resolution:
                    rgb = F.interpolate(rgb, size=(ds.resolution,) * 2, mode="bilinear", antialias=True)
                err = (rgb[0] - sample["image"]).square().mean(0)
                m = face[0, 0] > 0
                face_mse = float(err[m].mean()) if m.any() else float("nan")
                rows[name].append(
                    (10 * np.log10(1.0 / max(face_mse, 1e-10)), 10 * np.log10(1.0 / float(err.mean())), ms)
                )

    def summary(values):
        a = np.asarray(values, np.float64)
        return {"face_psnr": round(float(np.nanmean(a[:, 0])), 3), "psnr": round(float(a[:, 1].mean()), 3),
                "camera_only_ms": round(float(np.median(a[:, 2])), 1)}  # fmt: skip

    print(json.dumps({
        "checkpoint": str(args.checkpoint),
        "images": len(picks),
        "threads": torch.get_num_threads(),
        "qualities": {name: dataclasses.asdict(q) for name, q in qualities.items()},
        **{name: summary(v) for name, v in rows.items()},
    }, indent=1))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
