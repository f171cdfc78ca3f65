"""EG3D's OSG decoder: plane features -> (raw density, features whose first three channels are RGB)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from head360.model.config import DecoderConfig
from head360.model.layers import FullyConnected


class OSGDecoder(nn.Module):
    """``features [..., C]`` (mean of the three plane samples) -> FC hidden -> softplus -> FC 1 + F.

    Returns ``sigma_raw [..., 1]`` (the renderer applies ``softplus(sigma_raw + density_bias)``) and
    ``features [..., F]`` in [-0.001, 1.001] (sigmoid, MipNeRF clamping as in EG3D); channels 0..2 are RGB.
    """

    def __init__(self, in_channels: int, config: DecoderConfig):
        super().__init__()
        self.fc0 = FullyConnected(in_channels, config.hidden)
        self.fc1 = FullyConnected(config.hidden, 1 + config.features)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.fc1(F.softplus(self.fc0(x)))
        return out[..., :1], torch.sigmoid(out[..., 1:]) * (1.0 + 2 * 0.001) - 0.001

    def forward_channels_first(self, plane_sum: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Same maths on the layout the plane sampler produces, without transposes.

        plane_sum: [B, C, N] SUM (not mean) of the three plane samples -> sigma_raw [B, N], features [B, F, N].
        """
        w0 = self.fc0.weight * (self.fc0.weight_gain / 3.0)
        h = F.softplus(torch.matmul(w0, plane_sum) + (self.fc0.bias * self.fc0.bias_gain)[:, None])
        out = torch.matmul(self.fc1.weight * self.fc1.weight_gain, h) + (self.fc1.bias * self.fc1.bias_gain)[:, None]
        return out[:, 0], torch.sigmoid(out[:, 1:]) * (1.0 + 2 * 0.001) - 0.001

    def density_raw(self, x: torch.Tensor) -> torch.Tensor:
        """Only the density output (cheaper: one row of the last layer): ``[..., C] -> [..., 1]``."""
        h = F.softplus(self.fc0(x))
        fc = self.fc1
        return F.linear(h, fc.weight[:1] * fc.weight_gain, fc.bias[:1] * fc.bias_gain)
