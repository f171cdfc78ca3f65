"""Hex-planes: the neural texture read through the six mesh rasterizations, merged into three axis
planes, blended with the static planes where the mesh does not cover, plus the mouth-interior module
and the plane sampler used by the decoder.

Plane layout everywhere: ``planes [B, 3, C, P, P]`` with plane 0 = xy, 1 = zy, 2 = xz (see
:mod:`head360.model.raster`); a world point ``p`` reads plane k at ``(p[a_k], p[b_k]) / HEAD_BOX_HALF``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from head360.cameras import HEAD_BOX_HALF
from head360.model.config import MouthConfig
from head360.model.layers import FullyConnected, ModulatedConv2d
from head360.model.raster import MeshRaster


def sample_texture(texture: torch.Tensor, uv: torch.Tensor) -> torch.Tensor:
    """Read a UV neural texture at texture coordinates.

    texture: [B, C, T, T] (row 0 is the top of the atlas, v = 1: image convention)
    uv:      [B, N, M, 2] in [0, 1]^2 (v up)
    returns  [B, C, N, M] (bilinear, border padding)
    """
    grid = torch.stack([uv[..., 0] * 2.0 - 1.0, 1.0 - uv[..., 1] * 2.0], dim=-1)
    return F.grid_sample(texture, grid, mode="bilinear", padding_mode="border", align_corners=False)


def rasterized_features(texture: torch.Tensor, raster: MeshRaster) -> torch.Tensor:
    """Texture features seen by the six views: [B, 6, C, P, P] (0 where the mesh does not cover).

    texture: [B, C, T, T]; raster: six views of resolution P.
    """
    b, six, p = raster.uv.shape[:3]
    feats = sample_texture(texture, raster.uv.reshape(b, six * p, p, 2))  # [B, C, 6P, P]
    feats = feats.view(b, -1, six, p, p).transpose(1, 2)
    return feats * raster.coverage[:, :, None]


def merge_views(views: torch.Tensor, coverage: torch.Tensor, static_planes: torch.Tensor, merge: str) -> torch.Tensor:
    """Merge opposite rasterizations into three planes and fill uncovered pixels from static planes.

    views:         [B, 6, C, P, P] rasterized features (0 where uncovered)
    coverage:      [B, 6, P, P] 0/1
    static_planes: [B, 3, Cp, P, P] with Cp = 2C (``concat``) or C (``sum``)
    returns        [B, 3, Cp, P, P]

    ``concat`` (released code): plane k = [front-ish | back-ish] halves; each half is the view's
    features where it covers and the matching half of the static plane elsewhere.
    ``sum`` (supplement): plane k = view_a + view_b + (1 - max(coverage_a, coverage_b)) * static.
    """
    a, b = views[:, 0::2], views[:, 1::2]  # front/left/top, back/right/bottom: [B, 3, C, P, P]
    ca, cb = coverage[:, 0::2, None], coverage[:, 1::2, None]  # [B, 3, 1, P, P]
    if merge == "concat":
        c = views.shape[2]
        sa, sb = static_planes[:, :, :c], static_planes[:, :, c:]
        return torch.cat([a + (1.0 - ca) * sa, b + (1.0 - cb) * sb], dim=2)
    return a + b + (1.0 - torch.maximum(ca, cb)) * static_planes


def _sample_each_plane(planes: torch.Tensor, points: torch.Tensor, half: float) -> torch.Tensor:
    """planes [B, 3, C, P, P], points [B, N, 3] world coordinates -> [B, 3, C, N], one sample per plane
    (bilinear, zeros outside the box, ``align_corners=False`` like the rasterizer's pixel centres)."""
    b, _, c, p, _ = planes.shape
    n = points.shape[1]
    q = points / half
    coords = torch.stack([q[..., [0, 1]], q[..., [2, 1]], q[..., [0, 2]]], dim=1)  # [B, 3, N, 2]
    out = F.grid_sample(
        planes.reshape(b * 3, c, p, p),
        coords.reshape(b * 3, 1, n, 2),
        mode="bilinear",
        padding_mode="zeros",
        align_corners=False,
    )  # [B*3, C, 1, N]
    return out.view(b, 3, c, n)


def sample_planes(planes: torch.Tensor, points: torch.Tensor, half: float = HEAD_BOX_HALF) -> torch.Tensor:
    """Mean of the three plane samples at world points: planes [B, 3, C, P, P], points [B, N, 3] world
    coordinates -> features [B, N, C]."""
    return _sample_each_plane(planes, points, half).mean(dim=1).transpose(1, 2)


def sample_planes_sum(planes: torch.Tensor, points: torch.Tensor, half: float = HEAD_BOX_HALF) -> torch.Tensor:
    """SUM of the three plane samples, channels first: planes [B, 3, C, P, P], points [B, N, 3] -> [B, C, N]
    (the decoder folds the 1/3 of the mean into its first layer; this layout needs no transpose)."""
    return _sample_each_plane(planes, points, half).sum(dim=1)


class MouthInterior(nn.Module):
    """Adds learned detail to the mouth region of the front rasterization (a simplified Next3D mouth
    module). A ``crop_size`` window of the front view centred on the mouth-interior faces is resampled
    to ``crop_resolution``, run through three style-modulated convs (style = texture style ``w`` joined
    with the blendshape weights), and the result is added back into the window with a smooth
    (raised-cosine) fade to its border, so nothing outside the window changes.
    """

    def __init__(self, config: MouthConfig, channels: int, style_dim: int, num_blendshapes: int = 52):
        super().__init__()
        self.config = config
        self.condition = FullyConnected(style_dim + num_blendshapes, style_dim, "lrelu")
        hidden = config.channels
        self.conv0 = ModulatedConv2d(channels, hidden, style_dim)
        self.conv1 = ModulatedConv2d(hidden, hidden, style_dim)
        self.out = ModulatedConv2d(hidden, channels, style_dim, kernel=1, demodulate=False, activation="")

    def forward(
        self, front: torch.Tensor, mouth_centre: torch.Tensor, style: torch.Tensor, blend_weights: torch.Tensor
    ) -> torch.Tensor:
        """front: [B, C, P, P] front-view features; mouth_centre: [B, 2] world (x, y);
        style: [B, style_dim]; blend_weights: [B, 52] -> [B, C, P, P]."""
        b, c, p, _ = front.shape
        s = self.config.crop_size / (2.0 * HEAD_BOX_HALF)  # half window in normalised plane units
        centre = mouth_centre / HEAD_BOX_HALF  # [B, 2] normalised
        theta = torch.zeros(b, 2, 3, device=front.device, dtype=front.dtype)
        theta[:, 0, 0] = s
        theta[:, 1, 1] = s
        theta = theta + torch.cat([torch.zeros_like(theta[:, :, :2]), centre[:, :, None]], dim=2)
        r = self.config.crop_resolution
        grid = F.affine_grid(theta, [b, c, r, r], align_corners=False)
        crop = F.grid_sample(front, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        w = self.condition(torch.cat([style, blend_weights], dim=1))
        delta = self.out(self.conv1(self.conv0(crop, w), w), w)  # [B, C, r, r]
        # paste back: plane pixel -> window coordinates in [-1, 1]
        lin = (torch.arange(p, device=front.device, dtype=front.dtype) + 0.5) / p * 2.0 - 1.0
        gy, gx = torch.meshgrid(lin, lin, indexing="ij")
        local = (torch.stack([gx, gy], dim=-1)[None] - centre[:, None, None, :]) / s  # [B, P, P, 2]
        pasted = F.grid_sample(delta, local, mode="bilinear", padding_mode="zeros", align_corners=False)
        fade = torch.cos(local.clamp(-1.0, 1.0) * (torch.pi / 2.0)).square().prod(dim=-1)  # 1 centre, 0 edge
        return front + pasted * fade[:, None]
