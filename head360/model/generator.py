"""The Head360 generator: codes (t, s, b, hairstyle) -> dual hex-planes -> volume render -> SR -> RefineNet.

Cache-friendly use (what the studio does)::

    planes = G.planes(texture_code, shape_code, blend_weights, hairstyle="bob")   # once per code change
    out = G.render(planes, cameras, quality="preview")                           # every camera move

``G.render`` never recomputes anything upstream of the planes; the occupancy grid used to skip empty
space is built lazily once per planes (and per hair on/off) and kept inside the :class:`Planes`.

Image ranges: ``raw`` and the RGB the decoder produces are in [0, 1] (sigmoid), composited over
``config.renderer.background``; ``rgb`` (after super-resolution and RefineNet) is on the same [0, 1]
scale but not clamped, so training gets gradients everywhere -- clamp for display (:func:`to_uint8`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from head360.arkit import NUM_BLENDSHAPES
from head360.cameras import HEAD_BOX_HALF, rays_from_labels
from head360.errors import Head360Error
from head360.labels import Label
from head360.mesh.model import MeshModel
from head360.model.config import GeneratorConfig, RenderQuality
from head360.model.decoder import OSGDecoder
from head360.model.hexplanes import (
    MouthInterior,
    merge_views,
    rasterized_features,
    sample_planes,
    sample_planes_sum,
)
from head360.model.layers import MappingNetwork, StyleSynthesis
from head360.model.raster import MeshRaster, SixViewCache
from head360.model.refine import RefineNet
from head360.model.screen import ScreenCompositor, rasterize_camera
from head360.model.superres import SuperResolution
from head360.model.volume import cell_centres, march, occupancy_from_density, occupied_interval, ray_box

HairstyleSpec = str | int | None | Sequence[str | int | None]

HAIR_CACHE_SIZE = 12
"""Hair planes (one per hairstyle and colour) kept in eval mode: a colour picker's drags do not pile up."""


@dataclass
class Planes:
    """Everything a render needs that does not depend on the camera.

    head:       [B, 3, C, P, P] head/face hex-planes merged into three axis planes (xy, zy, xz)
    hair:       [B, 3, C, P, P] hair planes, or None for no hair (zeros for items without hair)
    style:      [B, style_dim]  texture style vector ``w`` (modulates the super-resolution)
    hairstyles: per batch item, the hairstyle name or None
    vertices:   [B, V, 3] the deformed mesh the head planes were rasterized from (None for planes
                loaded from a subject file)
    raster:     the six rasterizations (None as above)
    texture:    [B, C, T, T] the UV neural texture the head planes were made from (the camera-view
                path reads it; None as above)
    """

    head: torch.Tensor
    hair: torch.Tensor | None
    style: torch.Tensor
    hairstyles: tuple[str | None, ...]
    vertices: torch.Tensor | None = None
    raster: MeshRaster | None = None
    texture: torch.Tensor | None = None
    _occupancy: dict = field(default_factory=dict, repr=False, compare=False)
    _normals: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def batch_size(self) -> int:
        return int(self.head.shape[0])

    def vertex_normals(self, faces: torch.Tensor) -> torch.Tensor:
        """[B, V, 3] unit normals of ``vertices``, computed once per planes (a camera move reuses them)."""
        key = (id(self.vertices), self.vertices._version)
        if key not in self._normals:
            from head360.model.screen import vertex_normals

            self._normals.clear()
            self._normals[key] = vertex_normals(self.vertices.detach().float(), faces)
        return self._normals[key]

    def features(self, hair: bool = True) -> torch.Tensor:
        """The planes the decoder reads: head + hair (feature-wise sum) or the head alone: [B, 3, C, P, P]."""
        if hair and self.hair is not None:
            return self.head + self.hair
        return self.head

    def detach(self) -> Planes:
        hair = None if self.hair is None else self.hair.detach()
        verts = None if self.vertices is None else self.vertices.detach()
        texture = None if self.texture is None else self.texture.detach()
        return Planes(self.head.detach(), hair, self.style.detach(), self.hairstyles, verts, None, texture)

    def select(self, index: int) -> Planes:
        """One batch item as a batch of one."""
        sl = slice(index, index + 1)
        return Planes(
            self.head[sl],
            None if self.hair is None else self.hair[sl],
            self.style[sl],
            self.hairstyles[sl],
            None if self.vertices is None else self.vertices[sl],
            None,
            None if self.texture is None else self.texture[sl],
        )


