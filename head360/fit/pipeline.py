"""From one portrait to an animatable 360-degree head: the whole photo fit (supplement A.3).

    result = fit_photo("me.jpg", "assets/demo.safetensors", steps=60, progress=callback)
    result.subject.save("me.h360")        # render / turntable / export-mesh / the studio load it

Stages: load the photo -> mediapipe landmarks (largest face) -> landmark fit of the mesh (shape code,
ARKit weights, pose, focal) -> normalise to the model's crop and camera -> segment face / hair / neck ->
pick the hairstyle -> pick a synthetic head whose skin tone is closest -> reference image (photo face
composited into the synthetic render) -> GAN inversion of the neural texture -> subject file.

``progress(step, total, loss, image)`` is called during the whole fit: the first ``PREPARATION_STEPS``
steps are the stages before the inversion (loss NaN, image: what the stage produced), then one call per
inversion step (loss: the weighted MSE, an intermediate render every few steps, else None). ``log``
gets one line per stage.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from head360.errors import Head360Error
from head360.fit.invert import InversionConfig, ProgressFn
from head360.fit.meshfit import LandmarkFitConfig

PREPARATION_STEPS = 6


@dataclass
class FitConfig:
    """Settings of a photo fit (the CLI's --steps sets ``inversion.steps``)."""

    mesh: LandmarkFitConfig = field(default_factory=LandmarkFitConfig)
    inversion: InversionConfig = field(default_factory=InversionConfig)
    hairstyle: str | None = "auto"
    """"auto" (classifier / silhouettes), a hairstyle name of the model, or None / "none" (bald)."""
    texture_candidates: int = 16
    """Synthetic heads (texture codes) tried for the closest skin tone: up to this many of the
    checkpoint's training subjects (the codes a model renders best); random codes only for a checkpoint
    without subjects."""
    seed: int = 0


@dataclass
class FitResult:
    """What a fit produced.

    subject:            the head (``head360.model.checkpoint.Subject``): save it as .h360
    mesh_fit:           the landmark fit (``head360.fit.meshfit.MeshFit``) in the photo's pixels
    hairstyle:          the chosen hairstyle (None = bald); hairstyle_scores: every candidate's score
    hairstyle_method:   "classifier", "silhouettes" or "given"
    warnings:           lines to show the user (several faces, small face, turned head, ...)
    images:             uint8 [R, R, 3] images: "photo" (normalised), "segmentation", "synthetic",
                        "reference", "front", "side", "back" (renders of the fitted head)
    losses:             inversion loss per step
    psnr_face:          PSNR (dB) of the fitted front render against the photo inside the face
    timings:            seconds per stage
    """

    subject: object
    mesh_fit: object
    hairstyle: str | None
    hairstyle_scores: dict[str, float]
    hairstyle_method: str
    warnings: list[str]
    images: dict[str, np.ndarray]
    losses: list[float]
    psnr_face: float
    timings: dict[str, float]
    used_discriminator: bool = False
    face_mask: np.ndarray | None = None

    def strip(self) -> np.ndarray:
        """Photo | front | side | back, side by side: [R, 4R, 3] uint8."""
        return np.concatenate([self.images[k] for k in ("photo", "front", "side", "back")], axis=1)

    def save_images(self, folder: str | Path) -> list[Path]:
        from head360.fileio import ensure_writable_dir, write_image

        folder = ensure_writable_dir(folder)
        paths = []
        for name, image in {**self.images, "strip": self.strip()}.items():
            path = folder / f"{name}.png"
            write_image(path, image)
            paths.append(path)
        return paths

    def summary(self) -> dict:
        """JSON-able diagnostics."""
        yaw, pitch, roll = self.mesh_fit.view_angles()
        ranked = sorted(self.hairstyle_scores.items(), key=lambda kv: -kv[1])
        fit = self.mesh_fit
        return {
            "source": self.subject.source,
            "hairstyle": self.hairstyle,
            "hairstyle_method": self.hairstyle_method,
            "hairstyle_scores": {k: round(v, 3) for k, v in ranked},
            "hair_color": None if self.subject.hair_color is None else list(self.subject.hair_color),
            "landmark_error_px": {"before": round(fit.error_init_px, 2), "after": round(fit.error_px, 2)},
            "landmark_error_face_share": round(self.mesh_fit.error_relative, 4),
            "view_deg": {"yaw": round(yaw, 1), "pitch": round(pitch, 1), "roll": round(roll, 1)},
            "psnr_face_db": round(self.psnr_face, 2),
            "loss_first_last": [round(self.losses[0], 5), round(self.losses[-1], 5)] if self.losses else [],
            "discriminator_loss": self.used_discriminator,
            "warnings": self.warnings,
            "seconds": {k: round(v, 2) for k, v in self.timings.items()},
        }  # fmt: skip


MIN_HAIR_PIXELS = 200
"""Fewer hair pixels in the photo's segmentation than this: the hairstyle keeps its own colour."""


def fit_hair_color(g, texture_code, shape_code, blend_weights, camera, hairstyle: str, photo_hair: np.ndarray,
                   quality, iterations: int = 3) -> tuple[float, float, float]:  # fmt: skip
    """The hair colour input (sRGB 0..1) under which the model's hair, rendered from ``camera``, has the
    mean colour of the photo's hair pixels ``photo_hair`` [N, 3] uint8. The input is the hair's albedo
    and a render shows it shaded, so the colour is found by rendering: start from the photo's colour,
    then scale each channel (linear light) by photo / render, ``iterations`` renders in all; the colour
    whose render came closest wins (a model that follows its colour input only partly cannot run away
    to a colour further from the photo's than the photo's own)."""
    import torch

    from head360.synth.appearance import linear_to_srgb, srgb_to_linear

    target = srgb_to_linear(photo_hair.reshape(-1, 3).astype(np.float64) / 255.0).mean(0)
    color = np.clip(linear_to_srgb(target), 0.0, 1.0)
    best, best_error = color, np.inf
    with torch.no_grad():
        bald = g.render(g.planes(texture_code, shape_code, blend_weights, None), camera, quality=quality,
                        skip_empty=False)  # fmt: skip
        bald_rgb = bald["rgb"][0].permute(1, 2, 0).clamp(0, 1).cpu().numpy()
        mask = None
        for _ in range(iterations):
            planes = g.planes(texture_code, shape_code, blend_weights, hairstyle,
                              hair_color=torch.tensor(color, dtype=torch.float32))  # fmt: skip
            out = g.render(planes, camera, quality=quality, skip_empty=False)
            rgb = out["rgb"][0].permute(1, 2, 0).clamp(0, 1).cpu().numpy()
            if mask is None:  # where the hair shows: more coverage, or another colour than the bald head
                alpha = (out["alpha"][0, 0] - bald["alpha"][0, 0]).cpu().numpy()
                alpha = _resize(alpha.astype(np.float32), rgb.shape[0])
                mask = (alpha > 0.5) | (np.abs(rgb - bald_rgb).max(-1) > 0.15)
                if mask.sum() < 16:
                    break
            shown = srgb_to_linear(rgb[mask].astype(np.float64)).mean(0)
            error = float(np.abs(linear_to_srgb(shown) - linear_to_srgb(target)).sum())
            if error < best_error:
                best, best_error = color, error
            gain = np.clip(target / np.maximum(shown, 1e-4), 0.25, 4.0)
            color = np.clip(linear_to_srgb(srgb_to_linear(color) * gain), 0.0, 1.0)
    return tuple(round(float(c), 4) for c in best)


def hair_coverage(
    with_hair: np.ndarray, bald: np.ndarray, alpha_hair: np.ndarray, alpha_bald: np.ndarray
) -> np.ndarray:
    """Where a render shows hair [R, R] float 0..1: more coverage than the bald render, or the same
    coverage but another colour (hair in front of the head: a fringe, hair over the ears)."""
    diff = np.abs(with_hair.astype(np.float32) - bald.astype(np.float32)).max(-1) / 255.0
    return np.clip(np.maximum(alpha_hair - alpha_bald, (diff - 0.06) / 0.1), 0.0, 1.0).astype(np.float32)


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """PSNR in dB of uint8 images [H, W, 3] (inside ``mask`` [H, W] when given)."""
    d = a.astype(np.float64) - b.astype(np.float64)
    if mask is not None:
        d = d[mask]
    mse = float((d**2).mean()) if d.size else 0.0
    return 99.0 if mse <= 1e-10 else 10.0 * math.log10(255.0**2 / mse)


def _resize(image: np.ndarray, size: int) -> np.ndarray:
    import cv2

    if image.shape[0] == size:
        return image
    interp = cv2.INTER_AREA if image.shape[0] > size else cv2.INTER_LINEAR
    return cv2.resize(image, (size, size), interpolation=interp)


def fit_photo(
    image_or_path,
    checkpoint,
    steps: int | None = None,
    progress: ProgressFn | None = None,
    config: FitConfig | None = None,
    log: Callable[[str], None] | None = None,
    device: str = "cpu",
) -> FitResult:
    """Fit a head to a portrait.

    image_or_path: a path (JPEG/PNG/WebP...), a PIL image or a uint8 array [H, W(, 3|4)];
    checkpoint: a path or a loaded ``head360.model.checkpoint.Checkpoint``;
    steps: inversion steps (default ``config.inversion.steps``).
    Raises Head360Error for a photo without a usable face (none, too small, cut off, profile).
    """
    import torch

    from head360.fit.image import load_photo
    from head360.fit.invert import FixedMeshPlanes, fit_samples, invert, load_discriminator
    from head360.fit.landmarks import CHIN, detect_face
    from head360.fit.meshfit import MeshFitter, landmark_table
    from head360.fit.normalize import normalize_photo
    from head360.fit.reference import make_reference
    from head360.fit.segment import overlay, segment_photo
    from head360.model.checkpoint import Checkpoint, Subject, load_checkpoint
    from head360.model.config import RenderQuality
    from head360.model.generator import to_uint8

    cfg = config or FitConfig()
    if steps is not None:
        if steps < 1:
            raise Head360Error(f"--steps must be at least 1, got {steps}")
        cfg.inversion.steps = int(steps)
    total = PREPARATION_STEPS + cfg.inversion.steps
    timings: dict[str, float] = {}
    clock = [time.perf_counter()]
    say = log or (lambda _msg: None)

    def stage(k: int, name: str, image: np.ndarray | None = None) -> None:
        now = time.perf_counter()
        timings[name] = now - clock[0]
        clock[0] = now
        if progress is not None:
            progress(k, total, float("nan"), image)

    t_start = time.perf_counter()
    ckpt = checkpoint if isinstance(checkpoint, Checkpoint) else load_checkpoint(checkpoint, device=device)
    g = ckpt.generator
    g.eval()
    mesh = g.mesh
    res = g.config.image_resolution

    # 1. photo and landmarks
    photo = load_photo(image_or_path)
    found = detect_face(photo.rgb, f"'{photo.name}'")
    warnings = list(found.warnings)
    say(f"face found ({found.num_faces} in the photo), {found.face.face_height:.0f} pixels tall")
    stage(1, "detect")

    # 2. mesh fit
    table = landmark_table(mesh)
    fitter = MeshFitter(mesh, table, cfg.mesh)
    fit = fitter.fit(found.face.xy, found.face.image_size)
    yaw, pitch, roll = fit.view_angles()
    if abs(yaw) > 30 and not any("turned" in w for w in warnings):
        warnings.append(f"the head is turned about {abs(yaw):.0f} degrees; the method needs a near-frontal face")
    if fit.error_relative > 0.05:
        warnings.append(f"the mesh fits the landmarks loosely ({fit.error_px:.1f} px); the shape may be off")
    say(
        f"mesh fit: landmark error {fit.error_init_px:.2f} -> {fit.error_px:.2f} px, "
        f"view yaw {yaw:.0f} pitch {pitch:.0f} roll {roll:.0f} deg"
    )
    stage(2, "mesh_fit")

    # 3. normalise and segment
    verts = mesh.vertices_np(fit.shape_code, fit.blend_weights)
    norm = normalize_photo(photo.rgb, found.face.xy, fit, table.points(verts), res, photo.alpha)
    if norm.scale > 2.5:
        warnings.append(f"the face is enlarged {norm.scale:.1f}x to the model's crop: expect a soft result")
    seg = segment_photo(norm.image, norm.landmarks, norm.valid, norm.alpha)
    stage(3, "normalise_segment", overlay(norm.image, seg))

    # 4. hairstyle
    dev = g.device
    t_code0 = torch.zeros(1, g.config.texture.code_dim, device=dev)
    s = torch.as_tensor(fit.shape_code, device=dev)[None]
    b = torch.as_tensor(fit.blend_weights, device=dev)[None]
    cam = torch.as_tensor([norm.camera.label()], dtype=torch.float32, device=dev)
    hairstyle, scores, method = _choose_hairstyle(g, cfg.hairstyle, seg, t_code0, s, b, cam, trained_hairstyles(ckpt))
    say(f"hairstyle: {hairstyle or 'none'} ({method})")
    hair_color = None
    if hairstyle is not None and g.hair_color is not None and seg.hair.sum() >= MIN_HAIR_PIXELS:
        q0 = RenderQuality(cfg.inversion.neural_resolution, *fit_samples(g, cfg.inversion), True, False)
        hair_color = fit_hair_color(g, t_code0, s, b, cam, hairstyle, norm.image[seg.hair & norm.valid], q0)
        say("hair colour: #" + "".join(f"{round(c * 255):02x}" for c in hair_color))
    stage(4, "hairstyle")

    # 5. synthetic head: the texture code whose face colour is closest to the photo's
    color_t = None if hair_color is None else torch.tensor(hair_color, dtype=torch.float32)
    fixed = FixedMeshPlanes(g, t_code0, s, b, hairstyle, color_t)
    code = _closest_skin_code(fixed, ckpt, seg, norm, cam, cfg)
    with torch.no_grad():
        q = RenderQuality(cfg.inversion.neural_resolution, *fit_samples(g, cfg.inversion), True, False)
        planes0 = fixed.planes(fixed.initial_texture())
        out_hair = g.render(planes0, cam, quality=q, skip_empty=False)
        out_bald = g.render(planes0, cam, quality=q, hair=False, skip_empty=False)
    synthetic = _resize(to_uint8(out_hair["rgb"][0]), res)
    head_alpha = _resize(out_bald["alpha"][0, 0].cpu().numpy().astype(np.float32), res)
    bald = _resize(to_uint8(out_bald["rgb"][0]), res)
    full_alpha = _resize(out_hair["alpha"][0, 0].cpu().numpy().astype(np.float32), res)
    hair_alpha = hair_coverage(synthetic, bald, full_alpha, head_alpha)
    stage(5, "synthetic_head", synthetic)

    # 6. reference
    ref = make_reference(norm.image, seg.labels, norm.valid, synthetic, head_alpha, hair_alpha,
                         float(norm.landmarks[CHIN, 1]))  # fmt: skip
    stage(6, "reference", ref.image)

    # 7. inversion
    d = load_discriminator(ckpt)
    if d is None and cfg.inversion.discriminator_weight > 0:
        say("this checkpoint has no discriminator: the fit uses the MSE alone")
    reference_t = torch.as_tensor(ref.image, device=dev).permute(2, 0, 1)[None].float() / 255.0
    weight_t = torch.as_tensor(ref.weight, device=dev)[None, None]
    inv = invert(g, fixed, cam, reference_t, weight_t, cfg.inversion, discriminator=d, texture_code=code,
                 progress=progress, step_offset=PREPARATION_STEPS, total_steps=total)  # fmt: skip
    timings["inversion"] = inv.seconds
    clock[0] = time.perf_counter()
    texture_code = inv.texture_code if inv.texture_code.size else code[0].cpu().numpy()
    subject = Subject(
        texture_code=np.asarray(texture_code, np.float32),
        shape_code=fit.shape_code.astype(np.float32),
        blend_weights=fit.blend_weights.astype(np.float32),
        hairstyle=hairstyle,
        source=photo.name,
        neural_texture=inv.neural_texture,
        hair_color=hair_color,
    )

    # 8. renders of the result
    from head360.cameras import Camera
    from head360.model.checkpoint import subject_planes

    images = {"photo": norm.image, "segmentation": overlay(norm.image, seg), "synthetic": synthetic,
              "reference": ref.image}  # fmt: skip
    with torch.no_grad():
        planes = subject_planes(g, subject)
        views = {"front": norm.camera, "side": Camera.orbit(yaw + 90.0, 0.0), "back": Camera.orbit(180.0, 0.0)}
        for name, c in views.items():
            out = g.render(planes, torch.as_tensor([c.label()], dtype=torch.float32, device=dev), quality="full")
            images[name] = _resize(to_uint8(out["rgb"][0]), res)
    timings["final_renders"] = time.perf_counter() - clock[0]
    timings["total"] = time.perf_counter() - t_start
    face = ref.face & norm.valid
    score = psnr(images["front"], norm.image, face)
    say(f"done in {timings['total']:.0f} s: face PSNR {score:.1f} dB")
    return FitResult(
        subject=subject,
        mesh_fit=fit,
        hairstyle=hairstyle,
        hairstyle_scores=scores,
        hairstyle_method=method,
        warnings=warnings,
        images=images,
        losses=inv.losses,
        psnr_face=score,
        timings=timings,
        used_discriminator=inv.used_discriminator,
        face_mask=face,
    )


def trained_hairstyles(ckpt) -> tuple[str, ...]:
    """The hairstyles the checkpoint was trained on (its training subjects'), "none" included when it saw
    bald images; all of its hairstyles when the checkpoint does not say. A style the model never saw has
    untrained hair planes, so automatic choice keeps to these."""
    g = ckpt.generator
    data = ckpt.info.get("data") or {}
    seen = {sub.get("hairstyle") for sub in data.get("subjects", []) if isinstance(sub, dict)}
    seen |= {sub.hairstyle for sub in ckpt.subjects}
    styles = tuple(h for h in g.hairstyles if h in seen)
    if not styles:
        return ("none", *g.hairstyles)
    bald = data.get("has_bald", True) or None in seen
    return (("none",) if bald else ()) + styles


def _choose_hairstyle(g, wanted, seg, t, s, b, cam, allowed_styles) -> tuple[str | None, dict[str, float], str]:
    """-> (hairstyle name or None, scores, method). Automatic choice among ``allowed_styles``."""
    import torch

    from head360.fit.hairstyle import DEFAULT_PATH, HairstyleClassifier, choose_style, mask_features, match_silhouettes
    from head360.labels import Label

    known = tuple(h for h in g.hairstyles if h in allowed_styles)
    if wanted is None or (isinstance(wanted, str) and wanted.lower() == "none"):
        return None, {}, "given"
    if wanted != "auto":
        g.hairstyle_index(wanted)  # unknown -> Head360Error listing the model's styles
        return g.hairstyles[g.hairstyle_index(wanted)], {}, "given"
    if DEFAULT_PATH.is_file():
        clf = HairstyleClassifier.load(DEFAULT_PATH)
        allowed = tuple(x for x in clf.styles if (x == "none" and "none" in allowed_styles) or x in known)
        if len(allowed) > 1:
            feats = mask_features(seg.hair, seg.person > 0.5, seg.mask(Label.SKIN))
            _, scores = clf.predict(feats)
            return choose_style(scores, allowed), scores, "classifier"
    # the model's own hair, rendered: compare silhouettes
    masks = {}
    with torch.no_grad():
        planes = g.planes(t, s, b, None)
        from head360.model.config import RenderQuality

        q = RenderQuality(32, 8, 8, False, False)
        bald = g.render(planes, cam, quality=q, skip_empty=False)["alpha"][0, 0]
        for name in known:
            planes.hair, _ = g.hair_planes(name, 1)
            with_hair = g.render(planes, cam, quality=q, skip_empty=False)["alpha"][0, 0]
            masks[name] = (with_hair - bald).clamp(0, 1).cpu().numpy()
    best, scores = match_silhouettes(seg.hair.astype(np.float32), masks)
    if best == "none" and "none" not in allowed_styles:
        best = max(known, key=lambda k: scores[k])
    return (None if best == "none" else best), scores, "silhouettes"


def _closest_skin_code(fixed, ckpt, seg, norm, cam, cfg: FitConfig):
    """Texture code [1, Zt] of the candidate synthetic head whose raw front render has the face colour
    closest to the photo's (candidates: the checkpoint's training subjects; random codes only when it has
    none). Leaves ``fixed`` set to the chosen code."""
    import torch

    from head360.model.config import RenderQuality

    g = fixed.g
    dev = g.device
    zt = g.config.texture.code_dim
    n = max(1, cfg.texture_candidates)
    codes = [np.asarray(sc.texture_code, np.float32) for sc in ckpt.subjects[:n]]
    rng = np.random.default_rng(cfg.seed)
    while not codes or (not ckpt.subjects and len(codes) < n):
        codes.append(rng.standard_normal(zt).astype(np.float32))
    target = seg.skin_rgb.astype(np.float64) / 255.0
    face = seg.face & norm.valid
    q = RenderQuality(32, 8, 8, False, False)
    best, best_d = None, math.inf
    with torch.no_grad():
        for c in codes:
            t = torch.as_tensor(c, device=dev)[None]
            if len(codes) > 1:
                fixed.set_code(t)
                raw = g.render(fixed.planes(fixed.initial_texture()), cam, quality=q, skip_empty=False)["raw"][0]
                img = raw.permute(1, 2, 0).cpu().numpy()
                m = _resize(face.astype(np.float32), img.shape[0]) > 0.5
                colour = img[m].mean(0) if m.any() else img.reshape(-1, 3).mean(0)
                dist = float(np.linalg.norm(colour - target))
            else:
                dist = 0.0
            if dist < best_d:
                best, best_d = t, dist
        fixed.set_code(best)
    return best
