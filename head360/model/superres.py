"""EG3D "hybrid" super-resolution: bilinear resize of the neural render to ``input_resolution``, then
one StyleGAN2 synthesis block per entry of ``channels`` (2x upsampling each, RGB skip connections),
modulated by the texture style vector ``w``."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from head360.model.config import SuperResolutionConfig
from head360.model.layers import SynthesisBlock


class SuperResolution(nn.Module):
    def __init__(self, config: SuperResolutionConfig, feature_channels: int, style_dim: int):
        super().__init__()
        self.config = config
        blocks, prev, res = [], feature_channels, config.input_resolution
        for ch in config.channels:
            res *= 2
            blocks.append(SynthesisBlock(prev, ch, style_dim, 3, res))
            prev = ch
        self.blocks = nn.ModuleList(blocks)

    def forward(
        self,
        rgb: torch.Tensor,
        features: torch.Tensor,
        style: torch.Tensor,
        neural_resolution: int | None = None,
        blocks: int = 0,
    ) -> torch.Tensor:
        """rgb: [B, 3, h, w] raw image; features: [B, F, h, w]; style: [B, style_dim] -> [B, 3, H, H]
        with H = ``config.output_resolution``. neural_resolution: the side of the whole neural image when
        the input is a crop of it (the crop is then scaled by the same factor, H shrinks with it).
        blocks: run only the first ``blocks`` 2x blocks (0: all): H halves for each block left out."""
        r = self.config.input_resolution
        if neural_resolution is not None:
            r = round(features.shape[-1] * r / neural_resolution)
        if features.shape[-1] != r:
            aa = features.shape[-1] > r
            features = F.interpolate(features, size=(r, r), mode="bilinear", align_corners=False, antialias=aa)
            rgb = F.interpolate(rgb, size=(r, r), mode="bilinear", align_corners=False, antialias=aa)
        x, img = features, rgb
        for block in self.blocks[: blocks or len(self.blocks)]:
            x, img = block(x, img, style)
        return img
