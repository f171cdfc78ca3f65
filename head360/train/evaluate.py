"""``main.py eval``: PSNR and SSIM (LPIPS when its weights exist locally) of a trained checkpoint on
the data its training never saw, grouped by yaw so 360-degree quality shows.

Groups (from the split recorded in the checkpoint at train time):

* ``held_out_views``: training subjects and expressions, rig views never trained on;
* ``held_out_expressions``: training subjects, expressions never trained on (every view);
* ``held_out_subjects``: subjects never trained on. They have no learned texture code, so one is fitted
  with the network frozen (Adam on the code alone, L1 on the final and raw images) on the subject's
  front views (yaw within 45 degrees, training views only) and the subject is evaluated on its other
  views;
* ``training_images``: a sample of what training saw, as a reference.

Each group reports the mean over images and the same split by yaw: ``front`` (within 45 degrees of the
face), ``side``, ``back`` (within 45 degrees of the back). Besides the whole image (whose white
background lifts PSNR), every group reports the regions users look at, from the ground truth's label
map: ``face_psnr`` / ``face_ssim`` over the pixels marked skin, eyes or mouth interior, and
``eyes_mouth_psnr`` over eyes and mouth interior alone (images that show none are left out of it), and
``hair_psnr`` over the pixels marked hair, reported per hairstyle (``by_hairstyle``: the images of heads
wearing it, hair variants included).

``expression_response`` measures whether expressions move as the data does: for each expression, a
subject's bald front views (yaw within 45 degrees) are rendered with that expression and neutral;
``response`` = sum |render(e) - render(neutral)| / sum |truth(e) - truth(neutral)| over the face region
of either truth (1.0 is right, 0 is a model that does not move) and ``correlation`` is the Pearson
correlation of the two difference images there; held-out expressions and the subjects never trained on
(with their fitted codes) are reported apart. Metrics are computed at the model's output
resolution (the ground truth is downscaled to it; a dataset smaller than the model's output is compared
at the dataset's resolution instead, and the JSON says which).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from head360.cameras import yaw_group
from head360.errors import Head360Error

FIT_LR = 0.05
FIT_BATCH = 4


def _resolve_checkpoint(path: str) -> Path:
    p = Path(path)
    if p.is_dir():
        p = p / "checkpoint.safetensors"
    return p


REGION_METRICS = ("face_psnr", "face_ssim", "eyes_mouth_psnr", "hair_psnr")
EXPRESSION_VIEWS = 6
"""Bald front views per subject and expression that ``expression_response`` renders."""


def _mean(values: list[float | None]) -> float | None:
    values = [v for v in values if v is not None and np.isfinite(v)]
    return round(float(np.mean(values)), 4) if values else None


def _metrics_of(rows: list[dict], with_lpips: bool) -> dict:
    names = ["psnr", "ssim", *REGION_METRICS] + (["lpips"] if with_lpips else [])
    return {"images": len(rows), **{n: _mean([r.get(n) for r in rows]) for n in names}}


def _summary(rows: list[dict], with_lpips: bool) -> dict:
    out = _metrics_of(rows, with_lpips)
    subjects = sorted({r["subject"] for r in rows if "subject" in r})
    out["by_subject"] = {
        sid: {n: _mean([r.get(n) for r in rows if r.get("subject") == sid]) for n in ("psnr", *REGION_METRICS)}
        for sid in subjects
    }
    styles = sorted({r["hairstyle"] for r in rows if r.get("hairstyle")})
    out["by_hairstyle"] = {
        style: {
            "images": sum(1 for r in rows if r.get("hairstyle") == style),
            "hair_psnr": _mean([r.get("hair_psnr") for r in rows if r.get("hairstyle") == style]),
        }
        for style in styles
    }
    out["by_yaw"] = {
        g: _metrics_of([r for r in rows if r["yaw_group"] == g], with_lpips) for g in ("front", "side", "back")
    }
    return out


def region_masks(label_map: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Label maps [B, H, W] -> (face mask, eyes + mouth mask), each [B, 1, H, W] float: the face is what
    the truth marks skin, eyes or mouth interior."""
    from head360.labels import Label

    eyes_mouth = (label_map == int(Label.EYES)) | (label_map == int(Label.MOUTH_INTERIOR))
    face = eyes_mouth | (label_map == int(Label.SKIN))
    return face[:, None].float(), eyes_mouth[:, None].float()


