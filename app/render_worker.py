"""The render worker: one thread that owns every generator render of the viewport, apart from the UI.

* Latest wins: :meth:`RenderWorker.submit` replaces any request that has not started yet (the replaced
  one is counted as dropped, never rendered); the UI thread never waits for a frame.
* Planes are cached: a camera, render-mode or quality change reuses them (``G.render`` only); a hairstyle
  change swaps the hair planes only; codes or expression changes rebuild them (``G.planes``).
* Every mode is one :func:`head360.export.render.render_view` of the cached planes. The shaded mesh modes
  keep their marching-cubes mesh (per planes, grid and iso) and OpenGL renderer in this thread's
  :class:`head360.export.render.MeshPreview`, in the thread's own offscreen context: DearPyGui's GL context
  stays on the UI thread and is never drawn into.
* Idle tasks (hairstyle thumbnails) run only while no frame is waiting.

Frames come back as float32 RGBA arrays of the fixed display size, ready for a DearPyGui dynamic texture.
"""

from __future__ import annotations

import contextlib
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from head360.cameras import Camera
from head360.errors import Head360Error
from head360.export.render import MESH_MODES, MeshPreview

MODE_LABELS: dict[str, str] = {
    "rgb": "RGB (final image)",
    "raw": "Raw neural image",
    "depth": "Depth",
    "alpha": "Alpha",
    "mesh": "Mesh (clay)",
    "mesh_color": "Mesh (colours)",
}
"""The viewport's name for each of head360.export.render.MODES."""


@dataclass
class LoadedModel:
    """A checkpoint loaded for the studio. ``version`` changes whenever another model is loaded."""

    checkpoint: object  # head360.model.checkpoint.Checkpoint
    path: str
    version: int

    @property
    def generator(self):
        return self.checkpoint.generator

    @property
    def name(self) -> str:
        from pathlib import Path

        return Path(self.path).name


@dataclass
class RenderRequest:
    """Everything one viewport frame depends on.

    subject:    head360.model.checkpoint.Subject: codes, hairstyle, optional optimised texture / planes,
                and the expression those planes hold (its blend_weights)
    blend_weights: [52] the expression to show (None: the subject's)
    camera:     the view
    mode:       one of head360.export.render.MODES
    quality:    a name from the model's ``config.renderer.qualities``
    interactive: rendered while the user drags (a lowered quality shown as such)
    mesh_resolution / mesh_iso: grid side and density level of the shaded mesh modes (None: automatic,
                :func:`head360.export.mesh.auto_iso`, as `export-mesh`)
    """

    model: LoadedModel
    subject: object
    hair: bool
    camera: Camera
    mode: str = "rgb"
    quality: str = "full"
    interactive: bool = False
    mesh_resolution: int = 64
    mesh_iso: float | None = None
    blend_weights: np.ndarray | None = None
    id: int = 0

    @property
    def expression(self) -> np.ndarray:
        """The blendshape weights [52] to show."""
        return np.asarray(self.subject.blend_weights if self.blend_weights is None else self.blend_weights, np.float32)


@dataclass
class RenderResult:
    """A finished frame (or the error that stopped it).

    image:     [S * S * 4] float32 RGBA in 0..1 for the display texture (None on error)
    native:    the frame as uint8 [H, W, 3] at the resolution it was rendered (for screenshots)
    render_ms: wall time of the whole frame; planes_ms: of the part spent rebuilding planes (0: reused)
    """

    request: RenderRequest
    image: np.ndarray | None
    native: np.ndarray | None
    render_ms: float
    planes_ms: float
    mesh_ms: float = 0.0
    detail: str = ""
    error: str | None = None
    finished_at: float = field(default_factory=time.perf_counter)


def to_display_rgba(image: np.ndarray, size: int) -> np.ndarray:
    """uint8 [H, W] / [H, W, 3] / [H, W, 4] -> float32 [size * size * 4] (resized to size x size)."""
    img = np.asarray(image)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    if img.shape[0] != size or img.shape[1] != size:
        from PIL import Image

        img = np.asarray(Image.fromarray(np.ascontiguousarray(img)).resize((size, size), Image.BILINEAR))
    rgba = np.empty((size, size, 4), np.float32)
    rgba[..., :3] = img[..., :3] * (1.0 / 255.0)
    rgba[..., 3] = 1.0 if img.shape[2] == 3 else img[..., 3] * (1.0 / 255.0)
    return rgba.reshape(-1)


