"""The networks as training sees them: the generator with its per-subject texture codes, and small
wrappers whose ``forward`` is one whole phase of a step (so DistributedDataParallel sees every use of
the weights in a single forward, and one backward per phase).

Which weights each stage trains (:func:`set_stage_trainable`):

* stage 1: the whole generator except the RefineNet, and the texture codes;
* stage 2 (hair detachment): only the hair planes (the hairstyle embeddings and the hair synthesis
  network); the head planes, decoder, super-resolution and codes are frozen;
* stage 3: only the RefineNet.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from head360.cameras import HEAD_BOX_HALF
from head360.train.losses import density_regularisation, r1_penalty


@dataclass
class CodeMix:
    """Which texture code each batch item renders with (all tensors on the training device).

    kind:  [B] long  0 = the subject's own code (paired with its ground truth), 1 = a random N(0, I)
                     code, 2 = an interpolation between the subject's code and ``other``'s
    other: [B] long  code-table row to interpolate towards
    t:     [B]       interpolation weight in [0, 1]
    noise: [B, Z]    the random codes
    """

    kind: torch.Tensor
    other: torch.Tensor
    t: torch.Tensor
    noise: torch.Tensor

    @staticmethod
    def draw(rows: torch.Tensor, table_size: int, code_dim: int, fraction: float) -> CodeMix:
        """For code-table rows [B]: each item keeps its own code with probability ``1 - fraction``,
        else half the time a random code, half the time an interpolation (torch RNG, no host sync)."""
        b, dev = rows.shape[0], rows.device
        u = torch.rand(b, device=dev)
        kind = torch.where(u < fraction * 0.5, 1, torch.where(u < fraction, 2, 0)).long()
        other = torch.randint(0, max(1, table_size), (b,), device=dev)
        return CodeMix(kind, other, torch.rand(b, device=dev), torch.randn(b, code_dim, device=dev))

    @staticmethod
    def own(rows: torch.Tensor, code_dim: int) -> CodeMix:
        b, dev = rows.shape[0], rows.device
        zeros = torch.zeros(b, device=dev, dtype=torch.long)
        return CodeMix(zeros, zeros, torch.zeros(b, device=dev), torch.zeros(b, code_dim, device=dev))


class TexturedGenerator(nn.Module):
    """The Head360 generator plus one learnable texture code per training subject (auto-decoder:
    ``texture_codes.weight [N, Zt]``, initialised from N(0, I))."""

    def __init__(self, generator: nn.Module, num_subjects: int):
        super().__init__()
        self.generator = generator
        self.texture_codes = nn.Embedding(max(1, num_subjects), generator.config.texture.code_dim)
        nn.init.normal_(self.texture_codes.weight, 0.0, 1.0)

    def codes_for(self, rows: torch.Tensor, mix: CodeMix) -> torch.Tensor:
        """Texture codes [B, Zt] for code-table rows [B] after mixing."""
        own = self.texture_codes(rows)
        other = self.texture_codes(mix.other)
        t = mix.t[:, None].to(own.dtype)
        interp = own + (other - own) * t
        kind = mix.kind[:, None]
        return torch.where(kind == 1, mix.noise.to(own.dtype), torch.where(kind == 2, interp, own))

    def forward(
        self,
        rows: torch.Tensor,
        shape_code: torch.Tensor,
        blend_weights: torch.Tensor,
        cameras: torch.Tensor,
        hairstyles: list[str | None],
        mix: CodeMix,
        quality,
        density_points: int = 0,
        density_offset: float = 0.004,
        window: torch.Tensor | None = None,
        window_size: int | None = None,
        hair_color: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """rows [B] code-table rows, shape_code [B, 50], blend_weights [B, 52], cameras [B, 25],
        hairstyles: B names (None = bald: the head planes alone); hair_color [B, 3] sRGB or None
        (:meth:`Head360Generator.planes`); window [B, 2] / window_size: render
        only that crop of each image (:meth:`Head360Generator.render`) -> the render dict of
        :meth:`Head360Generator.render` plus ``code_prior`` (scalar) and, with ``density_points``,
        ``density_tv`` (scalar)."""
        from head360.train.losses import code_prior

        g = self.generator
        codes = self.codes_for(rows, mix)
        planes = g.planes(codes, shape_code, blend_weights, hairstyles, hair_color=hair_color)
        out = g.render(
            planes, cameras, quality=quality, hair=True, skip_empty=False, window=window, window_size=window_size
        )
        out["code_prior"] = code_prior(self.texture_codes.weight)
        if density_points > 0:
            fp = planes.features(True)

            def density(points):
                from head360.model.hexplanes import sample_planes

                return g._activate(g.decoder.density_raw(sample_planes(fp, points)))

            out["density_tv"] = density_regularisation(
                density, codes.shape[0], density_points, density_offset, HEAD_BOX_HALF, codes.device
            )
        return out


class DualDiscriminatorStep(nn.Module):
    """One discriminator phase: ``D`` on fake and real images (+ R1 on the real ones) in one forward."""

    def __init__(self, discriminator: nn.Module):
        super().__init__()
        self.discriminator = discriminator

    def forward(self, fake_image, fake_raw, real_image, real_raw, cameras, blend_weights, with_r1: bool):
        """Images [B, 3, R, R] / raw [B, 3, r, r] on the [-1, 1] scale -> (real logits [B, 1],
        fake logits [B, 1], R1 term (0 without ``with_r1``))."""
        d = self.discriminator
        fake_logits = d(fake_image, fake_raw, cameras, blend_weights)
        if with_r1:
            real_image = real_image.detach().requires_grad_(True)
            real_raw = real_raw.detach().requires_grad_(True)
        real_logits = d(real_image, real_raw, cameras, blend_weights)
        r1 = r1_penalty(real_logits, [real_image, real_raw]) if with_r1 else real_logits.new_zeros(())
        return real_logits, fake_logits, r1


class MultiscaleDiscriminatorStep(nn.Module):
    """One stage-3 discriminator phase: the multi-scale D on (input, refined) and (input, truth)."""

    def __init__(self, discriminator: nn.Module):
        super().__init__()
        self.discriminator = discriminator

    def forward(self, condition, fake, real):
        return self.discriminator(condition, fake), self.discriminator(condition, real)


def stage1_parameters(model: TexturedGenerator) -> tuple[list[nn.Parameter], list[nn.Parameter], list[nn.Parameter]]:
    """(generator weights without the RefineNet and the detail texture, texture codes, the camera-view
    path's detail texture (empty without that path))."""
    g = model.generator
    refine = set() if g.refine is None else {id(p) for p in g.refine.parameters()}
    detail = [] if g.screen is None else [g.screen.detail]
    skip = refine | {id(p) for p in detail}
    weights = [p for p in g.parameters() if id(p) not in skip]
    return weights, [model.texture_codes.weight], detail


def set_stage_trainable(model: TexturedGenerator, stage: int) -> list[nn.Parameter]:
    """Freeze everything, unfreeze what ``stage`` trains; returns those parameters."""
    for p in model.parameters():
        p.requires_grad_(False)
    if stage == 1:
        weights, codes, detail = stage1_parameters(model)
        trainable = weights + codes + detail
    elif stage == 2:
        trainable = model.generator.hair_parameters()
    else:
        trainable = [] if model.generator.refine is None else list(model.generator.refine.parameters())
    for p in trainable:
        p.requires_grad_(True)
    return trainable


@torch.no_grad()
def update_ema(ema: nn.Module, model: nn.Module, beta: float) -> None:
    """ema = beta * ema + (1 - beta) * model for every parameter (one fused multi-tensor op where
    torch has it); buffers copied."""
    ema_params = list(ema.parameters())
    model_params = [p.detach() for p in model.parameters()]
    if hasattr(torch, "_foreach_lerp_"):
        torch._foreach_lerp_(ema_params, model_params, 1.0 - beta)
    else:  # pragma: no cover - older torch
        for pe, pm in zip(ema_params, model_params, strict=True):
            pe.lerp_(pm, 1.0 - beta)
    for be, bm in zip(ema.buffers(), model.buffers(), strict=True):
        be.copy_(bm)
