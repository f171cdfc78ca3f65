"""Losses of the three training stages. Images are on the [-1, 1] scale unless a docstring says
otherwise (the discriminators and the L1 see ``2 * image - 1``).

* GAN (stages 1-2): non-saturating logistic loss (StyleGAN2 / EG3D), lazy R1 on real images.
* Density regularisation: EG3D's L1 between the density at random points and at points nearby.
* Texture-code prior.
* Stage 3 (pix2pixHD): LSGAN on a multi-scale discriminator, feature matching, SSIM.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def to_signed(image: torch.Tensor) -> torch.Tensor:
    """[0, 1] -> [-1, 1]."""
    return image * 2.0 - 1.0


def generator_gan_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating: ``softplus(-D(G(z)))``, mean over the batch. fake_logits: [B, 1]."""
    return F.softplus(-fake_logits).mean()


def discriminator_gan_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """``softplus(D(fake)) + softplus(-D(real))``, mean over each batch."""
    return F.softplus(fake_logits).mean() + F.softplus(-real_logits).mean()


def r1_penalty(real_logits: torch.Tensor, inputs: list[torch.Tensor]) -> torch.Tensor:
    """Squared gradient norm of the real logits w.r.t. the discriminator inputs, per image, mean over
    the batch: ``mean_b sum_x |dD/dx|^2`` (multiply by ``gamma / 2``). The inputs must require grad."""
    grads = torch.autograd.grad(real_logits.sum(), inputs, create_graph=True, only_inputs=True)
    return sum(g.square().sum(dim=(1, 2, 3)) for g in grads).mean()


def density_regularisation(density_fn, batch: int, points: int, offset: float, half: float, device) -> torch.Tensor:
    """EG3D density TV: ``|sigma(x) - sigma(x + offset * n)|`` averaged over random points ``x`` in the
    head box (``n`` ~ N(0, I)). density_fn(points [B, N, 3]) -> density [B, N, 1]."""
    x = (torch.rand(batch, points, 3, device=device) * 2.0 - 1.0) * half
    nearby = x + torch.randn_like(x) * (offset * 2.0 * half)
    both = density_fn(torch.cat([x, nearby], dim=1))
    return (both[:, :points] - both[:, points:]).abs().mean()


def code_prior(codes: torch.Tensor) -> torch.Tensor:
    """codes [N, Z] -> ``mean_n (|t_n|^2 / Z - 1)^2``: zero on the shell where N(0, I) samples lie."""
    return (codes.square().mean(dim=1) - 1.0).square().mean()


# --- SSIM ------------------------------------------------------------------------------------------
def _gaussian_window(size: int, sigma: float, channels: int, device, dtype) -> torch.Tensor:
    x = torch.arange(size, device=device, dtype=dtype) - (size - 1) / 2.0
    g = torch.exp(-(x**2) / (2.0 * sigma**2))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).expand(channels, 1, size, size).contiguous()


def ssim(
    a: torch.Tensor,
    b: torch.Tensor,
    data_range: float = 1.0,
    window: int = 11,
    sigma: float = 1.5,
    mask: torch.Tensor | None = None,
):
    """Structural similarity per image (Wang et al. 2004: Gaussian window 11, sigma 1.5, K1 0.01,
    K2 0.03, valid region only, mean over channels). a, b: [B, C, H, W] -> [B].

    mask: optional [B, 1, H, W] 0/1: the mean is taken over the windows centred on masked pixels only
    (NaN for an image whose mask is empty there)."""
    c = a.shape[1]
    w = _gaussian_window(window, sigma, c, a.device, a.dtype)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2

    def blur(x):
        return F.conv2d(x, w, groups=c)

    mu_a, mu_b = blur(a), blur(b)
    saa = blur(a * a) - mu_a**2
    sbb = blur(b * b) - mu_b**2
    sab = blur(a * b) - mu_a * mu_b
    num = (2 * mu_a * mu_b + c1) * (2 * sab + c2)
    den = (mu_a**2 + mu_b**2 + c1) * (saa + sbb + c2)
    if mask is None:
        return (num / den).mean(dim=(1, 2, 3))
    r = window // 2
    m = mask[..., r : mask.shape[-2] - r, r : mask.shape[-1] - r].to(num.dtype)
    return ((num / den) * m).sum(dim=(1, 2, 3)) / (m.sum(dim=(1, 2, 3)) * c)


def psnr(a: torch.Tensor, b: torch.Tensor, data_range: float = 1.0, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Peak signal-to-noise ratio per image in dB. a, b: [B, C, H, W] -> [B]. mask: optional
    [B, 1, H, W] 0/1: the error is averaged over the masked pixels only (NaN for an empty mask)."""
    if mask is None:
        mse = (a - b).square().mean(dim=(1, 2, 3))
    else:
        m = mask.to(a.dtype)
        mse = ((a - b).square() * m).sum(dim=(1, 2, 3)) / (m.sum(dim=(1, 2, 3)) * a.shape[1])
    return 10.0 * torch.log10(data_range**2 / mse.clamp(min=1e-10))


# --- pix2pixHD --------------------------------------------------------------------------------------
def lsgan_loss(outputs: list[list[torch.Tensor]], target_real: bool) -> torch.Tensor:
    """pix2pixHD's LSGAN loss over the scales of a multi-scale discriminator (last map = logits)."""
    target = 1.0 if target_real else 0.0
    return sum(F.mse_loss(scale[-1], torch.full_like(scale[-1], target)) for scale in outputs) / len(outputs)


def feature_matching_loss(fake: list[list[torch.Tensor]], real: list[list[torch.Tensor]]) -> torch.Tensor:
    """pix2pixHD: L1 between the discriminator's intermediate features on fake and real images,
    ``4 / (layers + 1)`` per layer and ``1 / scales`` per scale (multiply by lambda_feat)."""
    scales = len(fake)
    total = fake[0][0].new_zeros(())
    for f_scale, r_scale in zip(fake, real, strict=True):
        layers = len(f_scale) - 1
        for f, r in zip(f_scale[:-1], r_scale[:-1], strict=True):
            total = total + (4.0 / (layers + 1)) / scales * F.l1_loss(f, r.detach())
    return total
