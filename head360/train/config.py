"""Training settings: one :class:`TrainConfig` with ``paper`` / ``demo`` / ``tiny`` presets that match
the generator presets of the same names (:func:`head360.model.config.make_config`).

Step counts are optimiser steps of the global batch (all GPUs together). ``--steps`` on the command line
overrides the budget of the stage it trains; with ``--stage all`` it is the total, shared between the
stages in the proportion of ``stage_steps``. ``--max-minutes`` splits the time left between the stages
still to run by ``stage_time_fractions``; a stage ends at whichever budget runs out first.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from head360.errors import Head360Error

STAGES = (1, 2, 3)
STAGE_NAMES = {1: "full network", 2: "hair detachment", 3: "RefineNet"}


@dataclass
class TrainConfig:
    name: str = "paper"
    """Preset name; must equal the generator preset (a run is resumed only with the same preset)."""

    recipe: str = "gan"
    """``gan``: the paper's recipe (EG3D dual discriminator + paired L1, then the RefineNet's pix2pixHD
    losses). ``reconstruction``: the CPU recipe (docs/TRAINING.md): no discriminator; L1 + SSIM on
    crops of the final image (only the crop's rays are marched), L1 on the raw image, alpha and depth
    from the data factory."""

    # --- batches and optimisers ------------------------------------------------------------------
    batch: int = 32
    """Global batch (split evenly over the processes of a distributed run)."""
    g_lr: float = 0.0025
    """Adam learning rate of the generator (paper / EG3D)."""
    d_lr: float = 0.002
    """Adam learning rate of the dual discriminator (before the lazy-R1 correction)."""
    code_lr: float = 0.0025
    """Adam learning rate of the per-subject texture codes (auto-decoder)."""
    betas: tuple[float, float] = (0.0, 0.99)
    """Adam betas of the generator, the codes and the dual discriminator."""

    # --- stage 1 and 2 losses ------------------------------------------------------------------
    gan_weight: float = 1.0
    """Non-saturating GAN loss with the dual discriminator."""
    l1_weight: float = 100.0
    """L1 to the paired ground truth on the final (super-resolved) image, images on the [-1, 1] scale."""
    l1_raw_weight: float = 100.0
    """L1 between the raw neural render and the ground truth resized to the neural resolution."""
    r1_gamma: float = 4.0
    """R1 penalty weight (on real images: final and raw inputs of the discriminator)."""
    r1_interval: int = 16
    """Lazy R1: computed every this many steps and scaled by it (StyleGAN2)."""
    density_reg_weight: float = 0.25
    """EG3D density regularisation: L1 between the density at random points and at points nearby."""
    density_reg_interval: int = 4
    """Lazy density regularisation: every this many steps, scaled by it."""
    density_reg_points: int = 1000
    """Random points per image for the density regularisation."""
    density_reg_offset: float = 0.004
    """Distance to the nearby point, as a fraction of the head box edge (EG3D's 0.004)."""
    code_prior_weight: float = 0.01
    """Prior on each texture code: ``(|t|^2 / dim - 1)^2`` keeps the codes on the shell where N(0, I)
    samples lie (the mapping network normalises its input, so only a code's direction matters)."""
    random_code_fraction: float = 0.25
    """Share of each batch rendered with a random N(0, I) code or an interpolation of two training
    subjects' codes instead of the subject's own; those images get the GAN loss only (no pairs), which
    is what makes random codes and interpolations give plausible heads."""

    # --- the reconstruction recipe ------------------------------------------------------------
    crop: int = 128
    """Side (output pixels) of the crop of each image the reconstruction recipe renders and compares."""
    face_crop_fraction: float = 0.6
    """Share of crops centred on the eyes or the mouth (where the data shows them), the rest anywhere
    on the head."""
    rgb_weight: float = 1.0
    """L1 of the final crop, images on the [0, 1] scale."""
    ssim_weight: float = 0.5
    """``1 - SSIM`` of the final crop."""
    raw_weight: float = 1.0
    """L1 of the raw neural render against the crop of the truth at the neural resolution."""
    alpha_weight: float = 1.0
    """L1 of the rendered opacity against the factory's alpha."""
    depth_weight: float = 0.5
    """L1 of the rendered depth against the factory's depth (world units) where the truth is opaque;
    skipped, and said once in the log, for a dataset written without depth."""
    texture_lr: float = 0.01
    """Adam learning rate of the camera-view path's shared detail texture."""

    # --- stage 3 (RefineNet, pix2pixHD) --------------------------------------------------------
    refine_lr: float = 0.0002
    """Adam learning rate of the RefineNet and its multi-scale discriminator (pix2pixHD)."""
    refine_betas: tuple[float, float] = (0.5, 0.999)
    refine_gan_weight: float = 1.0
    """LSGAN loss of the multi-scale discriminator (pix2pixHD)."""
    refine_feature_matching_weight: float = 10.0
    """pix2pixHD discriminator feature matching (lambda_feat = 10)."""
    refine_ssim_weight: float = 10.0
    """``1 - SSIM`` to the ground truth."""
    refine_lpips_weight: float = 10.0
    """Used only when LPIPS weights exist on this machine (they are never downloaded)."""

    # --- EMA ---------------------------------------------------------------------------------
    ema_half_life_images: float = 10_000.0
    """Half-life of the generator's exponential moving average, in images (StyleGAN2's ema_kimg)."""
    ema_rampup: float = 0.05
    """The half-life is at most this fraction of the images seen so far (StyleGAN2-ADA's ramp-up)."""

    # --- schedule ------------------------------------------------------------------------------
    stage_steps: tuple[int, int, int] = (93_750, 1_250, 20_000)
    """Steps of stages 1, 2, 3 (paper: 3000k and 40k images at batch 32; stage 3 is our choice)."""
    stage_time_fractions: tuple[float, float, float] = (0.8, 0.05, 0.15)
    """Share of ``--max-minutes`` each stage gets (renormalised over the stages still to run)."""
    checkpoint_every: int = 2000
    """Write a checkpoint every this many steps (and when a stage ends or the run stops)."""
    log_every: int = 50
    """Write losses to log.jsonl / TensorBoard / the progress bar every this many steps."""
    sample_every: int = 2000
    """Render a sample grid (front, side, back of a few subjects) every this many steps."""
    probe_every: int = 2000
    """Measure face-region PSNR on a few held-out views every this many steps (log.jsonl ``metrics``)."""

    # --- data ----------------------------------------------------------------------------------
    workers: int = 8
    """DataLoader worker processes per training process (0: load in the training process)."""
    holdout_views: tuple[int, ...] = tuple(range(5, 72, 6))
    """Rig views never trained on (yaw 75, 165, 255, 345 at each pitch: front, side and back)."""
    holdout_expressions: int = 4
    """Expressions never trained on (the last ones of the dataset's list; never 'neutral')."""
    holdout_subjects: int = 5
    """Subjects never trained on (the last ones); eval fits a texture code for each."""

    # --- speed -------------------------------------------------------------------------------------
    bf16: bool = False
    """bf16 autocast for the networks (CUDA or CPU); losses and optimiser state stay float32."""
    tf32: bool = True
    """Allow TF32 matrix multiplies and convolutions on CUDA."""
    tensorboard: bool = True
    """Write TensorBoard scalars and sample grids under RUN/tb/."""

    def validate(self) -> TrainConfig:
        if self.batch < 1:
            raise Head360Error(f"batch must be at least 1, got {self.batch}")
        if len(self.stage_steps) != 3 or any(s < 0 for s in self.stage_steps):
            raise Head360Error("stage_steps needs three step counts >= 0 (stages 1, 2, 3)")
        if len(self.stage_time_fractions) != 3 or any(f < 0 for f in self.stage_time_fractions):
            raise Head360Error("stage_time_fractions needs three fractions >= 0")
        for name in (
            "checkpoint_every",
            "log_every",
            "sample_every",
            "probe_every",
            "r1_interval",
            "density_reg_interval",
        ):
            if getattr(self, name) < 1:
                raise Head360Error(f"{name} must be at least 1")
        if not 0.0 <= self.random_code_fraction < 1.0:
            raise Head360Error("random_code_fraction must be in [0, 1)")
        if self.recipe not in ("gan", "reconstruction"):
            raise Head360Error(f"recipe must be 'gan' or 'reconstruction', got {self.recipe!r}")
        if self.crop < 8:
            raise Head360Error(f"crop must be at least 8 pixels, got {self.crop}")
        return self


def _paper() -> TrainConfig:
    return TrainConfig(name="paper").validate()


def _demo() -> TrainConfig:
    # The bundled model: trained on this 2-core CPU with the reconstruction recipe (docs/TRAINING.md),
    # where `--max-minutes` governs; the step budgets are what a longer run would do.
    return TrainConfig(
        name="demo",
        recipe="reconstruction",
        batch=8,
        g_lr=0.002,
        betas=(0.9, 0.99),
        code_lr=0.005,
        r1_gamma=1.0,
        density_reg_points=2000,
        ema_half_life_images=2_000.0,
        stage_steps=(20_000, 1_000, 0),
        stage_time_fractions=(0.92, 0.08, 0.0),
        checkpoint_every=200,
        log_every=20,
        sample_every=250,
        probe_every=100,
        workers=1,
        holdout_expressions=1,
        holdout_subjects=1,
    ).validate()


def _tiny() -> TrainConfig:
    # Tests: a few CPU seconds per stage. Larger learning rates so losses visibly fall in a few dozen steps.
    return TrainConfig(
        name="tiny",
        batch=2,
        g_lr=0.01,
        d_lr=0.005,
        code_lr=0.02,
        r1_gamma=1.0,
        r1_interval=4,
        density_reg_interval=2,
        density_reg_points=256,
        ema_half_life_images=50.0,
        stage_steps=(40, 8, 8),
        stage_time_fractions=(0.7, 0.1, 0.2),
        checkpoint_every=20,
        log_every=5,
        sample_every=20,
        probe_every=10,
        workers=0,
        holdout_expressions=1,
        holdout_subjects=1,
        tensorboard=True,
    ).validate()


_PRESETS = {"paper": _paper, "demo": _demo, "tiny": _tiny}


def train_presets() -> tuple[str, ...]:
    return tuple(_PRESETS)


def make_train_config(name: str, **overrides) -> TrainConfig:
    """A fresh copy of preset ``name`` with ``overrides`` (None values ignored)."""
    if name not in _PRESETS:
        raise Head360Error(f"unknown training preset '{name}'; choose one of {', '.join(_PRESETS)}")
    config = _PRESETS[name]()
    changes = {k: v for k, v in overrides.items() if v is not None}
    return dataclasses.replace(config, **changes).validate()


def train_config_to_dict(config: TrainConfig) -> dict:
    return dataclasses.asdict(config)


def train_config_from_dict(data: dict) -> TrainConfig:
    """Inverse of :func:`train_config_to_dict`; tuples come back as tuples."""
    try:
        values = dict(data)
        for f in dataclasses.fields(TrainConfig):
            if f.name in values and isinstance(values[f.name], list):
                values[f.name] = tuple(values[f.name])
        return TrainConfig(**values).validate()
    except TypeError as e:
        raise Head360Error(f"the training configuration does not match this version of Head360 ({e})") from e


def stage_step_budgets(config: TrainConfig, stages: tuple[int, ...], steps: int | None) -> dict[int, int]:
    """Steps per stage: the preset's, or ``steps`` for a single stage, or ``steps`` shared in the
    preset's proportions when several stages run."""
    if steps is None:
        return {s: config.stage_steps[s - 1] for s in stages}
    if steps < 0:
        raise Head360Error(f"--steps must be >= 0, got {steps}")
    if len(stages) == 1:
        return {stages[0]: steps}
    weights = [config.stage_steps[s - 1] for s in stages]
    total = sum(weights) or len(stages)
    out, given = {}, 0
    for i, s in enumerate(stages):
        share = weights[i] if sum(weights) else 1
        n = steps - given if i == len(stages) - 1 else int(round(steps * share / total))
        out[s] = max(0, n)
        given += out[s]
    return out