class Head360Generator(nn.Module):
    """The full generator. ``mesh`` provides ``V(s, b)`` and the topology/UVs (kept outside the
    state dict: checkpoints store the mesh model arrays separately)."""

    def __init__(self, config: GeneratorConfig, mesh: MeshModel):
        super().__init__()
        cfg = config.validate()
        self.config = cfg
        self.mesh = mesh
        tc, pc = cfg.texture, cfg.planes
        cp = cfg.plane_channels
        self.register_buffer("faces", torch.as_tensor(np.asarray(mesh.faces, np.int64)), persistent=False)
        self.register_buffer("faces_uv", torch.as_tensor(np.asarray(mesh.faces_uv, np.int64)), persistent=False)
        self.register_buffer("uvs", torch.as_tensor(np.asarray(mesh.uvs, np.float32)), persistent=False)
        mouth_faces = np.asarray(mesh.faces)[np.asarray(mesh.face_label) == int(Label.MOUTH_INTERIOR)]
        mouth_vertices = np.unique(mouth_faces.reshape(-1)).astype(np.int64)
        self.register_buffer("mouth_vertices", torch.as_tensor(mouth_vertices), persistent=False)
        bg = torch.zeros(cfg.decoder.features)
        bg[:3] = torch.tensor(cfg.renderer.background)
        self.register_buffer("background", bg, persistent=False)  # [F]: RGB background, other features 0

        self.mapping = MappingNetwork(tc.code_dim, tc.style_dim, tc.mapping_layers)
        self.texture_synthesis = StyleSynthesis(
            tc.style_dim, tc.resolution, tc.channels, tc.channel_base, tc.channel_max
        )
        self.static_synthesis = StyleSynthesis(
            tc.style_dim, pc.resolution, 3 * cp, pc.static_channel_base, pc.static_channel_max
        )
        # Without mouth-interior faces in the mesh there is no mouth to crop: the module is left out.
        self.mouth = (
            MouthInterior(cfg.mouth, tc.channels, tc.style_dim, NUM_BLENDSHAPES)
            if cfg.mouth.enabled and len(mouth_vertices)
            else None
        )
        self.hair_embedding = nn.Parameter(torch.randn(len(cfg.hair.styles), tc.style_dim))
        self.hair_synthesis = StyleSynthesis(
            tc.style_dim, pc.resolution, 3 * cp, cfg.hair.channel_base, cfg.hair.channel_max
        )
        self.decoder = OSGDecoder(cp, cfg.decoder)
        self.superres = SuperResolution(cfg.superres, cfg.decoder.features, tc.style_dim)
        self.refine = RefineNet(cfg.refine) if cfg.refine.enabled else None
        self.screen = ScreenCompositor(cfg.screen, tc.channels, cfg.decoder.features) if cfg.screen.enabled else None
        if cfg.hair.color:
            with torch.random.fork_rng(devices=[]):  # draws nothing: every other weight starts as without it
                self.hair_color = nn.Linear(3, tc.style_dim, bias=False)
            nn.init.zeros_(self.hair_color.weight)  # no colour change renders each style as trained
            ref = torch.full((len(cfg.hair.styles), 3), 0.5)
            self.register_buffer("hair_color_ref", ref)  # [S, 3] sRGB: each style's mean training colour
        else:
            self.hair_color = None
        self._hair_cache: dict = {}
        self._last_mesh: tuple | None = None  # (codes key, vertices, their normals dict): see _vertices
        self.six_views = SixViewCache()
        """The six rasterizations of the meshes seen (a texture-code change, or a training subject in an
        expression it was seen in before, reuses them: rasterization does not depend on the weights)."""
        self.compact_rays: bool | None = None
        """Drop rays that meet nothing before marching: None = on the CPU only (on CUDA a fixed-size,
        masked batch avoids host synchronisation); True/False force it (tests compare both)."""

    # --- bookkeeping --------------------------------------------------------------------------
    @property
    def hairstyles(self) -> tuple[str, ...]:
        return tuple(self.config.hair.styles)

    @property
    def device(self) -> torch.device:
        return self.hair_embedding.device

    def train(self, mode: bool = True) -> Head360Generator:
        self._hair_cache.clear()
        return super().train(mode)

    def hairstyle_index(self, hairstyle: str | int | None) -> int:
        """Bank index of a hairstyle name (or index); -1 for None / "none". Unknown -> Head360Error."""
        if hairstyle is None:
            return -1
        if isinstance(hairstyle, int | np.integer):
            if not -1 <= int(hairstyle) < len(self.hairstyles):
                raise Head360Error(f"hairstyle index {hairstyle} out of range 0..{len(self.hairstyles) - 1}")
            return int(hairstyle)
        name = str(hairstyle).strip().lower()
        if name in ("none", ""):
            return -1
        for i, s in enumerate(self.hairstyles):
            if s.lower() == name:
                return i
        raise Head360Error(f"unknown hairstyle '{hairstyle}'; this model knows: none, {', '.join(self.hairstyles)}")

    # --- planes -------------------------------------------------------------------------------
    def hair_colors(self, hair_color, batch: int) -> list[tuple[float, float, float] | None]:
        """``hair_color``: None, [3] or [B, 3] sRGB 0..1 (a row with a negative value: the style's own
        colour) -> per batch item the colour as a tuple, or None for the style's own colour."""
        if hair_color is None:
            return [None] * batch
        if self.hair_color is None:
            raise Head360Error(
                "this model was trained without hair colour as an input; retrain it to change hair colour"
            )
        c = torch.as_tensor(hair_color, dtype=torch.float32).detach().cpu().reshape(-1, 3)
        if c.shape[0] == 1:
            c = c.expand(batch, 3)
        if c.shape[0] != batch or not torch.isfinite(c).all():
            raise Head360Error(f"hair colour must be 3 finite numbers (sRGB 0..1) per head, got {list(c.shape)}")
        return [None if (row < 0).any() else tuple(round(float(x), 4) for x in row.clamp(0, 1)) for row in c]

    def hair_planes(self, hairstyle: HairstyleSpec, batch: int, hair_color=None) -> tuple[torch.Tensor | None, tuple]:
        """Hair planes [B, 3, C, P, P] for a hairstyle (or one per batch item), None when no item has hair.
        ``hair_color``: see :meth:`hair_colors`. Made once per hairstyle and colour, and the last
        ``HAIR_CACHE_SIZE`` kept while the generator is in eval mode without gradients."""
        specs = list(hairstyle) if isinstance(hairstyle, list | tuple) else [hairstyle] * batch
        if len(specs) != batch:
            raise Head360Error(f"got {len(specs)} hairstyles for a batch of {batch}")
        idx = [self.hairstyle_index(h) for h in specs]
        names = tuple(None if i < 0 else self.hairstyles[i] for i in idx)
        if all(i < 0 for i in idx):
            return None, names
        colors = self.hair_colors(hair_color, batch)
        keys = [None if i < 0 else (i, c) for i, c in zip(idx, colors, strict=True)]
        cp, p = self.config.plane_channels, self.config.planes.resolution
        cache_ok = not self.training and not torch.is_grad_enabled()
        version = (str(self.device), self.hair_embedding._version) + tuple(q._version for q in self.hair_parameters())
        if self.hair_color is not None:
            version += (self.hair_color_ref._version,)  # a reference colour set in place remakes the planes
        if any(k[1] != version for k in self._hair_cache):
            self._hair_cache.clear()
        per_key = {}
        todo = [k for k in dict.fromkeys(keys) if k is not None and not (cache_ok and (k, version) in self._hair_cache)]
        if todo:
            made = self.hair_synthesis(self._hair_styles(todo)).view(len(todo), 3, cp, p, p)
            for j, k in enumerate(todo):
                per_key[k] = made[j]
                if cache_ok:
                    self._hair_cache[(k, version)] = made[j]
                    while len(self._hair_cache) > HAIR_CACHE_SIZE:
                        self._hair_cache.pop(next(iter(self._hair_cache)))
        for k in set(keys):
            if k is not None and k not in per_key:
                per_key[k] = self._hair_cache.pop((k, version))
                self._hair_cache[(k, version)] = per_key[k]  # most recently used last
        if len(keys) == 1:
            return per_key[keys[0]][None], names  # a view of the cached planes: no copy
        zero = None
        rows = []
        for k in keys:
            if k is None:
                if zero is None:
                    zero = torch.zeros(3, cp, p, p, device=self.device, dtype=self.hair_embedding.dtype)
                rows.append(zero)
            else:
                rows.append(per_key[k])
        return torch.stack(rows), names

    def hair_parameters(self) -> list[nn.Parameter]:
        """What makes the hair planes: the embeddings, the colour input and the hair synthesis."""
        extra = [] if self.hair_color is None else list(self.hair_color.parameters())
        return [self.hair_embedding, *extra, *self.hair_synthesis.parameters()]

    def _hair_styles(self, keys: list[tuple[int, tuple | None]]) -> torch.Tensor:
        """Style vectors [K, style_dim] of (hairstyle index, colour or None) keys."""
        idx = torch.tensor([i for i, _ in keys], device=self.device)
        style = self.hair_embedding[idx]
        if self.hair_color is None:
            return style
        ref = self.hair_color_ref[idx]
        given = [ref[j] if col is None else torch.tensor(col, device=self.device) for j, (_, col) in enumerate(keys)]
        c = torch.stack(given).to(ref.dtype)
        return style + self.hair_color(c - ref)

    def planes(
        self,
        texture_code: torch.Tensor,
        shape_code: torch.Tensor,
        blend_weights: torch.Tensor,
        hairstyle: HairstyleSpec = None,
        texture: torch.Tensor | None = None,
        hair_color=None,
    ) -> Planes:
        """texture_code [B, Zt], shape_code [B, 50], blend_weights [B, 52] (ARKit order), hairstyle:
        a name / index / None (or one per batch item) -> :class:`Planes`. hair_color: None (each style's
        own colour), [3] or [B, 3] sRGB 0..1 (a row with a negative value: the style's own colour).

        texture: optional [B, C, T, T] UV neural texture used instead of the synthesised one (an
        optimised texture from fitting); the static planes and the style still come from ``t``."""
        b = texture_code.shape[0]
        if shape_code.shape != (b, self.mesh.shape_dim) or blend_weights.shape != (b, NUM_BLENDSHAPES):
            raise Head360Error(
                f"expected shape_code [{b}, {self.mesh.shape_dim}] and blend_weights [{b}, {NUM_BLENDSHAPES}], "
                f"got {list(shape_code.shape)} and {list(blend_weights.shape)}"
            )
        if texture_code.shape[1] != self.config.texture.code_dim:
            raise Head360Error(
                f"texture code has {texture_code.shape[1]} values, this model uses {self.config.texture.code_dim}"
            )
        cfg = self.config
        cp, p = cfg.plane_channels, cfg.planes.resolution
        style = self.mapping(texture_code)
        if texture is None:
            texture = self.texture_synthesis(style)  # [B, C, T, T]
        static = self.static_synthesis(style).view(b, 3, cp, p, p)
        vertices, normals = self._vertices(shape_code, blend_weights)  # [B, V, 3]
        raster = self.six_views.rasterize(vertices, self.faces, self.uvs, self.faces_uv, p)
        views = rasterized_features(texture, raster)  # [B, 6, C, P, P]
        if self.mouth is not None:
            centre = vertices[:, self.mouth_vertices, :2].mean(dim=1)  # [B, 2] world (x, y)
            front = self.mouth(views[:, 0], centre, style, blend_weights)
            views = torch.cat([front[:, None], views[:, 1:]], dim=1)
        head = merge_views(views, raster.coverage, static, cfg.planes.merge)
        hair, names = self.hair_planes(hairstyle, b, hair_color)
        return Planes(
            head=head, hair=hair, style=style, hairstyles=names, vertices=vertices, raster=raster, texture=texture,
            _normals=normals,
        )  # fmt: skip

    def _vertices(self, shape_code: torch.Tensor, blend_weights: torch.Tensor) -> tuple[torch.Tensor, dict]:
        """The mesh V(s, b) [B, V, 3] and the dict its vertex normals are kept in. Without gradients the
        last mesh is kept: a texture-code change (the studio's identity sliders) reuses the vertices and
        their normals, which are shared by every Planes made from them."""
        if torch.is_grad_enabled() or shape_code.requires_grad or blend_weights.requires_grad:
            return self.mesh.vertices(shape_code, blend_weights), {}
        key = (
            str(shape_code.device),
            shape_code.detach().cpu().numpy().tobytes(),
            blend_weights.detach().cpu().numpy().tobytes(),
        )
        if self._last_mesh is None or self._last_mesh[0] != key:
            self._last_mesh = (key, self.mesh.vertices(shape_code, blend_weights), {})
        return self._last_mesh[1], self._last_mesh[2]

    # --- the field ----------------------------------------------------------------------------
    def _activate(self, sigma_raw: torch.Tensor) -> torch.Tensor:
        return F.softplus(sigma_raw + self.config.renderer.density_bias)

    def field(self, planes: Planes, points: torch.Tensor, hair: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """points [B, N, 3] world -> density [B, N, 1] (per world unit), features [B, N, F] (0..2 = RGB)."""
        sigma_raw, feats = self.decoder(sample_planes(planes.features(hair), points))
        return self._activate(sigma_raw), feats

    def density(self, planes: Planes, points: torch.Tensor, hair: bool = True) -> torch.Tensor:
        """points [B, N, 3] -> density [B, N, 1] (cheaper than :meth:`field`)."""
        return self._activate(self.decoder.density_raw(sample_planes(planes.features(hair), points)))

    def occupancy(self, planes: Planes, hair: bool = True, resolution: int = 0) -> torch.Tensor:
        """Occupancy grid [B, R, R, R] bool of the field, R = ``resolution`` (0: the renderer's), cached in
        ``planes`` until its tensors change (one grid per resolution: preview and full frames of the same
        planes keep theirs)."""
        hair = hair and planes.hair is not None
        rc = self.config.renderer
        res = resolution or rc.occupancy_resolution
        tensors = (hair, planes.head._version, None if planes.hair is None else planes.hair._version)
        key = (*tensors, res)
        if key not in planes._occupancy:
            fp = planes.features(hair).detach()
            centres = cell_centres(res, HEAD_BOX_HALF, fp.device)
            density = self._activate(self.decoder.density_grid_raw(fp, centres, HEAD_BOX_HALF))
            for old in [k for k in planes._occupancy if k[:3] != tensors]:
                del planes._occupancy[old]
            planes._occupancy[key] = occupancy_from_density(density, rc.occupancy_threshold)
        return planes._occupancy[key]

    # --- rendering ----------------------------------------------------------------------------
    def quality(self, quality: str | RenderQuality) -> RenderQuality:
        if isinstance(quality, RenderQuality):
            return quality
        q = self.config.renderer.qualities.get(quality)
        if q is None:
            raise Head360Error(
                f"unknown render quality '{quality}'; choose one of {', '.join(self.config.renderer.qualities)}"
            )
        return q

    def render(
        self,
        planes: Planes,
        cameras: torch.Tensor,
        quality: str | RenderQuality = "full",
        resolution: int | None = None,
        hair: bool = True,
        skip_empty: bool | None = None,
        window: torch.Tensor | None = None,
        window_size: int | None = None,
    ) -> dict[str, torch.Tensor]:
        """Render planes from cameras.

        cameras: [B, 25] EG3D labels (or [N, 25] for planes of batch 1: N views of one head).
        quality: a name from ``config.renderer.qualities`` ("full", "preview") or a RenderQuality.
        resolution: side of ``rgb`` (default: the super-resolution output, 2x.. the neural render).
        hair: sum the hair planes in (False renders the head alone; the hair then adds exactly nothing).
        skip_empty: use the occupancy grid (default: on when gradients are off, i.e. interactive use).
        window: optional [B, 2] (top, left) output pixel of a ``window_size``-pixel crop to render alone
            (training on crops: only the crop's rays are marched); both multiples of the output /
            neural resolution ratio. Every image output then covers the crop only.

        Returns ``rgb [B, 3, H, H]``, ``raw [B, 3, h, h]`` (neural render), ``depth [B, 1, h, h]``
        (distance along the ray, world units, 0 where nothing is hit), ``alpha [B, 1, h, h]`` and
        ``features [B, F, h, h]``.
        """
        q = self.quality(quality)
        rc = self.config.renderer
        cameras = torch.as_tensor(cameras, dtype=torch.float32, device=planes.head.device)
        if cameras.ndim == 1:
            cameras = cameras[None]
        b = cameras.shape[0]
        if planes.batch_size not in (1, b):
            raise Head360Error(f"{b} cameras for planes of batch {planes.batch_size}")
        skip = (not torch.is_grad_enabled()) if skip_empty is None else skip_empty
        fp = planes.features(hair)
        occ = self.occupancy(planes, hair, q.occupancy_resolution) if skip else None
        if planes.batch_size != b:
            fp = fp.expand(b, -1, -1, -1, -1)
            occ = None if occ is None else occ.expand(b, -1, -1, -1)
        style = planes.style.expand(b, -1) if planes.style.shape[0] != b else planes.style

        full = q.neural_resolution
        origins, dirs = rays_from_labels(cameras, full)  # [B, full*full, 3]
        h = full
        if window is not None:
            out_res = self.config.image_resolution
            ratio = out_res // full
            if resolution is not None or out_res % full or window_size is None or window_size % ratio:
                raise Head360Error(
                    f"a render window needs a size that is a multiple of {out_res}/{full} and no resolution"
                )
            h = window_size // ratio
            window = torch.as_tensor(window, device=origins.device).long()
            span = torch.arange(h, device=origins.device)
            rows = window[:, :1] // ratio + span[None]  # [B, h]
            cols = window[:, 1:] // ratio + span[None]
            ray_index = (rows[:, :, None] * full + cols[:, None, :]).reshape(b, -1, 1).expand(-1, -1, 3)
            origins, dirs = origins.gather(1, ray_index), dirs.gather(1, ray_index)
        t0, t1, hit = ray_box(origins, dirs, HEAD_BOX_HALF)
        if occ is not None:
            t0, t1, anyocc = occupied_interval(occ, origins, dirs, t0, t1, HEAD_BOX_HALF, rc.occupancy_steps)
            hit = hit & anyocc

        def field(pts: torch.Tensor, sl: slice):
            sigma_raw, feats = self.decoder.forward_channels_first(sample_planes_sum(fp[sl], pts))
            return self._activate(sigma_raw), feats

        jitter = self.training
        nfeat = self.config.decoder.features
        compact = origins.device.type == "cpu" if self.compact_rays is None else self.compact_rays
        if compact and skip:
            # compact: only rays that meet something are marched (per batch item, to keep one grid_sample)
            feature = origins.new_zeros(b, nfeat, h * h)
            depth = origins.new_zeros(b, h * h)
            alpha = origins.new_zeros(b, h * h)
            for i in range(b):
                rays = hit[i].nonzero()[:, 0]
                if rays.numel() == 0:
                    continue
                f_i, d_i, a_i = march(
                    field,
                    origins[i : i + 1, rays],
                    dirs[i : i + 1, rays],
                    t0[i : i + 1, rays],
                    t1[i : i + 1, rays],
                    slice(i, i + 1),
                    q.coarse_samples,
                    q.importance_samples,
                    jitter,
                )
                feature[i, :, rays], depth[i, rays], alpha[i, rays] = f_i[0], d_i[0], a_i[0]
        else:
            feature, depth, alpha = march(
                field, origins, dirs, t0, t1, slice(None), q.coarse_samples, q.importance_samples, jitter
            )
            m = hit.to(feature.dtype)
            feature, depth, alpha = feature * m[:, None], depth * m, alpha * m
        feature = feature + (1.0 - alpha[:, None]) * self.background[None, :, None]
        feat_img = feature.view(b, nfeat, h, h)
        raw = feat_img[:, :3]
        depth_img, alpha_img = depth.view(b, 1, h, h), alpha.view(b, 1, h, h)
        out_size = self.config.image_resolution * h // full
        if q.super_resolution:
            rgb = self.superres(raw, feat_img, style, neural_resolution=full, blocks=q.superres_blocks)
            if rgb.shape[-1] != out_size:  # a quality that stops the super-resolution early
                rgb = F.interpolate(rgb, size=(out_size, out_size), mode="bilinear", align_corners=False)
        else:
            rgb = F.interpolate(raw, size=(out_size, out_size), mode="bilinear", align_corners=False)
        if q.screen and self.screen is not None and planes.vertices is not None and planes.texture is not None:
            verts, texture, normals = planes.vertices, planes.texture, planes.vertex_normals(self.faces)
            if planes.batch_size != b:
                verts, texture = verts.expand(b, -1, -1), texture.expand(b, -1, -1, -1)
                normals = normals.expand(b, -1, -1)
            small = q.screen_resolution
            if window is None and 0 < small < out_size:  # faster: composite at `small`, add the change back
                base = F.interpolate(rgb, size=(small, small), mode="bilinear", align_corners=False, antialias=True)
                raster = rasterize_camera(verts, self.faces, self.uvs, self.faces_uv, cameras, small, normals=normals)
                change = self.screen(raster, texture, base, feat_img, alpha_img, depth_img) - base
                rgb = rgb + F.interpolate(change, size=(out_size, out_size), mode="bilinear", align_corners=False)
            else:
                raster = rasterize_camera(
                    verts.detach(), self.faces, self.uvs, self.faces_uv, cameras,
                    self.config.image_resolution, window, out_size, normals,
                )  # fmt: skip
                rgb = self.screen(raster, texture, rgb, feat_img, alpha_img, depth_img)
        if q.refine and self.refine is not None:
            rgb = self.refine(rgb)
        if resolution is not None and resolution != rgb.shape[-1]:
            aa = resolution < rgb.shape[-1]
            rgb = F.interpolate(rgb, size=(resolution, resolution), mode="bilinear", align_corners=False, antialias=aa)
        return {
            "rgb": rgb,
            "raw": raw,
            "depth": depth_img,
            "alpha": alpha_img,
            "features": feat_img,
        }

    def forward(
        self,
        texture_code: torch.Tensor,
        shape_code: torch.Tensor,
        blend_weights: torch.Tensor,
        cameras: torch.Tensor,
        hairstyle: HairstyleSpec = None,
        quality: str | RenderQuality = "full",
        hair: bool = True,
    ) -> dict[str, torch.Tensor]:
        """Codes + cameras [B, 25] -> the :meth:`render` dict (training convenience)."""
        planes = self.planes(texture_code, shape_code, blend_weights, hairstyle)
        return self.render(planes, cameras, quality=quality, hair=hair)


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """[3, H, W] or [1, H, W] on the [0, 1] scale -> [H, W, 3] / [H, W] uint8 (clamped)."""
    arr = image.detach().float().clamp(0.0, 1.0).mul(255.0).round().to(torch.uint8).cpu().numpy()
    return arr[0] if arr.shape[0] == 1 else np.ascontiguousarray(arr.transpose(1, 2, 0))


def count_parameters(module: nn.Module) -> int:
    return int(sum(p.numel() for p in module.parameters()))
