"""The studio window: layout, the UI loop, the current head and view, and what connects the panels.

Threads: the UI thread runs DearPyGui (callbacks are run by this loop, not by DearPyGui's own thread, so
panels and state are only ever touched here); the render worker (app.render_worker) renders frames,
latest-wins; background jobs (app.jobs) export, load and fit. A frame that only moves the camera reuses
the planes.

Automation: ``StudioOptions.driver`` is a generator function ``driver(studio)`` advanced once per UI
frame (tests and screenshot scripts use it to click through the studio); the studio closes when it ends.
"""

from __future__ import annotations

import dataclasses
import inspect
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.file_drop import FileDrop
from app.images import IMAGE_SUFFIXES
from app.jobs import JobRunner
from app.orbit import OrbitView
from app.render_worker import LoadedModel, RenderRequest, RenderWorker
from head360.errors import Head360Error
from head360.export.render import MESH_MODES

INTERACTION_HOLD_S = 0.3
"""After the last drag / slider event, how long the view counts as moving (low-res preview frames)."""

ACTIVE_UI_FPS = 60.0
IDLE_UI_FPS = 12.0
"""The UI loop runs at up to 60 frames/s while the user acts (mouse, keys, within the last second) or the
head spins, and at 12 when nobody touches it (new frames, progress bars and logs still show within a
tenth of a second). On machines that draw the UI in software (no GPU driver) a frame costs tens of ms of
CPU: idling slowly leaves the CPU to the renderer."""
ACTIVE_HOLD_S = 1.0
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "C:/Windows/Fonts/segoeui.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
)
TAB_NAMES = ("Expression", "Identity", "Hair", "Timeline", "Export", "Fit", "Train")


@dataclass
class StudioOptions:
    checkpoint: str
    subject: str | None = None
    device: str = "cpu"
    width: int = 1280
    height: int = 800
    export_dir: Path = field(default_factory=lambda: Path.cwd() / "head360-out" / "exports")
    """Where exports go (changeable in the Export tab)."""
    display_size: int = 512
    """Side of the viewport texture (fixed for the session; frames are resized to it)."""
    title: str = "Head360 Studio"
    driver: Callable[[Studio], Iterator] | None = None
    """Automation hook: a generator function advanced once per UI frame; the studio closes when it ends."""
    mesh_preview_resolution: int = 64
    """Grid side of the marching-cubes mesh shown in the viewport's shaded mesh mode."""


