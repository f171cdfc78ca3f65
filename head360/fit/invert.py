"""GAN inversion (supplement A.3, step 3): the network frozen, the head's neural texture optimised so
that the render from the photo's camera matches the reference image.

``L = MSE(render, reference; per-pixel weights) + 0.01 * L_D (+ texture prior)``, the paper's equation,
with the MSE taken over images in [-1, 1] (EG3D's convention, which the paper builds on without
spelling out the range; our discriminator reads [-1, 1] images too) -- the code keeps images in [0, 1],
whose MSE is 4x smaller, so the image terms of the loss are scaled by 4 (:data:`IMAGE_RANGE_SCALE`).
Weighing L_D against the [0, 1] MSE instead made the discriminator 4x stronger than the paper's balance,
which pulled the demo model's fits toward its two training subjects.

* What moves: the UV neural texture ``[C, T, T]`` (rasterized through the mesh, so the result stays
  animatable with the 52 blendshapes), optionally the texture code. The mesh (shape, expression) and
  the hair planes are fixed: the mesh comes from the landmark fit, the hair from the hairstyle choice.
* ``L_D``: EG3D's non-saturating generator loss ``softplus(-D(image, raw, camera, expression))`` with the
  discriminator stored in the checkpoint (``modules["discriminator"]``), on the super-resolved steps;
  skipped, and said so, when the checkpoint has none.
* Unseen sides: texels that the photo's camera does not see are pulled back to the synthetic head's
  texture (a prior weighted by visibility), so the back and the far side stay the synthetic head.
* Speed: the mesh rasterization, the static planes and the hair planes do not change during the fit and
  are made once; the first steps (``raw_fraction``) compare the raw neural render (before
  super-resolution, cheaper), the rest the super-resolved image.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from head360.model.config import RenderQuality

IMAGE_RANGE_SCALE = 4.0
"""MSE of images in [-1, 1] over the MSE of the same images in [0, 1]: the image terms of the loss are
multiplied by it so that ``discriminator_weight`` is the paper's lambda on the paper's scale."""


@dataclass
class InversionConfig:
    """Settings of the inversion."""

    steps: int = 300
    raw_fraction: float = 0.3
    """Share of the steps whose loss compares the raw neural render (before super-resolution)."""
    lr: float = 0.2
    """Adam learning rate of the neural texture. With 0.2 and raw_fraction 0.3 (were 0.1 and 0.6) face PSNR
    24.5 -> 24.9 dB on `bench/bench_fit.py`'s 6 heads and 24.5 -> 25.0 dB on 3 other heads (`--seed 4242
    --subjects 3`), better on every head, side and back unchanged; a cosine decay of the rate made it worse
    (measured with L_D at 4x the paper's balance, as then)."""
    optimise_code: bool = False
    """Also optimise the texture code (moves the static planes and the super-resolution style: slower)."""
    code_lr: float = 0.005
    code_prior: float = 4e-3
    """Pull of the texture code toward 0 (with ``optimise_code``); 4e-3 is the 1e-3 of earlier releases
    (see ``texture_prior``)."""
    discriminator_weight: float = 0.01
    """Weight of L_D (the paper's 0.01), against the MSE of images in [-1, 1] (see the module notes)."""
    discriminator_on_raw: bool = False
    """Also add L_D on the raw steps (the raw render upsampled in place of the super-resolved image). Off:
    the discriminator was trained on super-resolved images and calls an upsampled raw render fake
    whatever it shows, so on the raw steps it only fights the MSE (and costs a fifth of a raw step)."""
    texture_prior: float = 2.0
    """Pull of unseen texels toward the synthetic head's texture (weighted by 1 - visibility). 2.0 is the
    0.5 of earlier releases, whose image terms were not yet scaled by IMAGE_RANGE_SCALE: the same balance."""
    side_weight: float = 0.3
    """Weight of the side/back term: renders from ``side_yaws`` (one per step, in turn, raw and small)
    stay close to the synthetic head's before the fit -- tri-planes share features between the front
    and the back, so without it a fitted face can bleed onto the back of the head. 0.3 rather than 1:
    face PSNR 24.3 -> 24.5 dB with the side and back views' PSNR unchanged (6 heads of
    `bench/bench_fit.py`, measured with lr 0.1, raw_fraction 0.6 and L_D at 4x the paper's balance, the
    defaults then)."""
    side_yaws: tuple[float, ...] = (90.0, 135.0, 180.0, 225.0, 270.0)
    side_resolution: int = 32
    neural_resolution: int = 64
    samples: int | None = None
    """Coarse and importance samples per ray during the fit; None: the model's `full` quality's (what the
    fitted head is rendered with: fitting the demo model with 8 + 8 instead of its 12 + 12 left up to
    2.8 dB of face PSNR behind, `bench/bench_fit.py`)."""
    refine: bool | None = None
    """Whether the super-resolved steps run the RefineNet; None: as the model's `full` quality, the image
    the fitted head is shown with. Fitting the demo model's super-resolved image without it and then
    showing it with it drew streaks across the face: face PSNR 22.4 dB instead of 24.3 (6 heads of
    `bench/bench_fit.py`, at commit 94636ee and with this setting, both with side_weight 1, lr 0.1,
    raw_fraction 0.6 and L_D at 4x the paper's balance)."""
    preview_every: int = 10
    """Send an intermediate image to the progress callback every this many steps (0: never)."""
    max_seconds: float | None = None
    """Stop early (keeping the best texture so far) when the fit has run this long."""


def fit_samples(generator, config: InversionConfig) -> tuple[int, int]:
    """(coarse, importance) samples per ray of the fit's renders."""
    if config.samples is not None:
        return config.samples, config.samples
    full = generator.quality("full")
    return full.coarse_samples, full.importance_samples


ProgressFn = Callable[[int, int, float, "np.ndarray | None"], None]


@dataclass
class InversionResult:
    """neural_texture [C, T, T] float32; texture_code [Zt]; losses per step; seconds; steps done;
    used_discriminator: whether L_D was part of the loss."""

    neural_texture: np.ndarray
    texture_code: np.ndarray
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0
    steps: int = 0
    used_discriminator: bool = False


class FixedMeshPlanes:
    """``G.planes`` for one mesh (shape code, expression) and hairstyle, with the parts that do not
    depend on the neural texture computed once. ``planes(texture)`` equals
    ``G.planes(t, s, b, hairstyle, texture=texture, hair_color=hair_color)`` for the texture code given
    here."""

    def __init__(self, generator, texture_code: torch.Tensor, shape_code: torch.Tensor, blend_weights: torch.Tensor,
                 hairstyle: str | None, hair_color: torch.Tensor | None = None):  # fmt: skip
        g = self.g = generator
        cfg = g.config
        self.cp, self.p = cfg.plane_channels, cfg.planes.resolution
        self.blend_weights = blend_weights
        with torch.no_grad():
            self.vertices = g.mesh.vertices(shape_code, blend_weights)
            self.raster = g.six_views.rasterize(self.vertices, g.faces, g.uvs, g.faces_uv, self.p)
            self.hair, self.hairstyles = g.hair_planes(hairstyle, 1, hair_color)
            self.mouth_centre = self.vertices[:, g.mouth_vertices, :2].mean(dim=1) if g.mouth is not None else None
            self.set_code(texture_code)

    def set_code(self, texture_code: torch.Tensor) -> None:
        """Recompute what depends on the texture code (style, static planes), keeping autograd."""
        g = self.g
        self.style = g.mapping(texture_code)
        self.static = g.static_synthesis(self.style).view(1, 3, self.cp, self.p, self.p)

    def initial_texture(self) -> torch.Tensor:
        return self.g.texture_synthesis(self.style)

    def planes(self, texture: torch.Tensor):
        from head360.model.generator import Planes
        from head360.model.hexplanes import merge_views, rasterized_features

        g = self.g
        views = rasterized_features(texture, self.raster)
        if g.mouth is not None:
            front = g.mouth(views[:, 0], self.mouth_centre, self.style, self.blend_weights)
            views = torch.cat([front[:, None], views[:, 1:]], dim=1)
        head = merge_views(views, self.raster.coverage, self.static, g.config.planes.merge)
        return Planes(head=head, hair=self.hair, style=self.style, hairstyles=self.hairstyles,
                      vertices=self.vertices, raster=self.raster, texture=texture)  # fmt: skip


def texel_visibility(raster, texture_size: int, view: int = 0) -> torch.Tensor:
    """[T, T] in 0..1: which texels the orthographic ``view`` (0 = front) of the raster shows, blurred a
    little (texture rows top-down, as the generator samples them)."""
    uv = raster.uv[0, view][raster.coverage[0, view] > 0]  # [N, 2]
    t = texture_size
    col = (uv[:, 0] * t).long().clamp(0, t - 1)
    row = ((1.0 - uv[:, 1]) * t).long().clamp(0, t - 1)
    vis = torch.zeros(t * t)
    vis.index_fill_(0, row * t + col, 1.0)
    vis = vis.view(1, 1, t, t)
    vis = F.max_pool2d(vis, 3, stride=1, padding=1)
    vis = F.avg_pool2d(vis, 3, stride=1, padding=1)
    return vis[0, 0].clamp(0, 1)


def load_discriminator(checkpoint):
    """The checkpoint's dual discriminator (frozen, eval) or None when it has none."""
    from head360.model.discriminator import DualDiscriminator

    state = checkpoint.modules.get("discriminator")
    if not state:
        return None
    blocks = {int(k.split(".")[1]) for k in state if k.startswith("blocks.")}
    resolution = 4 * 2 ** (max(blocks) + 1) if blocks else 4
    d = DualDiscriminator(checkpoint.config.discriminator, resolution)
    try:
        d.load_state_dict(state)
    except RuntimeError:
        return None
    d.eval().requires_grad_(False)
    return d.to(checkpoint.generator.device)


def invert(
    generator,
    fixed: FixedMeshPlanes,
    camera_label: torch.Tensor,
    reference: torch.Tensor,
    weight: torch.Tensor,
    config: InversionConfig,
    discriminator=None,
    texture_code: torch.Tensor | None = None,
    progress: ProgressFn | None = None,
    step_offset: int = 0,
    total_steps: int | None = None,
) -> InversionResult:
    """Optimise the neural texture.

    camera_label [1, 25]; reference [1, 3, R, R] in 0..1 (R = the generator's image resolution);
    weight [1, 1, R, R] per-pixel loss weights; texture_code [1, Zt] (needed with ``optimise_code``).
    The progress callback gets (step + step_offset, total_steps, loss, preview image or None).
    """
    t0 = time.perf_counter()
    g = generator
    trainable = [p for p in g.parameters() if p.requires_grad]
    g.requires_grad_(False)  # the network is frozen: no gradients into its weights
    try:
        return _invert(g, fixed, camera_label, reference, weight, config, discriminator, texture_code, progress,
                       step_offset, total_steps, t0)  # fmt: skip
    finally:
        for p in trainable:
            p.requires_grad_(True)


def _invert(g, fixed, camera_label, reference, weight, config, discriminator, texture_code, progress, step_offset,
            total_steps, t0) -> InversionResult:  # fmt: skip
    from head360.model.generator import to_uint8

    dev = g.device
    total = total_steps or config.steps
    with torch.no_grad():
        texture0 = fixed.initial_texture().detach()
    texture = texture0.clone().requires_grad_(True)
    params = [{"params": [texture], "lr": config.lr}]
    code = None
    if config.optimise_code and texture_code is not None:
        code = texture_code.detach().clone().requires_grad_(True)
        params.append({"params": [code], "lr": config.code_lr})
    opt = torch.optim.Adam(params, betas=(0.9, 0.99))
    unseen = (1.0 - texel_visibility(fixed.raster, texture.shape[-1])).to(dev)[None, None]
    side_cams, side_targets = [], []
    if config.side_weight > 0 and config.side_yaws:
        from head360.cameras import Camera

        q_side = RenderQuality(config.side_resolution, *fit_samples(g, config), False, False)
        with torch.no_grad():
            planes0 = fixed.planes(texture0)
            for yaw in config.side_yaws:
                cam = torch.as_tensor([Camera.orbit(yaw, 0.0).label()], dtype=torch.float32, device=dev)
                side_cams.append(cam)
                side_targets.append(g.render(planes0, cam, quality=q_side, skip_empty=False)["raw"])
    q_raw = RenderQuality(config.neural_resolution, *fit_samples(g, config), False, False)
    refine = g.quality("full").refine if config.refine is None else config.refine
    q_sr = RenderQuality(config.neural_resolution, *fit_samples(g, config), True, refine)
    raw_steps = int(round(config.steps * config.raw_fraction))
    h = config.neural_resolution
    ref_raw = F.interpolate(reference, size=(h, h), mode="area")
    w_raw = F.interpolate(weight, size=(h, h), mode="area")
    wsum, wsum_raw = weight.sum().clamp_min(1e-6), w_raw.sum().clamp_min(1e-6)
    losses: list[float] = []
    best = (math.inf, texture0, texture_code)
    steps_done = 0
    used_d = False
    for step in range(config.steps):
        if config.max_seconds is not None and time.perf_counter() - t0 > config.max_seconds:
            break
        if code is not None:
            fixed.set_code(code)
        planes = fixed.planes(texture)
        use_sr = step >= raw_steps
        out = g.render(planes, camera_label, quality=q_sr if use_sr else q_raw, skip_empty=False)
        if use_sr:
            image = out["rgb"]
            if image.shape[-1] != reference.shape[-1]:
                image = F.interpolate(image, size=reference.shape[-2:], mode="bilinear", align_corners=False)
            mse = ((image - reference) ** 2 * weight).sum() / (wsum * 3)
        else:
            image = out["raw"]
            mse = ((image - ref_raw) ** 2 * w_raw).sum() / (wsum_raw * 3)
        loss = IMAGE_RANGE_SCALE * mse
        if discriminator is not None and config.discriminator_weight > 0 and (use_sr or config.discriminator_on_raw):
            used_d = True
            rgb = out["rgb"] if use_sr else F.interpolate(out["raw"], size=reference.shape[-2:], mode="bilinear")
            logits = discriminator(rgb * 2 - 1, out["raw"] * 2 - 1, camera_label, fixed.blend_weights)
            loss = loss + config.discriminator_weight * F.softplus(-logits).mean()
        if config.texture_prior > 0:
            loss = loss + config.texture_prior * ((texture - texture0) ** 2 * unseen).mean()
        if side_cams:
            k = step % len(side_cams)
            side = g.render(planes, side_cams[k], quality=q_side, skip_empty=False)["raw"]
            loss = loss + IMAGE_RANGE_SCALE * config.side_weight * ((side - side_targets[k]) ** 2).mean()
        if code is not None:
            loss = loss + config.code_prior * (code**2).sum()
        value = float(mse.detach())
        if use_sr and value < best[0]:  # the texture this loss was measured on, before the step moves it
            best = (value, texture.detach().clone(), None if code is None else code.detach().clone())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(value)
        steps_done = step + 1
        if progress is not None:
            preview = None
            if config.preview_every and (step % config.preview_every == 0 or step == config.steps - 1):
                preview = to_uint8(image[0].detach())
            progress(step_offset + step + 1, total, value, preview)
    if not math.isfinite(best[0]):  # no super-resolved step ran: the last texture
        best = (losses[-1] if losses else math.inf, texture.detach().clone(), None if code is None else code.detach())
    final_code = best[2] if best[2] is not None else texture_code
    return InversionResult(
        neural_texture=best[1][0].cpu().numpy().astype(np.float32),
        texture_code=(final_code[0] if final_code is not None else torch.zeros(0)).detach().cpu().numpy(),
        losses=losses,
        seconds=time.perf_counter() - t0,
        steps=steps_done,
        used_discriminator=used_d,
    )
