"""Images of a head: the one render call of the command line (`render`, `turntable`, `animate`) and the
studio (viewport, screenshot, hairstyle thumbnails).

    image = render_view(generator, planes, Camera.orbit(30.0), mode="depth")   # uint8 [H, W]

Modes: the generator's image (``rgb``), its raw neural render, depth and alpha (one ``G.render`` of the
planes), and the marching-cubes mesh that `export-mesh` writes, shaded in clay (``mesh``: the shape reads
best) or with its vertex colours (``mesh_color``), drawn with the project's OpenGL renderer (head360.gl).
Only the camera is an argument beside the planes: a camera move never recomputes anything upstream of
them; callers that show many views of one head keep its planes (and, for the mesh modes, a
:class:`MeshPreview`).
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from head360.cameras import Camera
from head360.errors import Head360Error

if TYPE_CHECKING:
    import torch

MODES = ("rgb", "raw", "depth", "alpha", "mesh", "mesh_color")
MESH_MODES = ("mesh", "mesh_color")
CLAY = (0.72, 0.70, 0.68)
"""Base colour of the ``mesh`` mode (linear 0..1)."""
MESH_PREVIEW_RESOLUTION = 192
"""Density grid side of the mesh modes unless told otherwise (`render --mode mesh`, the studio's screenshot)."""


def check_mode(mode: str) -> None:
    """Head360Error unless ``mode`` is one of :data:`MODES`."""
    if mode not in MODES:
        raise Head360Error(f"unknown render mode '{mode}'; choose one of {', '.join(MODES)}")


def _visualise(out: dict[str, torch.Tensor], mode: str, resolution: int | None, index: int) -> np.ndarray:
    """One item of a ``G.render`` dict in a generator mode as uint8: rgb/raw -> [H, W, 3]; depth/alpha -> [H, W].

    rgb is shown as rendered (``G.render`` resizes it). raw, depth and alpha are the neural-resolution
    images, enlarged with nearest-neighbour (so their pixels stay visible) to ``resolution`` (default: the
    side of rgb). Depth: near = bright, far = dark, nothing = black.
    """
    import torch
    import torch.nn.functional as F

    from head360.model.generator import to_uint8

    if mode == "rgb":
        return to_uint8(out["rgb"][index])
    if mode == "raw":
        img = out["raw"][index : index + 1]
    elif mode == "alpha":
        img = out["alpha"][index : index + 1]
    else:  # depth
        depth, alpha = out["depth"][index : index + 1], out["alpha"][index : index + 1]
        fg = alpha > 0.5
        if fg.any():
            near, far = depth[fg].min(), depth[fg].max()
            img = torch.where(fg, 1.0 - 0.85 * (depth - near) / (far - near).clamp(min=1e-6), torch.zeros_like(depth))
        else:
            img = torch.zeros_like(depth)
    size = resolution or out["rgb"].shape[-1]
    img = F.interpolate(img, size=(size, size), mode="nearest")
    return to_uint8(img[0])


class MeshPreview:
    """What the mesh modes keep between frames of one thread: the last marching-cubes mesh (extracted again
    only when the planes, hair, grid or iso change) and the OpenGL renderer that draws it, in the calling
    thread's context (``head360.gl.context.thread_context``). Use it from one thread; :meth:`close` frees
    the renderer (the thread's context stays: :func:`head360.gl.context.close_thread_context` ends it).

    mesh:       the last mesh drawn (its ``iso`` is the level used: automatic or given)
    extract_ms: time the last :meth:`image` spent extracting the mesh (0: the cached one was drawn)
    """

    def __init__(self) -> None:
        self.mesh = None
        self.extract_ms = 0.0
        self._key = None  # (weakref to the planes, hair, grid, iso) of `mesh`
        self._renderer = None
        self._scene = None  # `colored` of the scene uploaded from `mesh` (None: not uploaded)

    def image(
        self,
        generator,
        planes,
        camera: Camera,
        size: int,
        hair: bool = True,
        colored: bool = False,
        resolution: int = MESH_PREVIEW_RESOLUTION,
        iso: float | None = None,
    ) -> np.ndarray:
        """The shaded mesh of ``planes`` (batch 1) from ``camera`` -> uint8 [size, size, 3].

        resolution / iso: the density grid side and surface level (None: automatic, as `export-mesh`:
        :func:`head360.export.mesh.auto_iso`)."""
        from head360.export.mesh import extract_mesh

        key = (hair, resolution, iso)
        cached = self._key is not None and self._key[0]() is planes and self._key[1:] == key
        self.extract_ms = 0.0
        if not cached:
            start = time.perf_counter()
            self.mesh, self._key, self._scene = None, None, None
            self.mesh = extract_mesh(generator, planes, resolution, iso, hair=hair)
            self._key = (weakref.ref(planes), *key)
            self.extract_ms = (time.perf_counter() - start) * 1000.0
        import head360.gl  # noqa: F401  (EGL platform before OpenGL is imported)
        from head360.gl.renderer import MeshRenderer, RenderMesh

        if self._renderer is None:
            self._renderer = MeshRenderer(size, supersample=2)
        self._renderer.resize(size)
        if self._scene != colored:  # None: this mesh is not uploaded yet
            m, colors = self.mesh, self.mesh.colors if colored else None
            self._renderer.set_scene(
                [RenderMesh(m.vertices, m.faces, colors=colors, material="plain", base_color=CLAY)]
            )
            self._scene = colored
        return self._renderer.render(camera, outputs=("rgb",)).rgb

    @property
    def drawing(self) -> bool:
        """An OpenGL renderer is open (in the thread's context) until :meth:`close`."""
        return self._renderer is not None

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
        self._renderer, self._scene = None, None


def render_view(
    generator,
    planes,
    camera: Camera | Sequence[Camera],
    mode: str = "rgb",
    resolution: int | None = None,
    quality: str = "full",
    hair: bool = True,
    mesh_resolution: int = MESH_PREVIEW_RESOLUTION,
    mesh_iso: float | None = None,
    mesh: MeshPreview | None = None,
) -> np.ndarray:
    """Render ``planes`` (a :class:`head360.model.generator.Planes` of one head) in one of :data:`MODES`.

    camera:     one camera -> uint8 [R, R, 3] (rgb, raw, mesh modes) or [R, R] (depth, alpha); a sequence of
                N cameras -> [N, R, R, 3] / [N, R, R] (the generator renders them as one batch)
    resolution: R (default: the model's output side); rgb is resized smoothly, raw / depth / alpha are
                enlarged from the neural resolution with nearest-neighbour, the mesh modes are drawn at R
    quality:    a name from the model's ``config.renderer.qualities`` (not used by the mesh modes)
    hair:       sum the hair planes in (False: the head alone)
    mesh_resolution / mesh_iso: density grid side and surface level of the mesh modes (iso None: automatic,
                :func:`head360.export.mesh.auto_iso`, as `export-mesh`)
    mesh:       a :class:`MeshPreview` to keep the mesh and renderer between calls (the studio's viewport);
                None: a temporary one for this call
    """
    import torch

    check_mode(mode)
    cameras = [camera] if isinstance(camera, Camera) else list(camera)
    if mode in MESH_MODES:
        size = resolution or generator.config.image_resolution
        preview = mesh if mesh is not None else MeshPreview()
        try:
            images = [
                preview.image(generator, planes, cam, size, hair, mode == "mesh_color", mesh_resolution, mesh_iso)
                for cam in cameras
            ]
        finally:
            if mesh is None:
                preview.close()
    else:
        labels = torch.tensor([cam.label() for cam in cameras], dtype=torch.float32, device=planes.head.device)
        with torch.no_grad():
            out = generator.render(planes, labels, quality=quality, resolution=resolution, hair=hair)
        images = [_visualise(out, mode, resolution, i) for i in range(len(cameras))]
    return images[0] if isinstance(camera, Camera) else np.stack(images)


def render_image(
    generator,
    subject,
    blend_weights: np.ndarray,
    hairstyle: str | None,
    yaw: float = 0.0,
    pitch: float = 0.0,
    mode: str = "rgb",
    resolution: int | None = None,
    hair: bool = True,
    quality: str = "full",
    mesh_resolution: int = MESH_PREVIEW_RESOLUTION,
    mesh_iso: float | None = None,
) -> np.ndarray:
    """A subject (:class:`head360.model.checkpoint.Subject`) with blendshape weights [52] from an orbit
    camera: its planes, then :func:`render_view` (what `python main.py render` writes)."""
    import torch

    from head360.model.checkpoint import subject_planes

    check_mode(mode)
    with torch.no_grad():
        planes = subject_planes(generator, subject, blend_weights, hairstyle if hair else None)
    return render_view(
        generator, planes, Camera.orbit(yaw, pitch), mode, resolution, quality, hair, mesh_resolution, mesh_iso
    )