class Studio:
    def __init__(self, options: StudioOptions) -> None:
        from head360.device import resolve_device
        from head360.model.checkpoint import load_checkpoint

        self.options = options
        self.device = resolve_device(options.device)
        ckpt = load_checkpoint(options.checkpoint, device=self.device)
        self.model = LoadedModel(ckpt, str(options.checkpoint), version=1)
        self.head, self.subject_index = self._initial_head(options.subject)
        self._stored_expression = self.head.blend_weights.copy()
        self.base_head = self._copy(self.head)
        self.hair_on = True
        self.view = OrbitView()
        self.mode = "rgb"
        self.quality = "full"
        self.preview_while_moving = True
        self.spin = False
        self.worker = RenderWorker(options.display_size)
        self.jobs = JobRunner()
        self.drop = FileDrop()
        self.frame_count = 0
        self.last_result = None
        self.results_shown = 0
        self.last_done_id = 0
        self.exit_code = 0
        self._dirty = True
        self._moving_until = 0.0
        self._last_interactive = False
        self._running = False
        self._layout_size = (0, 0)
        self._fitted_note_shown = False
        self._key_pressed = False

        from app.panels.blendshapes import BlendshapePanel
        from app.panels.export import ExportPanel
        from app.panels.fit import FitPanel
        from app.panels.hair import HairPanel
        from app.panels.identity import IdentityPanel
        from app.panels.status_bar import StatusBar
        from app.panels.timeline import TimelinePanel
        from app.panels.train import TrainPanel
        from app.panels.viewport import ViewportPanel

        self.viewport = ViewportPanel(self)
        self.blendshapes = BlendshapePanel(self)
        self.identity = IdentityPanel(self)
        self.hair = HairPanel(self)
        self.timeline = TimelinePanel(self)
        self.export = ExportPanel(self)
        self.fit = FitPanel(self)
        self.train = TrainPanel(self)
        self.status_bar = StatusBar(self)
        self.tab_panels = (self.blendshapes, self.identity, self.hair, self.timeline, self.export, self.fit, self.train)
        self.panels = (self.viewport, *self.tab_panels, self.status_bar)

    # --- head state ---------------------------------------------------------------------------
    @property
    def generator(self):
        return self.model.generator

    @staticmethod
    def _copy(subject):
        return dataclasses.replace(
            subject,
            texture_code=np.array(subject.texture_code, np.float32),
            shape_code=np.array(subject.shape_code, np.float32),
            blend_weights=np.array(subject.blend_weights, np.float32),
        )

    def _initial_head(self, spec):
        from head360.arkit import NUM_BLENDSHAPES
        from head360.model.checkpoint import Subject, resolve_subject

        ckpt = self.model.checkpoint
        if spec is None and not ckpt.subjects:
            g = ckpt.generator
            rng = np.random.default_rng(0)
            head = Subject(
                rng.standard_normal(g.config.texture.code_dim).astype(np.float32),
                np.zeros(g.mesh.shape_dim, np.float32),
                np.zeros(NUM_BLENDSHAPES, np.float32),
                g.hairstyles[0] if g.hairstyles else None,
                source="random head (this checkpoint has no subject table)",
            )
            return head, None
        head = resolve_subject(ckpt, spec)
        index = None
        if spec is None or str(spec).strip().isdigit():
            index = 0 if spec is None else int(spec)
        return head, index

    def set_head(self, subject, base: bool = True, subject_index: int | None = None) -> None:
        """Make ``subject`` (head360.model.checkpoint.Subject) the current head (from a file, a fit, a pick)."""
        self._stored_expression = np.array(subject.blend_weights, np.float32)
        self.head = self._copy(subject)
        if base:
            self.base_head = self._copy(subject)
        self.subject_index = subject_index
        self._fitted_note_shown = False
        for p in self.tab_panels:
            p.on_head_changed()
        self.head_changed()

    def select_subject(self, index: int) -> None:
        """A training subject of the checkpoint, keeping the current expression."""
        from head360.model.checkpoint import resolve_subject

        subject = resolve_subject(self.model.checkpoint, index)
        subject.blend_weights = self.head.blend_weights.copy()
        self.set_head(subject, base=True, subject_index=index)
        self.set_status(f"subject {index}: {self.model.checkpoint.subjects[index].name}")

    def set_codes(self, texture_code=None, shape_code=None, blend_weights=None, interactive: bool = False) -> None:
        """Change codes of the current head (arrays: texture [Zt], shape [50], blend weights [52]).

        What a fit produced belongs to the fitted codes: a new texture code leaves the fitted neural
        texture and planes; a new shape keeps the neural texture (it is drawn through the new mesh) but
        leaves optimised planes, which hold one fixed mesh. The status line says so once."""
        h = self.head
        changes = {}
        if texture_code is not None:
            changes["texture_code"] = np.asarray(texture_code, np.float32)
        if shape_code is not None:
            changes["shape_code"] = np.asarray(shape_code, np.float32)
        if blend_weights is not None:
            changes["blend_weights"] = np.clip(np.asarray(blend_weights, np.float32), 0.0, 1.0)
        left = []
        if texture_code is not None and h.neural_texture is not None:
            changes["neural_texture"] = None
            left.append("fitted texture")
        if (texture_code is not None or shape_code is not None) and h.head_planes is not None:
            changes.update(head_planes=None, hair_planes=None)
            left.append("optimised planes")
        if left and not self._fitted_note_shown:
            self.set_status(f"edited codes replace the {' and '.join(left)} of this head")
            self._fitted_note_shown = True
        self.head = dataclasses.replace(h, **changes)
        if texture_code is not None or shape_code is not None:
            self.subject_index = None
        self.head_changed(interactive)

    def set_blend_weights(self, updates: dict[str, float], interactive: bool = False) -> None:
        from head360.arkit import INDEX

        weights = self.head.blend_weights.copy()
        for name, value in updates.items():
            weights[INDEX[name]] = float(np.clip(value, 0.0, 1.0))
        self.head = dataclasses.replace(self.head, blend_weights=weights)
        self.head_changed(interactive)

    def sync_expression(self) -> None:
        self.blendshapes.on_head_changed()

    def set_hairstyle(self, style: str | None) -> None:
        if style is not None:
            self.generator.hairstyle_index(style)  # unknown -> Head360Error in the status line
        self.head = dataclasses.replace(self.head, hairstyle=style, hair_planes=None)
        self.hair_on = True
        self.head_changed()
        self.set_status(f"hairstyle: {style or 'none (bald)'}")

    def set_hair_color(self, color: tuple[float, float, float] | None) -> None:
        """Hair colour (sRGB 0..1), or None for the hairstyle's own; only the hair planes are remade."""
        if color is not None and self.generator.hair_color is None:
            self.set_status("this model was trained without hair colour as an input", error=True)
            return
        self.head = dataclasses.replace(self.head, hair_color=None if color is None else tuple(color), hair_planes=None)
        self.head_changed()
        self.set_status("hair colour: " + ("the hairstyle's own" if color is None else _hex(color)))

    def set_hair_on(self, on: bool) -> None:
        self.hair_on = bool(on)
        self.view_changed()

    def render_head(self, expression=None):
        """What the library's ``subject_planes(G, subject, expression, hairstyle)`` needs for the current
        head: (subject, expression [52]). The expression is the current one (or ``expression``); optimised
        planes keep the expression they were made for in the subject, so asking for another one gets the
        library's message instead of planes that silently ignore the sliders."""
        subject = self._copy(self.head)
        weights = subject.blend_weights.copy() if expression is None else np.asarray(expression, np.float32)
        if subject.head_planes is not None:
            subject.blend_weights = self._stored_expression.copy()
        return subject, weights

    def current_subject(self):
        """The current head as a subject file's content (optimised planes with the expression they hold)."""
        head, _ = self.render_head()
        if not head.source or not head.source.startswith("studio"):
            head.source = f"studio ({Path(self.model.path).name}; from {self.head.source or 'edits'})"
        return head

    def set_mode(self, mode: str) -> None:
        """Viewport render mode (one of head360.export.render.MODES); the toolbar follows."""
        import dearpygui.dearpygui as dpg

        from app.render_worker import MODE_LABELS

        self.mode = mode
        dpg.set_value("view_mode", MODE_LABELS[mode])
        self.view_changed()

    def set_quality(self, name: str) -> None:
        import dearpygui.dearpygui as dpg

        self.generator.quality(name)  # unknown -> Head360Error
        self.quality = name
        dpg.set_value("view_quality", name)
        self.view_changed()

    # --- render requests ----------------------------------------------------------------------
    def head_changed(self, interactive: bool = False) -> None:
        self._dirty = True
        if interactive:
            self._moving_until = time.perf_counter() + INTERACTION_HOLD_S

    view_changed = head_changed

    @property
    def settled(self) -> bool:
        """The newest request has been rendered and shown, at rest quality, and nothing else is due."""
        return (
            not self._dirty
            and not self._last_interactive
            and not self.worker.busy
            and self.last_done_id == self.worker.submitted_id
        )

    def _moving(self) -> bool:
        return self.viewport.dragging or self.spin or time.perf_counter() < self._moving_until

    def _request(self, interactive: bool) -> RenderRequest:
        quality = self.quality
        if interactive:
            quality = "preview"
        subject, weights = self.render_head()
        return RenderRequest(
            model=self.model,
            subject=subject,
            blend_weights=weights,
            hair=self.hair_on,
            camera=self.view.camera(),
            mode=self.mode,
            quality=quality,
            interactive=interactive,
            mesh_resolution=self.options.mesh_preview_resolution,
            mesh_iso=None if _dpg_value("export_mesh_auto_iso", True) else float(_dpg_value("export_mesh_iso", 10.0)),
        )

    def _schedule_render(self) -> None:
        moving = self._moving()
        lowered = (
            moving
            and self.preview_while_moving
            and self.mode not in MESH_MODES
            and self.quality != "preview"
            and "preview" in self.generator.config.renderer.qualities
        )
        if self._dirty:
            self.worker.submit(self._request(lowered))
            self._dirty = False
            self._last_interactive = lowered
        elif self._last_interactive and not lowered:
            self.worker.submit(self._request(False))  # the view came to rest: full quality
            self._last_interactive = False

    # --- files --------------------------------------------------------------------------------
    def open_path(self, path: str | Path) -> None:
        """What a drop (or File > Open) does: a checkpoint loads, a subject file becomes the current head,
        a photo goes to the Fit tab, a dataset folder to the Train tab."""
        from head360.anim.video_io import VIDEO_INPUT_SUFFIXES
        from head360.model.checkpoint import SUBJECT_SUFFIX, resolve_subject

        path = Path(path)
        suffix = path.suffix.lower()
        if not path.exists():
            raise Head360Error(f"'{path}' does not exist")
        if path.is_dir():
            if (path / "dataset.json").is_file():
                import dearpygui.dearpygui as dpg

                dpg.set_value("train_data", str(path))
                self.show_tab("Train")
                self.set_status(f"dataset {path} selected for training")
                return
            raise Head360Error(
                f"'{path.name}' is a folder; drop a checkpoint, a .h360 subject, a photo or a dataset folder"
            )
        if suffix == ".safetensors":
            self.load_checkpoint(path)
        elif suffix == SUBJECT_SUFFIX:
            subject = resolve_subject(self.model.checkpoint, str(path))  # checks it fits this model
            self.set_head(subject, base=True, subject_index=None)
            self.set_status(f"loaded subject {path.name}")
        elif suffix in IMAGE_SUFFIXES:
            self.fit.set_photo(path)
        elif suffix in (".json", ".csv") or suffix in VIDEO_INPUT_SUFFIXES:
            self.timeline.open_path(path)  # animation, ARKit weights or a video to capture
            self.show_tab("Timeline")
        else:
            raise Head360Error(
                f"cannot open '{path.name}': drop a checkpoint (.safetensors), a subject (.h360), a photo "
                f"({', '.join(IMAGE_SUFFIXES)}), an animation or ARKit weights (.json, .csv) or a video"
            )

    def load_checkpoint(self, path: str | Path) -> None:
        """Load another checkpoint in the background; the viewport switches when it is ready."""
        from head360.model.checkpoint import load_checkpoint

        path = Path(path)
        device = self.device

        def work(job):
            job.report(None, f"loading {path.name}")
            return load_checkpoint(path, device=device)

        def done(job) -> None:
            self.model = LoadedModel(job.result, str(path), self.model.version + 1)
            self.worker.cancel_idle_tasks()
            self.head, self.subject_index = self._initial_head(None)
            self._stored_expression = self.head.blend_weights.copy()
            self.base_head = self._copy(self.head)
            self._model_changed()
            self.set_status(f"loaded checkpoint {path.name} ({self.generator.config.name} preset)")

        def failed(job) -> None:
            self.set_status(job.error, error=True)

        self.set_status(f"loading checkpoint {path.name}...")
        self.jobs.start("load checkpoint", work, on_done=done, on_error=failed)

    def _model_changed(self) -> None:
        import dearpygui.dearpygui as dpg

        for p in self.panels:
            p.on_model_changed()
        for p in self.tab_panels:
            p.on_head_changed()
        trained = self.model.checkpoint.info.get("trained", True)
        dpg.set_viewport_title(
            f"{self.options.title} - {self.model.name} ({self.generator.config.name}"
            + ("" if trained else ", untrained")
            + ")"
        )
        self.head_changed()

    # --- messages -----------------------------------------------------------------------------
    def set_status(self, text: str, error: bool = False) -> None:
        if error:
            print(f"studio: {text}", file=sys.stderr)
        self.status_bar.set_message(text, error)

    def show_tab(self, name: str) -> None:
        import dearpygui.dearpygui as dpg

        dpg.set_value("tabs", f"tab_{name}")

    # --- window -------------------------------------------------------------------------------
    def _build(self) -> None:
        import dearpygui.dearpygui as dpg

        with dpg.font_registry():
            for candidate in FONT_CANDIDATES:
                if Path(candidate).is_file():
                    dpg.bind_font(dpg.add_font(candidate, 15))
                    break
        with dpg.theme() as theme, dpg.theme_component(dpg.mvAll):
            dpg.add_theme_style(dpg.mvStyleVar_FrameRounding, 3)
            dpg.add_theme_style(dpg.mvStyleVar_WindowPadding, 8, 6)
            dpg.add_theme_style(dpg.mvStyleVar_ItemSpacing, 6, 5)
        dpg.bind_theme(theme)
        with dpg.window(tag="main_window", no_scrollbar=True):
            with dpg.menu_bar():
                with dpg.menu(label="File"):
                    dpg.add_menu_item(
                        label="Open checkpoint...", callback=lambda: dpg.show_item("open_checkpoint_dialog")
                    )
                    dpg.add_menu_item(
                        label="Open subject (.h360)...", callback=lambda: dpg.show_item("subject_load_dialog")
                    )
                    dpg.add_menu_item(
                        label="Save subject (.h360)...", callback=lambda: dpg.show_item("subject_save_dialog")
                    )
                    dpg.add_menu_item(label="Open photo...", callback=lambda: dpg.show_item("fit_photo_dialog"))
                    dpg.add_separator()
                    dpg.add_menu_item(label="Quit", callback=lambda: dpg.stop_dearpygui())
                with dpg.menu(label="View"):
                    for name in ("front", "left", "back", "right", "top"):
                        dpg.add_menu_item(label=name.capitalize(), callback=self._menu_preset, user_data=name)
                with dpg.menu(label="Help"):
                    dpg.add_text(
                        "Left-drag orbits, right/middle-drag pans, the wheel zooms, double-click resets.\n"
                        "Drop a checkpoint (.safetensors), a subject (.h360) or a photo on the window;\n"
                        "an animation or ARKit weights (.json, .csv) or a video opens in the Timeline tab.\n"
                        "Every action also runs headless: python main.py --help"
                    )
            with dpg.group(horizontal=True, tag="main_row"):
                with dpg.child_window(tag="left_panel", border=False, no_scrollbar=True):
                    self.viewport.build("left_panel")
                # a group, not a child window: inside a child window without a scrollbar DearPyGui stretches
                # the first tab of a tab bar over the free width
                with dpg.group(tag="right_panel"), dpg.tab_bar(tag="tabs"):
                    for name, panel in zip(TAB_NAMES, self.tab_panels, strict=True):
                        with dpg.tab(label=name, tag=f"tab_{name}"):
                            with dpg.child_window(tag=f"tab_body_{name}", border=True):
                                panel.build(f"tab_body_{name}")
            with dpg.child_window(tag="bottom_bar", height=52, border=True, no_scrollbar=True):
                self.status_bar.build("bottom_bar")
        with dpg.handler_registry():
            dpg.add_key_press_handler(callback=self._on_key)
        with dpg.file_dialog(
            show=False, tag="open_checkpoint_dialog", width=620, height=400, callback=self._on_open_dialog
        ):
            dpg.add_file_extension(".safetensors")
            dpg.add_file_extension(".*")

    def _on_key(self) -> None:
        self._key_pressed = True  # typing: the UI runs at its active rate

    def _menu_preset(self, sender, app_data, name) -> None:
        self.view.preset(name)
        self.view_changed()

    def _on_open_dialog(self, sender, data) -> None:
        if data.get("file_path_name"):
            self.open_path(data["file_path_name"])

    def _layout(self) -> None:
        import dearpygui.dearpygui as dpg

        w, h = dpg.get_viewport_client_width(), dpg.get_viewport_client_height()
        if (w, h) == self._layout_size or w <= 0 or h <= 0:
            return
        self._layout_size = (w, h)
        menu_h, bottom_h, pad = 26, 52, 8
        right_w = int(min(560, max(420, 0.36 * w)))
        left_w = w - right_w - 3 * pad
        body_h = h - menu_h - bottom_h - 3 * pad
        dpg.configure_item("left_panel", width=left_w, height=body_h)
        dpg.configure_item("right_panel", width=right_w)
        for name in TAB_NAMES:
            dpg.configure_item(f"tab_body_{name}", width=right_w, height=body_h - 30)
        dpg.configure_item("bottom_bar", width=w - 2 * pad)
        self.viewport.layout(0, 0, left_w, body_h)

    # --- the loop -----------------------------------------------------------------------------
    def run_action(self, fn, *args) -> None:
        """Run one user action; a failure shows in the status line and the studio keeps running."""
        try:
            fn(*args)
        except Head360Error as e:
            self.set_status(str(e), error=True)
        except Exception as e:  # any failure in an action: shown, and the studio keeps running
            traceback.print_exc()
            self.set_status(f"{type(e).__name__}: {e}", error=True)

    def _run_callbacks(self) -> None:
        """DearPyGui's queued callbacks, run on this thread through :meth:`run_action`."""
        import dearpygui.dearpygui as dpg

        for job in dpg.get_callback_queue() or ():
            fn = job[0]
            if fn is None:
                continue
            try:
                n = len(inspect.signature(fn).parameters)
            except (TypeError, ValueError):
                n = 3
            self.run_action(fn, *job[1 : n + 1])

    def _handle_drops(self) -> None:
        for path in self.drop.take():
            self.run_action(self.open_path, path)

    def _take_frame(self) -> bool:
        """Show a finished frame, if any (True when one arrived)."""
        result = self.worker.take_result()
        if result is None:
            return False
        self.last_done_id = result.request.id
        if result.request.model is not self.model:
            return False  # rendered with a checkpoint that has been replaced
        if result.error is not None:
            self.set_status(result.error, error=True)
            return True
        self.last_result = result
        self.results_shown += 1
        self.viewport.show_result(result)
        self.status_bar.perf.frame(result.render_ms, result.planes_ms)
        if self.status_bar.error and self.status_bar.message.startswith(("render failed", "this subject stores")):
            self.status_bar.set_message("")
        return True

    def run(self) -> int:
        import dearpygui.dearpygui as dpg

        import head360.gl  # noqa: F401  (chooses the EGL platform before anything imports OpenGL)

        dpg.create_context()
        try:
            dpg.configure_app(manual_callback_management=True)
            dpg.create_viewport(
                title=self.options.title,
                width=self.options.width,
                height=self.options.height,
                x_pos=0,
                y_pos=0,
                min_width=900,
                min_height=600,
            )
            self._build()
            dpg.setup_dearpygui()
            dpg.show_viewport()
            dpg.set_primary_window("main_window", True)
            self._model_changed()
            self.set_status(
                f"loaded {self.model.name}: drag to orbit, drop a checkpoint, subject or photo on the window"
            )
            driver = self.options.driver(self) if self.options.driver is not None else None
            self._running = True
            last = time.perf_counter()
            active_until = 0.0
            last_mouse = None
            while dpg.is_dearpygui_running() and self._running:
                start = time.perf_counter()
                dt, last = start - last, start
                mouse = tuple(dpg.get_mouse_pos(local=False))
                if mouse != last_mouse or any(dpg.is_mouse_button_down(b) for b in (0, 1, 2)):
                    active_until = start + ACTIVE_HOLD_S
                last_mouse = mouse
                self._run_callbacks()
                if self.frame_count == 1 and not self.drop.installed:
                    if not self.drop.install():
                        self.set_status(self.drop.problem or "file drop unavailable")
                self._handle_drops()
                self._layout()
                try:
                    self.viewport.update(dt)
                    for p in self.panels:
                        if p is not self.viewport:
                            p.update()
                    self.jobs.poll()
                except Head360Error as e:
                    self.set_status(str(e), error=True)
                except Exception as e:  # a panel failing once must not close the studio
                    traceback.print_exc()
                    self.set_status(f"{type(e).__name__}: {e}", error=True)
                self._schedule_render()
                self._take_frame()
                if self.spin or self._key_pressed:
                    active_until = start + ACTIVE_HOLD_S
                    self._key_pressed = False
                if driver is not None:
                    try:
                        next(driver)
                    except StopIteration:
                        break
                    except Exception:
                        traceback.print_exc()
                        self.exit_code = 3
                        break
                draw_start = time.perf_counter()
                dpg.render_dearpygui_frame()
                self.frame_count += 1
                now = time.perf_counter()
                spent = now - start
                self.status_bar.perf.ui_frame(spent * 1000.0, (now - draw_start) * 1000.0)
                period = 1.0 / (ACTIVE_UI_FPS if start < active_until else IDLE_UI_FPS)
                if spent < period:
                    time.sleep(period - spent)  # the render worker and jobs get the CPU meanwhile
                self.status_bar.perf.ui_period(time.perf_counter() - start)
        finally:
            self._running = False
            self.train.shutdown()
            self.worker.stop()
            dpg.destroy_context()
        return self.exit_code

    def close(self) -> None:
        self._running = False


def _hex(color) -> str:
    """(r, g, b) in 0..1 -> '#rrggbb'."""
    return "#" + "".join(f"{round(float(c) * 255):02x}" for c in color)


def _dpg_value(tag: str, default):
    import dearpygui.dearpygui as dpg

    return dpg.get_value(tag) if dpg.does_item_exist(tag) else default


def run_studio(options: StudioOptions) -> int:
    """Open the studio window and run until it is closed. Returns the process exit code."""
    return Studio(options).run()