def difference_response(render_d: torch.Tensor, truth_d: torch.Tensor, mask: torch.Tensor) -> tuple[float, float]:
    """Rendered and true differences from neutral [3, H, W] over a mask [1, H, W] -> (response =
    sum |render_d| / sum |truth_d|, Pearson correlation of the two)."""
    m = mask.expand_as(truth_d) > 0
    a, b = render_d[m].double(), truth_d[m].double()
    total = float(b.abs().sum())
    if total <= 0:
        return float("nan"), float("nan")
    response = float(a.abs().sum()) / total
    a, b = a - a.mean(), b - b.mean()
    den = float(a.norm() * b.norm())
    return response, (float((a * b).sum()) / den if den > 0 else 0.0)


class _Evaluator:
    def __init__(self, checkpoint: str, data: str, device: str):
        from head360.data.dataset import HeadDataset
        from head360.model.checkpoint import load_checkpoint
        from head360.train.data import DataSplit, largest_power_of_two
        from head360.train.trainer import lpips_loss_fn

        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if device == "cuda" and not torch.cuda.is_available():
            raise Head360Error("--device cuda was asked for but this machine has no usable CUDA GPU; use --device cpu")
        self.dev = torch.device(device)
        self.path = _resolve_checkpoint(checkpoint)
        self.ckpt = load_checkpoint(self.path, self.dev)
        if "split" not in self.ckpt.info:
            raise Head360Error(
                f"'{self.path}' was not written by training (it records no train/held-out split); "
                "evaluate a checkpoint from `main.py train`"
            )
        self.split = DataSplit.from_json(self.ckpt.info["split"])
        self.G = self.ckpt.generator.eval().requires_grad_(False)
        probe = HeadDataset(data)
        self.model_resolution = self.G.config.image_resolution
        self.resolution = min(self.model_resolution, largest_power_of_two(probe.native_resolution))
        self.ds = HeadDataset(data, resolution=self.resolution)
        self.lpips = lpips_loss_fn(self.dev)
        self.table = {s.name: s for s in self.ckpt.subjects}

    # --- rendering ----------------------------------------------------------------------------------
    def _inputs(self, indices: list[int]):
        samples = [self.ds[i] for i in indices]
        image = torch.stack([s["image"] for s in samples]).to(self.dev)
        cams = torch.stack([s["camera"] for s in samples]).to(self.dev)
        weights = torch.stack([s["weights"] for s in samples]).to(self.dev)
        shape = torch.stack([s["shape"] for s in samples]).to(self.dev)
        styles = []
        for s in samples:
            name = self.ds.hairstyles[s["hairstyle"]]
            styles.append(name if name in self.G.hairstyles else None)
        colors = None
        if self.G.hair_color is not None:  # the hair colour each image shows
            colors = torch.stack([s["hair_color"] for s in samples]).to(self.dev)
        return samples, image, cams, weights, shape, styles, colors

    def _render(self, codes, shape, weights, cams, styles, grad: bool = False, colors=None):
        planes = self.G.planes(codes, shape, weights, styles, hair_color=colors)
        out = self.G.render(planes, cams, quality="full", hair=True, skip_empty=False if grad else None)
        rgb = out["rgb"]
        if rgb.shape[-1] != self.resolution:
            rgb = F.interpolate(rgb, size=(self.resolution,) * 2, mode="bilinear", align_corners=False, antialias=True)
        return rgb, out["raw"]

    @torch.no_grad()
    def measure(self, indices: list[int], code_of) -> list[dict]:
        """Render dataset items with texture codes ``code_of(subject_id) -> [Zt]`` -> per-image metrics."""
        from head360.labels import Label
        from head360.train.losses import psnr, ssim

        rows = []
        for start in range(0, len(indices), 8):
            chunk = indices[start : start + 8]
            samples, image, cams, weights, shape, styles, colors = self._inputs(chunk)
            codes = torch.stack([code_of(self.ds.records[i]["subject"]) for i in chunk]).to(self.dev)
            rgb, _ = self._render(codes, shape, weights, cams, styles, colors=colors)
            rgb = rgb.float().clamp(0.0, 1.0)
            p, s = psnr(rgb, image).tolist(), ssim(rgb, image).tolist()
            face, eyes_mouth = region_masks(torch.stack([x["label_map"] for x in samples]).to(self.dev))
            fp, fs = psnr(rgb, image, mask=face).tolist(), ssim(rgb, image, mask=face).tolist()
            ep = psnr(rgb, image, mask=eyes_mouth).tolist()
            hair_mask = (torch.stack([x["label_map"] for x in samples]).to(self.dev) == int(Label.HAIR))[:, None]
            hp = psnr(rgb, image, mask=hair_mask.float()).tolist()
            has_hair = (hair_mask.sum((1, 2, 3)) > 0).tolist()
            has_face, has_em = (face.sum((1, 2, 3)) > 0).tolist(), (eyes_mouth.sum((1, 2, 3)) > 0).tolist()
            lp = self.lpips(rgb * 2 - 1, image * 2 - 1).flatten().tolist() if self.lpips is not None else None
            for k, sample in enumerate(samples):
                row = {"psnr": p[k], "ssim": s[k], "yaw_group": yaw_group(sample["yaw"])}
                row["subject"] = self.ds.records[chunk[k]]["subject"]
                row["face_psnr"] = fp[k] if has_face[k] else None
                row["face_ssim"] = fs[k] if has_face[k] else None
                row["eyes_mouth_psnr"] = ep[k] if has_em[k] else None
                row["hair_psnr"] = hp[k] if has_hair[k] else None
                row["hairstyle"] = self.ds.hairstyles[int(sample["hairstyle"])] if sample["hair"] else None
                if lp is not None:
                    row["lpips"] = lp[k]
                rows.append(row)
        return rows

    @torch.no_grad()
    def expression_response(self, subjects: list[str], expressions: list[str], code_of) -> dict[str, dict]:
        """Per expression: mean response and correlation over the subjects' bald front views (module doc)."""
        from head360.arkit import NEUTRAL

        lookup = {}
        for i, r in enumerate(self.ds.records):
            if not r["hair"] and yaw_group(float(r["yaw_deg"])) == "front":
                lookup.setdefault((r["subject"], r["expression"]), []).append(i)
        neutral_cache: dict[int, torch.Tensor] = {}

        def render(indices: list[int], sid: str) -> torch.Tensor:
            samples, _, cams, weights, shape, styles, _ = self._inputs(indices)
            codes = torch.stack([code_of(sid)] * len(indices)).to(self.dev)
            return self._render(codes, shape, weights, cams, [None] * len(indices))[0].float().clamp(0, 1)

        out = {}
        for expr in expressions:
            values = []
            for sid in subjects:
                pairs = []
                neutral_by_view = {int(self.ds.records[i]["view"]): i for i in lookup.get((sid, NEUTRAL), [])}
                for i in lookup.get((sid, expr), []):
                    j = neutral_by_view.get(int(self.ds.records[i]["view"]))
                    if j is not None:
                        pairs.append((i, j))
                pairs = pairs[:: max(1, len(pairs) // EXPRESSION_VIEWS)][:EXPRESSION_VIEWS]
                if not pairs:
                    continue
                todo = [j for _, j in pairs if j not in neutral_cache]
                if todo:
                    for j, img in zip(todo, render(todo, sid), strict=True):
                        neutral_cache[j] = img
                rendered = render([i for i, _ in pairs], sid)
                for (i, j), img in zip(pairs, rendered, strict=True):
                    a, b = self.ds[i], self.ds[j]
                    face_a, _ = region_masks(a["label_map"][None])
                    face_b, _ = region_masks(b["label_map"][None])
                    mask = torch.maximum(face_a, face_b)[0].to(self.dev)
                    truth_d = (a["image"] - b["image"]).to(self.dev)
                    values.append(difference_response(img - neutral_cache[j], truth_d, mask))
            if values:
                arr = np.array(values, np.float64)
                out[expr] = {"response": _mean(arr[:, 0].tolist()), "correlation": _mean(arr[:, 1].tolist()),
                             "views": len(values)}  # fmt: skip
        return out

    def fit_code(self, indices: list[int], steps: int, seed: int) -> torch.Tensor:
        """A texture code [Zt] for one subject from its images ``indices`` (network frozen)."""
        gen = torch.Generator().manual_seed(seed)
        table = np.stack([s.texture_code for s in self.ckpt.subjects]) if self.ckpt.subjects else None
        zt = self.G.config.texture.code_dim
        start = torch.as_tensor(table.mean(0)) if table is not None else torch.zeros(zt)
        start = start + 0.1 * torch.randn(zt, generator=gen)
        code = start.to(self.dev).clone().requires_grad_(True)
        opt = torch.optim.Adam([code], lr=FIT_LR)
        _, image, cams, weights, shape, styles, colors = self._inputs(indices)
        for _ in range(steps):
            pick = torch.randperm(len(indices), generator=gen)[:FIT_BATCH].tolist()
            rgb, raw = self._render(
                code[None].expand(len(pick), -1),
                shape[pick],
                weights[pick],
                cams[pick],
                [styles[i] for i in pick],
                True,
                None if colors is None else colors[pick],
            )
            target = image[pick]
            small = F.interpolate(target, size=raw.shape[-2:], mode="bilinear", align_corners=False, antialias=True)
            loss = (rgb - target).abs().mean() + (raw - small).abs().mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return code.detach()


def _pick(indices: list[int], limit: int, seed: int) -> list[int]:
    if len(indices) <= limit:
        return indices
    rng = np.random.default_rng(seed)
    return sorted(rng.choice(indices, size=limit, replace=False).tolist())


def _groups(ev: _Evaluator) -> tuple[dict[str, list[int]], dict[str, dict[str, list[int]]]]:
    """Dataset indices of each group of training subjects, and per subject never trained on its
    ``fit`` images (front views, training views only) and ``eval`` images (the rest)."""
    trained = set(ev.table)
    held_views = set(ev.split.holdout_views)
    held_expr = set(ev.split.holdout_expressions)
    groups: dict[str, list[int]] = {"held_out_views": [], "held_out_expressions": [], "training_images": []}
    held_subjects: dict[str, dict[str, list[int]]] = {}
    for i, r in enumerate(ev.ds.records):
        sid, expr, view = r["subject"], r["expression"], int(r["view"])
        if sid in trained:
            if expr in held_expr:
                groups["held_out_expressions"].append(i)
            elif view in held_views:
                groups["held_out_views"].append(i)
            else:
                groups["training_images"].append(i)
        else:
            entry = held_subjects.setdefault(sid, {"fit": [], "eval": []})
            front = yaw_group(float(r["yaw_deg"])) == "front" and view not in held_views
            entry["fit" if front else "eval"].append(i)
    return groups, held_subjects


def fit_held_out_codes(checkpoint: str, data: str, fit_steps: int = 300, device: str = "auto") -> dict[str, dict]:
    """Texture codes of the subjects of ``data`` that ``checkpoint`` never trained on, fitted exactly as
    :func:`evaluate` fits them. -> {subject id: {"texture_code" [Zt], "shape_code" [50], "hairstyle"}}
    (numpy float32; hairstyle: the subject's in the dataset, None when the model does not know it)."""
    ev = _Evaluator(checkpoint, data, device)
    _, held_subjects = _groups(ev)
    out = {}
    for k, (sid, entry) in enumerate(sorted(held_subjects.items())):
        if not entry["fit"]:
            continue
        code = ev.fit_code(_pick(entry["fit"], 64, 2), fit_steps, seed=k)
        record = next(s for s in ev.ds.subjects if s["id"] == sid)
        style = record.get("hairstyle")
        out[sid] = {
            "texture_code": code.cpu().numpy().astype(np.float32),
            "shape_code": np.asarray(record["shape"], np.float32),
            "hairstyle": style if style in ev.G.hairstyles else None,
        }
    return out


def evaluate(checkpoint: str, data: str, max_images: int = 200, fit_steps: int = 300, device: str = "auto") -> dict:
    """Metrics of ``checkpoint`` on dataset folder ``data`` as a JSON-able dict (see the module doc)."""
    ev = _Evaluator(checkpoint, data, device)
    split = ev.split
    groups, held_subjects = _groups(ev)

    def own_code(sid: str) -> torch.Tensor:
        return torch.as_tensor(ev.table[sid].texture_code)

    with_lpips = ev.lpips is not None
    report_groups: dict[str, dict] = {}
    notes = {
        "held_out_views": "training subjects and expressions seen from rig views never trained on",
        "held_out_expressions": "training subjects with expressions never trained on, every view",
        "training_images": "a sample of the images training saw (reference)",
    }
    for name in ("held_out_views", "held_out_expressions"):
        idx = _pick(groups[name], max_images, 1)
        report_groups[name] = {**_summary(ev.measure(idx, own_code), with_lpips), "about": notes[name]}
        if not groups[name]:
            report_groups[name]["note"] = "the split holds out nothing of this kind for this dataset"

    fitted: dict[str, torch.Tensor] = {}
    fit_images = 0
    eval_indices: list[int] = []
    per_subject = max(1, max_images // max(1, len(held_subjects)))
    for k, (sid, entry) in enumerate(sorted(held_subjects.items())):
        if not entry["fit"] or not entry["eval"]:
            continue
        fit_idx = _pick(entry["fit"], 64, 2)
        fitted[sid] = ev.fit_code(fit_idx, fit_steps, seed=k)
        fit_images += len(fit_idx)
        eval_indices += _pick(entry["eval"], per_subject, 3)
    rows = ev.measure(eval_indices, lambda sid: fitted[sid].cpu())
    report_groups["held_out_subjects"] = {
        **_summary(rows, with_lpips),
        "subjects": sorted(fitted),
        "about": "subjects never trained on: evaluated on the views not used to fit their code",
        "texture_codes": (
            f"fitted per subject with the network frozen: {fit_steps} Adam steps (lr {FIT_LR}, batch {FIT_BATCH}, "
            f"L1 on the final and raw images) on its front views (yaw within 45 deg, training views); "
            f"{fit_images} fitting images in all"
        ),
    }
    if not fitted:
        report_groups["held_out_subjects"]["note"] = "no held-out subject in this dataset"
    idx = _pick(groups["training_images"], max_images, 4)
    report_groups["training_images"] = {
        **_summary(ev.measure(idx, own_code), with_lpips),
        "about": notes["training_images"],
    }

    from head360.arkit import NEUTRAL

    trained_expr = [e for e in split.train_expressions if e != NEUTRAL]
    train_subjects = [sid for sid in split.train_subjects if sid in ev.table]
    expression = {
        "about": "bald front views: response = sum|render(e) - render(neutral)| / sum|truth(e) - truth(neutral)| "
        "over the face region (1.0 is right); correlation of the two difference images",
        "trained_expressions": ev.expression_response(train_subjects, trained_expr, own_code),
        "held_out_expressions": ev.expression_response(train_subjects, list(split.holdout_expressions), own_code),
    }
    if fitted:
        expression["held_out_subjects"] = ev.expression_response(
            sorted(fitted), trained_expr + list(split.holdout_expressions), lambda sid: fitted[sid].cpu()
        )

    info = ev.ckpt.info
    return {
        "checkpoint": str(ev.path),
        "data": str(data),
        "preset": info.get("preset"),
        "step": info.get("step"),
        "stages_completed": info.get("stages_completed"),
        "resolution": ev.resolution,
        "model_resolution": ev.model_resolution,
        "metrics": ["psnr", "ssim"] + (["lpips"] if with_lpips else []),
        "lpips": "computed" if with_lpips else "unavailable (no LPIPS weights on this machine; nothing is downloaded)",
        "yaw_groups": "front: |yaw| <= 45 deg, back: |yaw - 180| <= 45 deg, side: the rest",
        "split": split.to_json(),
        "groups": report_groups,
        "expression_response": expression,
    }
