"""StyleGAN2 building blocks shared by the texture generator, the plane generators, the
super-resolution and the discriminator.

Differences from the NVIDIA code, all deliberate and small: upsampling is bilinear (no FIR filter /
upfirdn2d, which needs a custom CUDA op), downsampling is 2x2 average pooling, there is no per-pixel
noise input (renders are deterministic for fixed codes), and modulation is applied to the activations
("non-fused" modconv), which is the same maths as weight modulation and runs batched on CPU and CUDA.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

SQRT2 = math.sqrt(2.0)


def lrelu(x: torch.Tensor) -> torch.Tensor:
    """StyleGAN's leaky ReLU with gain sqrt(2)."""
    return F.leaky_relu(x, 0.2) * SQRT2


class FullyConnected(nn.Module):
    """Equalised-learning-rate linear layer: ``[..., in] -> [..., out]``."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        activation: str = "linear",
        lr_multiplier: float = 1.0,
        bias_init: float = 0.0,
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_multiplier)
        self.bias = nn.Parameter(torch.full((out_features,), float(bias_init)))
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.linear(x, self.weight * self.weight_gain, self.bias * self.bias_gain)
        return lrelu(x) if self.activation == "lrelu" else x


class Conv2dLayer(nn.Module):
    """Equalised-learning-rate convolution, optional 2x average-pool downsampling and lrelu."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel: int, bias: bool = True, activation="lrelu", down=False
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.gain = 1.0 / math.sqrt(in_channels * kernel * kernel)
        self.activation, self.down, self.padding = activation, down, kernel // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.conv2d(x, self.weight * self.gain, self.bias, padding=self.padding)
        if self.down:
            x = F.avg_pool2d(x, 2)
        return lrelu(x) if self.activation == "lrelu" else x


class MappingNetwork(nn.Module):
    """``z [B, code_dim]`` -> ``w [B, style_dim]`` (normalised input, lrelu MLP, lr multiplier 0.01)."""

    def __init__(self, code_dim: int, style_dim: int, layers: int, lr_multiplier: float = 0.01) -> None:
        super().__init__()
        dims = [code_dim] + [style_dim] * layers
        self.net = nn.ModuleList(
            FullyConnected(dims[i], dims[i + 1], "lrelu", lr_multiplier=lr_multiplier) for i in range(layers)
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = z * torch.rsqrt(z.square().mean(dim=1, keepdim=True) + 1e-8)
        for layer in self.net:
            x = layer(x)
        return x


class ModulatedConv2d(nn.Module):
    """StyleGAN2 modulated convolution: ``x [B, in, H, W]``, ``w [B, style_dim]`` ->
    ``[B, out, H*up, W*up]`` (demodulated unless ``demodulate=False``; lrelu unless ``activation``)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        style_dim: int,
        kernel: int = 3,
        up: bool = False,
        demodulate: bool = True,
        activation: str = "lrelu",
    ) -> None:
        super().__init__()
        self.affine = FullyConnected(style_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.gain = 1.0 / math.sqrt(in_channels * kernel * kernel)
        self.up, self.demodulate, self.activation, self.padding = up, demodulate, activation, kernel // 2

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        styles = self.affine(w)  # [B, in]
        weight = self.weight * self.gain
        if not self.demodulate:  # ToRGB-style layers: StyleGAN2 scales the style instead of demodulating
            styles = styles * self.gain
            weight = self.weight
        x = x * styles[:, :, None, None]
        if self.up:
            x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
        x = F.conv2d(x, weight, padding=self.padding)
        if self.demodulate:
            # sum over (in, kh, kw) of (W * s)^2, per sample and output channel
            d = torch.rsqrt(styles.square() @ weight.square().sum(dim=(2, 3)).t() + 1e-8)  # [B, out]
            x = x * d[:, :, None, None]
        x = x + self.bias[None, :, None, None]
        return lrelu(x) if self.activation == "lrelu" else x


class SynthesisBlock(nn.Module):
    """One resolution of a StyleGAN2 skip generator.

    First block (``in_channels == 0``): a learned 4x4 constant and one modulated conv.
    Others: ``x [B, in, r/2, r/2]`` -> upsampling modulated conv -> modulated conv -> ``[B, out, r, r]``;
    the output image ``img [B, img_channels, r, r]`` = upsampled previous image + a 1x1 "to image" layer.
    """

    def __init__(self, in_channels: int, out_channels: int, style_dim: int, img_channels: int, resolution: int):
        super().__init__()
        self.first = in_channels == 0
        if self.first:
            self.const = nn.Parameter(torch.randn(out_channels, resolution, resolution))
        else:
            self.conv0 = ModulatedConv2d(in_channels, out_channels, style_dim, up=True)
        self.conv1 = ModulatedConv2d(out_channels, out_channels, style_dim)
        self.to_image = ModulatedConv2d(
            out_channels, img_channels, style_dim, kernel=1, demodulate=False, activation=""
        )

    def forward(self, x: torch.Tensor | None, img: torch.Tensor | None, w: torch.Tensor):
        if self.first:
            x = self.const[None].expand(w.shape[0], -1, -1, -1)
        else:
            x = self.conv0(x, w)
        x = self.conv1(x, w)
        y = self.to_image(x, w)
        if img is not None:
            img = F.interpolate(img, scale_factor=2.0, mode="bilinear", align_corners=False)
            y = y + img
        return x, y


def channels_at(resolution: int, channel_base: int, channel_max: int) -> int:
    return max(1, min(channel_base // resolution, channel_max))


class StyleSynthesis(nn.Module):
    """StyleGAN2 skip-architecture synthesis network: ``w [B, style_dim]`` -> ``[B, out_channels, R, R]``.

    One style vector drives every layer (no style mixing).
    """

    def __init__(self, style_dim: int, resolution: int, out_channels: int, channel_base: int, channel_max: int):
        super().__init__()
        self.resolution = resolution
        blocks = []
        res, prev = 4, 0
        while res <= resolution:
            ch = channels_at(res, channel_base, channel_max)
            blocks.append(SynthesisBlock(prev, ch, style_dim, out_channels, res))
            prev, res = ch, res * 2
        self.blocks = nn.ModuleList(blocks)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        x = img = None
        for block in self.blocks:
            x, img = block(x, img, w)
        return img
