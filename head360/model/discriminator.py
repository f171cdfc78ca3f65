"""EG3D's dual discriminator (StyleGAN2 residual discriminator on 6 channels: the final image and the
raw neural render upsampled to the same size), conditioned by projection on the 25-float camera label
and the 52 blendshape weights."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from head360.model.config import DiscriminatorConfig
from head360.model.layers import Conv2dLayer, FullyConnected, channels_at


class DiscriminatorBlock(nn.Module):
    """[B, in, r, r] -> [B, out, r/2, r/2]: two 3x3 convs (the second downsamples) + 1x1 skip."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv0 = Conv2dLayer(in_channels, in_channels, 3)
        self.conv1 = Conv2dLayer(in_channels, out_channels, 3, down=True)
        self.skip = Conv2dLayer(in_channels, out_channels, 1, bias=False, activation="", down=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.skip(x) + self.conv1(self.conv0(x))) * math.sqrt(0.5)


class DualDiscriminator(nn.Module):
    """``D(image [B,3,R,R], raw [B,3,r,r], camera [B,25], blend_weights [B,52]) -> logits [B, 1]``."""

    def __init__(self, config: DiscriminatorConfig, resolution: int, condition_dim: int = 25 + 52):
        super().__init__()
        self.config, self.resolution = config, resolution

        def ch(r: int) -> int:
            return channels_at(r, config.channel_base, config.channel_max)

        self.from_image = Conv2dLayer(6, ch(resolution), 1)
        blocks, res = [], resolution
        while res > 4:
            blocks.append(DiscriminatorBlock(ch(res), ch(res // 2)))
            res //= 2
        self.blocks = nn.ModuleList(blocks)
        c4 = ch(4)
        self.condition = nn.Sequential(
            FullyConnected(condition_dim, config.condition_dim, "lrelu"),
            FullyConnected(config.condition_dim, config.condition_dim),
        )
        self.epilogue_conv = Conv2dLayer(c4 + 1, c4, 3)
        self.epilogue_fc = FullyConnected(c4 * 16, c4, "lrelu")
        self.epilogue_out = FullyConnected(c4, config.condition_dim)

    def _mbstd(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        g = min(self.config.mbstd_group, b)
        if b % g:
            g = 1
        y = x.reshape(g, -1, c, h, w)
        y = (y - y.mean(0)).square().mean(0).add(1e-8).sqrt().mean(dim=(1, 2, 3))  # [B/g]
        y = y.reshape(-1, 1, 1, 1).repeat(g, 1, h, w)
        return torch.cat([x, y], dim=1)

    def forward(
        self, image: torch.Tensor, raw: torch.Tensor, camera: torch.Tensor, blend_weights: torch.Tensor
    ) -> torch.Tensor:
        r = self.resolution
        if image.shape[-1] != r:
            image = F.interpolate(image, size=(r, r), mode="bilinear", align_corners=False, antialias=True)
        raw = F.interpolate(raw, size=(r, r), mode="bilinear", align_corners=False)
        x = self.from_image(torch.cat([image, raw], dim=1))
        for block in self.blocks:
            x = block(x)
        x = self.epilogue_conv(self._mbstd(x))
        x = self.epilogue_out(self.epilogue_fc(x.flatten(1)))
        cmap = self.condition(torch.cat([camera, blend_weights], dim=1))
        return (x * cmap).sum(dim=1, keepdim=True) / math.sqrt(cmap.shape[1])
