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

    @torch.no_grad()
    def density_grid_raw(
        self,
        planes: torch.Tensor,
        coords: torch.Tensor,
        half: float,
        blocks: list[tuple[int, int, int, int] | None] | None = None,
        fill: float = -30.0,
    ) -> torch.Tensor:
        """Raw density (before the renderer's activation) on the regular grid ``coords x coords x coords``.

        planes: [B, 3, C, P, P]; coords: [N] world coordinates along every axis -> [B, N, N, N] indexed
        [b, ix, iy, iz]. The grid is separable: each plane is resampled once on its N x N grid and the
        first (linear) layer is applied per plane, so one x-slab costs three broadcast additions, a
        softplus and a dot product. Equal to :meth:`density_raw` at those points up to float rounding.

        blocks: optional, per x index, the (y0, y1, z0, z1) index ranges (ends excluded) to evaluate, or
        None to skip the slab; everything not evaluated is set to ``fill`` (batch of one only).
        """
        b, _, c, p, _ = planes.shape
        n = coords.shape[0]
        lin = coords.to(planes.dtype) / half
        gb, ga = torch.meshgrid(lin, lin, indexing="ij")
        grid = torch.stack([ga, gb], dim=-1)[None].expand(b * 3, -1, -1, -1)  # grid[., j, i] = (a_i, b_j)
        res = F.grid_sample(
            planes.reshape(b * 3, c, p, p), grid, mode="bilinear", padding_mode="zeros", align_corners=False
        ).view(b, 3, c, n, n)  # [B, 3, C, N(b axis), N(a axis)]
        w0 = self.fc0.weight * (self.fc0.weight_gain / 3.0)  # the mean of the planes folded in
        b0 = self.fc0.bias * self.fc0.bias_gain
        w1 = self.fc1.weight[0] * self.fc1.weight_gain
        b1 = self.fc1.bias[0] * self.fc1.bias_gain
        hid = torch.einsum("bkcji,hc->bkjih", res, w0)  # [B, 3, N, N, hidden]
        h_xy, h_zy, h_xz = hid[:, 0], hid[:, 1], hid[:, 2]  # [b, iy, ix], [b, iy, iz], [b, iz, ix]
        if blocks is None:
            out = planes.new_empty(b, n, n, n)
            for ix in range(n):
                # h[b, iy, iz] = h_xy[b, iy, ix] + h_zy[b, iy, iz] + h_xz[b, iz, ix]
                h = h_zy + h_xy[:, :, ix, None, :] + h_xz[:, None, :, ix, :] + b0
                out[:, ix] = F.softplus(h) @ w1 + b1
            return out
        out = planes.new_full((b, n, n, n), fill)
        for ix, block in enumerate(blocks):
            if block is None:
                continue
            y0, y1, z0, z1 = block
            h = h_zy[:, y0:y1, z0:z1] + h_xy[:, y0:y1, ix, None, :] + h_xz[:, None, z0:z1, ix, :] + b0
            out[:, ix, y0:y1, z0:z1] = F.softplus(h) @ w1 + b1
        return out
