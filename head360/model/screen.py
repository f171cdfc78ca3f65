"""The camera-view path of the demo preset: the explicit mesh rasterized from the render camera at the
output resolution, the neural texture read through it, and a small compositor that puts that detail
into the final image (deferred neural rendering on top of the volume render).

Why it exists (docs/MODEL.md, "The camera-view path"): the face's detail lives in the UV texture, but a
64^2 volume render of soft density and a 4x super-resolution blur eyes, lips and the open mouth away.
Reading the texture through the mesh from the render camera keeps every texel the image needs, and the
mesh's own motion makes expressions move exactly as the bilinear model says. Hair and everything the
mesh does not cover still come from the volume render; the compositor decides per pixel (it sees the
volume's features, its alpha and how far the volume's surface lies in front of the mesh).

Conventions: pixel ``(i, j)`` of an ``R x R`` image has its centre at ``(u, v) = (j + 0.5, i + 0.5)``
in the units of :meth:`head360.cameras.Camera.project`, so a render of ``R`` pixels lines up with the
volume render's rays of the same camera. A *window* ``(top, left)`` [B, 2] with ``size`` renders the
pixels ``[top, top + size) x [left, left + size)`` of the full ``R x R`` image only (training on crops).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from head360.model.config import ScreenConfig
from head360.model.hexplanes import sample_texture
from head360.model.raster import barycentrics_at_pixels, zbuffer


@dataclass
class ScreenRaster:
    """The mesh seen from a batch of cameras (``B`` images of ``S x S`` pixels).

    face_id:  [B, S, S] int64  triangle under the pixel centre, -1 where the mesh does not cover it
    uv:       [B, S, S, 2]     interpolated texture coordinates (0 where uncovered)
    coverage: [B, 1, S, S]     1.0 where covered
    distance: [B, 1, S, S]     distance from the camera centre to the surface along the pixel's ray
                               (world units; 0 where uncovered), the quantity the volume render's
                               ``depth`` estimates
    normal:   [B, 3, S, S]     unit surface normal in camera space (x right, y down, z forward; 0
                               where uncovered), from area-weighted vertex normals
    """

    face_id: torch.Tensor
    uv: torch.Tensor
    coverage: torch.Tensor
    distance: torch.Tensor
    normal: torch.Tensor


def vertex_normals(vertices: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """Area-weighted unit vertex normals: vertices [B, V, 3], faces [F, 3] -> [B, V, 3]."""
    v0, v1, v2 = vertices[:, faces[:, 0]], vertices[:, faces[:, 1]], vertices[:, faces[:, 2]]
    face_n = torch.linalg.cross(v1 - v0, v2 - v0, dim=-1)  # [B, F, 3], length = twice the area
    b, nf, _ = face_n.shape
    # summed over the vertex axis as the leading one ([V, B*3]): index_add_ along dim 1 is 3x slower
    per_face = face_n.permute(1, 0, 2).reshape(nf, b * 3)
    normals = vertices.new_zeros(vertices.shape[1], b * 3).index_add_(0, faces.T.reshape(-1), per_face.repeat(3, 1))
    return F.normalize(normals.view(-1, b, 3).permute(1, 0, 2), dim=-1, eps=1e-12)


def project(vertices: torch.Tensor, cameras: torch.Tensor, resolution: int):
    """Vertices [B, V, 3] through EG3D labels [B, 25] -> pixel x, pixel y (pixel centre j at x = j),
    camera-space points [B, V, 3] and the world-to-camera rotation [B, 3, 3]."""
    cam2world = cameras[:, :16].reshape(-1, 4, 4)
    k = cameras[:, 16:].reshape(-1, 3, 3)
    rot = cam2world[:, :3, :3].transpose(1, 2)  # world -> camera
    pc = (vertices - cam2world[:, None, :3, 3]) @ rot.transpose(1, 2)
    z = pc[..., 2].clamp(min=1e-6)
    px = (k[:, 0, 0, None] * pc[..., 0] / z + k[:, 0, 2, None]) * resolution - 0.5
    py = (k[:, 1, 1, None] * pc[..., 1] / z + k[:, 1, 2, None]) * resolution - 0.5
    return px, py, pc, rot


@torch.no_grad()
def rasterize_camera(
    vertices: torch.Tensor,
    faces: torch.Tensor,
    uvs: torch.Tensor,
    faces_uv: torch.Tensor,
    cameras: torch.Tensor,
    resolution: int,
    window: torch.Tensor | None = None,
    size: int | None = None,
    normals: torch.Tensor | None = None,
) -> ScreenRaster:
    """Rasterize meshes from their cameras (perspective, z-buffer, screen-space barycentrics).

    vertices: [B, V, 3] world; faces: [F, 3]; uvs: [T, 2]; faces_uv: [F, 3]; cameras: [B, 25] EG3D labels.
    resolution: side ``R`` of the full image; window: optional [B, 2] (top, left) pixel of an ``size``-pixel
    crop of it (default: the whole image); normals: the meshes' vertex normals [B, V, 3] when the caller
    has them (:func:`vertex_normals`). No gradients (the studio and the CPU recipe never need them).

    Triangles facing away from the camera are dropped before the z-buffer (the template's triangles
    wind consistently, outward), which halves its work and gives the same nearest triangles.
    """
    px, py, pc, rot = project(vertices.float(), cameras.float(), resolution)
    s = resolution if window is None else int(size)
    if window is not None:
        px = px - window[:, 1:2].to(px.dtype)
        py = py - window[:, 0:1].to(py.dtype)
    face_id = _front_facing_zbuffer(px, py, -pc[..., 2], faces, s)
    bary = barycentrics_at_pixels(px, py, faces, face_id)  # [B, S, S, 3]
    covered = face_id >= 0
    fid = face_id.clamp(min=0)
    corner_uv = uvs.to(bary.dtype)[faces_uv[fid]]  # [B, S, S, 3, 2]
    uv = (bary[..., None] * corner_uv).sum(-2)
    b = vertices.shape[0]
    corners = faces[fid].reshape(b, -1)  # [B, S*S*3]

    def interpolate(per_vertex: torch.Tensor) -> torch.Tensor:  # [B, V, 3] -> [B, S, S, 3]
        got = torch.gather(per_vertex, 1, corners[..., None].expand(-1, -1, 3)).view(b, s, s, 3, 3)
        return (bary[..., None] * got).sum(-2)

    point = interpolate(pc)  # camera space
    if normals is None:
        normals = vertex_normals(vertices.float(), faces)
    normal = F.normalize(interpolate(normals.float() @ rot.transpose(1, 2)), dim=-1)
    mask = covered[..., None].to(bary.dtype)
    return ScreenRaster(
        face_id=face_id,
        uv=uv * mask,
        coverage=mask.permute(0, 3, 1, 2),
        distance=(point.norm(dim=-1, keepdim=True) * mask).permute(0, 3, 1, 2),
        normal=(normal * mask).permute(0, 3, 1, 2),
    )


def _front_facing_zbuffer(px, py, near, faces, size: int) -> torch.Tensor:
    """:func:`zbuffer` of the triangles that face the camera (counter-clockwise on screen, y down) ->
    face ids [B, S, S] into ``faces`` (-1 empty)."""
    i0, i1, i2 = faces[:, 0], faces[:, 1], faces[:, 2]
    area = (px[:, i1] - px[:, i0]) * (py[:, i2] - py[:, i0]) - (px[:, i2] - px[:, i0]) * (py[:, i1] - py[:, i0])
    out = []
    for i in range(px.shape[0]):  # each mesh keeps its own triangles
        keep = (area[i] < 0).nonzero()[:, 0]
        fid, _ = zbuffer(px[i : i + 1], py[i : i + 1], near[i : i + 1], faces[keep], size)
        out.append(torch.where(fid >= 0, keep[fid.clamp(min=0)], fid))
    return torch.cat(out)


class ScreenCompositor(nn.Module):
    """Neural texture seen through the mesh + the volume render -> the final image.

    Inputs per pixel: the code's UV neural texture and the shared detail texture read at the pixel's
    UV, the camera-space normal and coverage, and the volume render upsampled to the output (its
    features, alpha, super-resolved RGB, and how far its surface lies in front of the mesh). Two
    1x1 layers and one 3x3 layer predict a colour (a residual on the detail texture's albedo channels)
    and a gate; the output is ``base * (1 - g) + colour * g``
    with ``g`` zero wherever the mesh does not cover the pixel, so hair, background and anything the
    mesh misses are exactly the volume render's.
    """

    def __init__(self, config: ScreenConfig, texture_channels: int, volume_features: int):
        super().__init__()
        self.config = config
        c = config.hidden
        self.detail = nn.Parameter(torch.randn(1, config.detail_channels, config.detail_resolution,
                                               config.detail_resolution) * 0.1)  # fmt: skip
        n_in = texture_channels + config.detail_channels + 3 + 1 + volume_features + 1 + 1 + 3
        self.inp = nn.Conv2d(n_in, c, 1)
        self.mid = nn.Conv2d(c, c, 3, padding=1)
        self.out = nn.Conv2d(c, 4, 1)

    def seed_detail(self, albedo: torch.Tensor) -> None:
        """Start the detail texture's first three channels from a UV albedo atlas [3, T, T] in [0, 1]."""
        r = self.config.detail_resolution
        img = F.interpolate(albedo[None].float(), size=(r, r), mode="area")[0]
        with torch.no_grad():
            self.detail[0, :3] = img.to(self.detail.device) * 2.0 - 1.0

    @torch.no_grad()
    def bake(self, texture: torch.Tensor, base: np.ndarray, features: np.ndarray, coverage: np.ndarray) -> np.ndarray:
        """What the path shows at each texel of the UV atlas, the texel seen head-on (a texture for a rig).

        texture [1, C, T, T]; base [R, R, 3] float (the field's colour per texel, row 0 = v 1); features
        [N, F] the field's features at the covered texels; coverage [R, R] bool -> [R, R, 3] float."""
        r = base.shape[0]
        dev = texture.device
        t = (torch.arange(r, device=dev, dtype=torch.float32) + 0.5) / r
        vv, uu = torch.meshgrid(1.0 - t, t, indexing="ij")
        cov = torch.as_tensor(coverage, device=dev)[None, None].float()
        feat = torch.zeros(1, features.shape[1], r, r, device=dev)
        feat[0, :, torch.as_tensor(coverage, device=dev)] = torch.as_tensor(features, device=dev).T
        normal = torch.zeros(1, 3, r, r, device=dev)
        normal[:, 2] = -1.0  # facing the viewer
        raster = ScreenRaster(
            face_id=torch.zeros(1, r, r, dtype=torch.long, device=dev),
            uv=torch.stack([uu, vv], -1)[None],
            coverage=cov,
            distance=torch.zeros_like(cov),
            normal=normal * cov,
        )
        base_t = torch.as_tensor(base, device=dev).permute(2, 0, 1)[None].float()
        out = self(raster, texture, base_t, feat, cov, torch.zeros_like(cov))
        return out[0].permute(1, 2, 0).cpu().numpy()

    def forward(
        self,
        raster: ScreenRaster,
        texture: torch.Tensor,
        base: torch.Tensor,
        features: torch.Tensor,
        alpha: torch.Tensor,
        depth: torch.Tensor,
    ) -> torch.Tensor:
        """raster (S x S); texture [B, C, T, T]; base [B, 3, S, S] (the volume path's image);
        features [B, F, h, h], alpha [B, 1, h, h], depth [B, 1, h, h] (weighted mean distance) of the
        volume render over the same pixels -> rgb [B, 3, S, S]."""
        s = base.shape[-1]
        uv = raster.uv
        tex = sample_texture(texture, uv) * raster.coverage
        detail = sample_texture(self.detail.expand(uv.shape[0], -1, -1, -1), uv) * raster.coverage

        def up(x):
            return F.interpolate(x, size=(s, s), mode="bilinear", align_corners=False)

        a = up(alpha)
        d = up(depth)
        # > 0 where the volume's surface lies in front of the mesh (hair over the face)
        gap = (raster.distance - d) * raster.coverage * a
        x = torch.cat([tex, detail, raster.normal, raster.coverage, up(features), a, gap, base], dim=1)
        h = F.leaky_relu(self.inp(x), 0.2)
        h = F.leaky_relu(self.mid(h), 0.2)
        o = self.out(h)
        gate = torch.sigmoid(o[:, 3:4]) * raster.coverage
        # the colour starts from the detail texture's albedo channels: the layers learn the shading
        colour = 0.5 * (detail[:, :3] + 1.0) + o[:, :3]
        return base * (1.0 - gate) + colour * gate
