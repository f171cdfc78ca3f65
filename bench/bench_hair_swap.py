"""How cleanly a checkpoint swaps hairstyles, against the factory's ground truth; prints one JSON object.

    python bench/bench_hair_swap.py --checkpoint assets/demo.safetensors --data DIR [--subjects s000,s001]
                                    [--yaw 45] [--max-images 96] [--all-views]

DIR is a dataset made with ``synth --hair-variants K``: its variant images show a subject wearing
another subject's hairstyle. For every variant image of a subject in the checkpoint's table (yaw within
``--yaw`` degrees of the face; the subject's own texture code), the model renders that subject with that
hairstyle (in the variant's hair colour, for a model with the colour input), and the same view with the
subject's own hairstyle and bald. Reported per kind (``swapped``,
``own_hair``, ``bald``): PSNR over the whole image and over the face the hair leaves visible (pixels whose
ground-truth label is skin, eyes or mouth in the variant image *and* in the bald image of that view, so
the same pixels for all three kinds). A swap that changes only the hair keeps ``swapped.face_psnr`` close
to ``bald.face_psnr``; a haze of another face drags it down. Only the rig views the checkpoint's training
held out are measured (a model trained on the variant images has seen the others) unless ``--all-views``.
Figures, never assertions.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    import numpy as np
    import torch
    import torch.nn.functional as F

    from head360.data.dataset import HeadDataset
    from head360.errors import Head360Error
    from head360.labels import Label
    from head360.model.checkpoint import load_checkpoint

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--subjects", default=None, help="comma-separated subject ids (default: all the model knows)")
    p.add_argument("--yaw", type=float, default=45.0, help="largest |yaw| of the views measured (degrees)")
    p.add_argument("--max-images", type=int, default=96)
    p.add_argument("--all-views", action="store_true", help="also the views training saw")
    args = p.parse_args()

    ckpt = load_checkpoint(args.checkpoint)
    g = ckpt.generator.eval()
    table = {s.name: s for s in ckpt.subjects}
    wanted = set(args.subjects.split(",")) if args.subjects else set(table)
    held_out = ckpt.info.get("split", {}).get("holdout_views")
    views = None if args.all_views or not held_out else [int(v) for v in held_out]
    ds = HeadDataset(args.data, expressions=["neutral"], views=views, resolution=g.config.image_resolution)
    by_key = {(r["subject"], r["view"], r["hairstyle"] if r["hair"] else None): i for i, r in enumerate(ds.records)}
    variants = [
        i
        for i, r in enumerate(ds.records)
        if r.get("hair_variant")
        and r["subject"] in wanted & set(table)
        and min(abs(r["yaw_deg"]) % 360, 360 - abs(r["yaw_deg"]) % 360) <= args.yaw
        and r["hairstyle"] in g.hairstyles
    ]
    if not variants:
        raise Head360Error(
            f"'{args.data}' has no hair-variant images of the checkpoint's subjects within the yaw range "
            "(make the dataset with `synth --hair-variants K`)"
        )
    rng = np.random.default_rng(0)
    if len(variants) > args.max_images:
        variants = sorted(rng.choice(variants, size=args.max_images, replace=False).tolist())
    face = (int(Label.SKIN), int(Label.EYES), int(Label.MOUTH_INTERIOR))

    cache: dict = {}

    def render(subject: str, view_camera, style, color=None):
        """The model's image of ``subject`` wearing ``style`` from a camera; a subject's own-hair and bald
        renders of a view serve every variant of that view."""
        key = (subject, tuple(view_camera.tolist()), style, None if color is None else tuple(color.tolist()))
        if key not in cache:
            cache[key] = _render(subject, view_camera, style, color)
        return cache[key]

    def _render(subject: str, view_camera, style, color=None):
        """``color``: the hair colour the truth shows (a model with the colour input renders it)."""
        s = table[subject]
        t = torch.as_tensor(s.texture_code)[None]
        shape = torch.as_tensor(s.shape_code)[None]
        color = None if g.hair_color is None or color is None or bool((color < 0).any()) else color
        with torch.no_grad():
            planes = g.planes(t, shape, torch.zeros(1, 52), style, hair_color=color)
            rgb = g.render(planes, view_camera[None], quality="full", hair=style is not None)["rgb"]
        if rgb.shape[-1] != ds.resolution:
            rgb = F.interpolate(rgb, size=(ds.resolution,) * 2, mode="bilinear", align_corners=False, antialias=True)
        return rgb[0].clamp(0, 1)

    def psnr(a, b, mask=None):
        err = (a - b).square().mean(0)
        mse = err[mask].mean() if mask is not None else err.mean()
        return float(10 * torch.log10(1.0 / mse.clamp(min=1e-10)))

    rows = {"swapped": [], "own_hair": [], "bald": []}
    pairs: dict[str, list] = {}
    for i in variants:
        r = ds.records[i]
        sid, view = r["subject"], r["view"]
        bald_i = by_key.get((sid, view, None))
        own_style = table[sid].hairstyle
        own_i = by_key.get((sid, view, own_style))
        if bald_i is None or own_i is None:
            continue
        var, bald, own = ds[i], ds[bald_i], ds[own_i]
        mask = torch.isin(var["label_map"], torch.tensor(face)) & torch.isin(bald["label_map"], torch.tensor(face))
        if int(mask.sum()) < 50:
            continue
        for kind, truth, style in (
            ("swapped", var, r["hairstyle"]),
            ("own_hair", own, own_style),
            ("bald", bald, None),
        ):
            color = truth["hair_color"]
            out = (
                _render(sid, var["camera"], style, color)
                if kind == "swapped"
                else render(sid, var["camera"], style, color)
            )
            rows[kind].append((psnr(out, truth["image"]), psnr(out, truth["image"], mask)))
        pairs.setdefault(f"{sid}+{r['hairstyle']}", []).append({kind: v[-1] for kind, v in rows.items()})

    def summary(values):
        a = np.asarray(values)
        return {"images": len(a), "psnr": round(float(a[:, 0].mean()), 3), "face_psnr": round(float(a[:, 1].mean()), 3)}

    print(json.dumps({
        "checkpoint": str(args.checkpoint),
        "data": args.data,
        "swaps": {pair: {kind: summary([x[kind] for x in v]) for kind in rows} for pair, v in sorted(pairs.items())},
        "yaw_max_deg": args.yaw,
        "views": "all" if views is None else "held out from training",
        **{kind: summary(v) for kind, v in rows.items()},
    }, indent=1))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