class RenderWorker:
    """Renders :class:`RenderRequest` s in a background thread; the UI polls :meth:`take_result`."""

    def __init__(self, display_size: int = 512) -> None:
        self.display_size = int(display_size)
        self._cond = threading.Condition()
        self._pending: RenderRequest | None = None
        self._result: RenderResult | None = None
        self._idle: list[tuple[str, Callable[[], None]]] = []
        self._stop = False
        self._busy = False
        self._next_id = 0
        self.submitted = 0
        self.rendered = 0
        self.dropped = 0
        self.idle_errors: list[str] = []
        # caches (worker thread only)
        self._planes = None
        self._head_key = None
        self._hair_key = None
        self._mesh_preview = MeshPreview()
        self._thread = threading.Thread(target=self._run, name="head360-render", daemon=True)
        self._thread.start()

    # --- UI side ------------------------------------------------------------------------------
    def submit(self, request: RenderRequest) -> int:
        """Queue ``request`` as the next frame, replacing one not yet started. Returns its id."""
        with self._cond:
            self._next_id += 1
            request.id = self._next_id
            if self._pending is not None:
                self.dropped += 1
            self._pending = request
            self.submitted += 1
            self._cond.notify_all()
            return request.id

    def take_result(self) -> RenderResult | None:
        """The newest finished frame since the last call, or None."""
        with self._cond:
            result, self._result = self._result, None
            return result

    def add_idle_task(self, name: str, task: Callable[[], None]) -> None:
        """Run ``task()`` in the worker when no frame is waiting (e.g. thumbnails). Errors are kept in
        :attr:`idle_errors`."""
        with self._cond:
            self._idle.append((name, task))
            self._cond.notify_all()

    def cancel_idle_tasks(self, prefix: str = "") -> None:
        with self._cond:
            self._idle = [t for t in self._idle if not t[0].startswith(prefix)]

    @property
    def submitted_id(self) -> int:
        """Id of the newest request submitted."""
        with self._cond:
            return self._next_id

    @property
    def busy(self) -> bool:
        """A frame is rendering or waiting."""
        with self._cond:
            return self._busy or self._pending is not None

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until nothing renders or waits (tests and shutdown only; never from the UI loop)."""
        end = time.perf_counter() + timeout
        while time.perf_counter() < end:
            with self._cond:
                if not self._busy and self._pending is None and not self._idle:
                    return True
            time.sleep(0.005)
        return False

    def stop(self, timeout: float = 10.0) -> None:
        with self._cond:
            self._stop = True
            self._idle.clear()
            self._cond.notify_all()
        self._thread.join(timeout)

    # --- worker side --------------------------------------------------------------------------
    def _run(self) -> None:
        import torch

        try:
            with torch.no_grad():
                while True:
                    with self._cond:
                        while not self._stop and self._pending is None and not self._idle:
                            self._cond.wait()
                        if self._stop:
                            return
                        request, self._pending = self._pending, None
                        idle = None
                        if request is None:
                            idle = self._idle.pop(0)
                        self._busy = True
                    try:
                        if request is not None:
                            result = self._render(request)
                            with self._cond:
                                self._result = result
                                self.rendered += 1
                        else:
                            try:
                                idle[1]()
                            except Exception as e:  # an idle task failing must not stop the worker
                                self.idle_errors.append(f"{idle[0]}: {_one_line(e)}")
                    finally:
                        with self._cond:
                            self._busy = False
        finally:
            self._close_gl()

    def _close_gl(self) -> None:
        if not self._mesh_preview.drawing:  # no mesh mode was shown: no GL context to free
            return
        from head360.gl.context import close_thread_context

        with contextlib.suppress(Exception):  # closing at exit: nothing useful to report
            self._mesh_preview.close()
            close_thread_context()

    def planes_for(self, request: RenderRequest):
        """Planes of the request's head (cached; called in the worker thread). -> (planes, ms spent)."""
        from head360.model.checkpoint import hair_color_input, subject_planes
        from head360.model.generator import Planes

        g = request.model.generator
        s = request.subject
        head_key = (
            request.model.version,
            np.asarray(s.texture_code, np.float32).tobytes(),
            np.asarray(s.shape_code, np.float32).tobytes(),
            request.expression.tobytes(),
            id(s.neural_texture),
            id(s.head_planes),
            id(s.hair_planes),
        )
        hair_key = (s.hairstyle, s.hair_color)
        if self._planes is not None and head_key == self._head_key and hair_key == self._hair_key:
            return self._planes, 0.0
        start = time.perf_counter()
        if self._planes is not None and head_key == self._head_key and s.hair_planes is None:
            old = self._planes
            # a hairstyle or hair-colour change: only the hair planes change
            hair, names = g.hair_planes(s.hairstyle, 1, hair_color_input(g, s.hair_color))
            planes = Planes(old.head, hair, old.style, names, old.vertices, old.raster, old.texture)
        else:
            planes = subject_planes(g, s, request.expression, s.hairstyle)
        self._planes, self._head_key, self._hair_key = planes, head_key, hair_key
        return planes, (time.perf_counter() - start) * 1000.0

    def _render(self, request: RenderRequest) -> RenderResult:
        from head360.export.render import render_view

        start = time.perf_counter()
        try:
            planes, planes_ms = self.planes_for(request)
            g = request.model.generator
            native = render_view(
                g,
                planes,
                request.camera,
                request.mode,
                resolution=None if request.mode == "rgb" else self.display_size,
                quality=request.quality,
                hair=request.hair,
                mesh_resolution=request.mesh_resolution,
                mesh_iso=request.mesh_iso,
                mesh=self._mesh_preview,
            )
            mesh_ms = 0.0
            if request.mode in MESH_MODES:
                mesh = self._mesh_preview.mesh
                mesh_ms = self._mesh_preview.extract_ms
                detail = f"mesh {len(mesh.vertices):,} vertices, grid {request.mesh_resolution}³, iso {mesh.iso:.3g}"
            else:
                q = g.quality(request.quality)
                detail = (
                    f"{request.quality}: neural {q.neural_resolution}², "
                    f"{q.coarse_samples}+{q.importance_samples} samples"
                )
            image = to_display_rgba(native, self.display_size)
            return RenderResult(
                request, image, native, (time.perf_counter() - start) * 1000.0, planes_ms, mesh_ms, detail
            )
        except Head360Error as e:
            return RenderResult(request, None, None, (time.perf_counter() - start) * 1000.0, 0.0, error=str(e))
        except Exception as e:  # shown in the window; the worker keeps running
            traceback.print_exc()
            return RenderResult(
                request, None, None, (time.perf_counter() - start) * 1000.0, 0.0, error=f"render failed: {_one_line(e)}"
            )


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
