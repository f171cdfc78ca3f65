"""RefineNet: the pix2pixHD global generator on the rendered image, and pix2pixHD's multi-scale
PatchGAN discriminator whose intermediate features serve the feature-matching loss.

Choice where the text is silent: the RefineNet predicts a residual added to its input and its last
convolution starts at zero, so an untrained RefineNet returns its input unchanged (stage 3 starts from
the stage-2 images instead of from noise); pix2pixHD's final tanh is therefore dropped.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from head360.model.config import RefineNetConfig


class _ResnetBlock(nn.Module):
    def __init__(self, ch: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(ch, ch, 3),
            nn.InstanceNorm2d(ch),
            nn.ReLU(True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(ch, ch, 3),
            nn.InstanceNorm2d(ch),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class RefineNet(nn.Module):
    """pix2pixHD GlobalGenerator (instance norm, reflection padding): ``[B, 3, H, W] -> [B, 3, H, W]``;
    H and W must be multiples of ``2 ** downsamplings``."""

    def __init__(self, config: RefineNetConfig):
        super().__init__()
        ngf = config.base_channels
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(3, ngf, 7), nn.InstanceNorm2d(ngf), nn.ReLU(True)]
        for i in range(config.downsamplings):
            m = 2**i
            layers += [nn.Conv2d(ngf * m, ngf * m * 2, 3, 2, 1), nn.InstanceNorm2d(ngf * m * 2), nn.ReLU(True)]
        m = 2**config.downsamplings
        layers += [_ResnetBlock(ngf * m) for _ in range(config.residual_blocks)]
        for i in range(config.downsamplings):
            m = 2 ** (config.downsamplings - i)
            layers += [
                nn.ConvTranspose2d(ngf * m, ngf * m // 2, 3, 2, 1, output_padding=1),
                nn.InstanceNorm2d(ngf * m // 2),
                nn.ReLU(True),
            ]
        self.body = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(ngf, 3, 7))
        nn.init.zeros_(self.head[1].weight)
        nn.init.zeros_(self.head[1].bias)
        self.multiple = 2**config.downsamplings

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return image + self.head(self.body(image))


class _PatchDiscriminator(nn.Module):
    def __init__(self, in_channels: int, ndf: int, n_layers: int):
        super().__init__()
        seqs = [nn.Sequential(nn.Conv2d(in_channels, ndf, 4, 2, 2), nn.LeakyReLU(0.2, True))]
        nf = ndf
        for _ in range(1, n_layers):
            prev, nf = nf, min(nf * 2, 512)
            seqs.append(nn.Sequential(nn.Conv2d(prev, nf, 4, 2, 2), nn.InstanceNorm2d(nf), nn.LeakyReLU(0.2, True)))
        prev, nf = nf, min(nf * 2, 512)
        seqs.append(nn.Sequential(nn.Conv2d(prev, nf, 4, 1, 2), nn.InstanceNorm2d(nf), nn.LeakyReLU(0.2, True)))
        seqs.append(nn.Sequential(nn.Conv2d(nf, 1, 4, 1, 2)))
        self.layers = nn.ModuleList(seqs)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        for layer in self.layers:
            x = layer(x)
            feats.append(x)
        return feats


class MultiscaleDiscriminator(nn.Module):
    """pix2pixHD conditional D: input = [RefineNet input, image] (6 channels) at ``disc_scales``
    scales. Returns, per scale (full resolution first), the list of intermediate feature maps; the
    last entry of each list is the patch logits."""

    def __init__(self, config: RefineNetConfig):
        super().__init__()
        self.scales = nn.ModuleList(
            _PatchDiscriminator(6, config.disc_base_channels, config.disc_layers) for _ in range(config.disc_scales)
        )

    def forward(self, condition: torch.Tensor, image: torch.Tensor) -> list[list[torch.Tensor]]:
        x = torch.cat([condition, image], dim=1)
        out = []
        for i, d in enumerate(self.scales):
            if i:
                x = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
            out.append(d(x))
        return out
