"""The viewport: the generator's image as a DearPyGui dynamic texture, orbit / pan / zoom with the mouse,
spin, preset views, render mode and quality, and the visible low-resolution-preview label."""

from __future__ import annotations

import time

import dearpygui.dearpygui as dpg
import numpy as np

from app.orbit import PRESET_VIEWS
from app.panels import Panel
from app.render_worker import MODE_LABELS
from head360.export.render import MODES

DOUBLE_CLICK_S = 0.5
PREVIEW_COLOR = (255, 170, 60)
INFO_COLOR = (170, 190, 210)


class ViewportPanel(Panel):
    title = "Viewport"

    def __init__(self, studio) -> None:
        super().__init__(studio)
        self.texture = None
        self.image = None
        self._drag_button: int | None = None
        self._last_mouse: tuple[float, float] | None = None
        self._last_press: tuple[float, tuple[float, float]] | None = None
        self.side = 512
        self.spin_degrees_per_second = 40.0

    # --- widgets ------------------------------------------------------------------------------
    def build(self, parent) -> None:
        s = self.studio
        size = s.worker.display_size
        with dpg.texture_registry():
            self.texture = dpg.add_dynamic_texture(
                size, size, np.full(size * size * 4, 0.18, np.float32), tag="viewport_texture"
            )
        with dpg.group(parent=parent, tag="viewport_toolbar"):
            with dpg.group(horizontal=True):
                dpg.add_text("Mode")
                dpg.add_combo(
                    [MODE_LABELS[m] for m in MODES],
                    default_value=MODE_LABELS[s.mode],
                    width=150,
                    tag="view_mode",
                    callback=self._on_mode,
                )
                dpg.add_text("Quality")
                dpg.add_combo([], width=90, tag="view_quality", callback=self._on_quality)
                dpg.add_checkbox(
                    label="Low-res while moving",
                    default_value=s.preview_while_moving,
                    tag="view_preview_toggle",
                    callback=self._on_preview_toggle,
                )
            with dpg.group(horizontal=True):
                for name in PRESET_VIEWS:
                    dpg.add_button(
                        label=name.capitalize(), tag=f"view_preset_{name}", callback=self._on_preset, user_data=name
                    )
                dpg.add_button(label="Reset", tag="view_reset", callback=lambda: self.reset_view())
                dpg.add_checkbox(label="Spin", tag="view_spin", callback=self._on_spin)
            with dpg.group(horizontal=True):
                dpg.add_text("", tag="view_preview_label", color=PREVIEW_COLOR, show=False)
                dpg.add_text("", tag="view_frame_info", color=INFO_COLOR)
        self.image = dpg.add_image(self.texture, parent=parent, tag="viewport_image", width=size, height=size)
        with dpg.group(horizontal=True, parent=parent, tag="viewport_help"):
            dpg.add_text("", tag="view_camera_text", color=INFO_COLOR)
            dpg.add_text("drag: orbit · right-drag: pan · wheel: zoom · double-click: reset", color=(140, 140, 140))
        with dpg.handler_registry(tag="viewport_handlers"):
            dpg.add_mouse_wheel_handler(callback=self._on_wheel)

    def on_model_changed(self) -> None:
        qualities = list(self.studio.generator.config.renderer.qualities)
        dpg.configure_item("view_quality", items=qualities)
        dpg.set_value("view_quality", self.studio.quality)

    def layout(self, x0: int, y0: int, width: int, height: int) -> None:
        """Place the square image in the free area of the left panel (toolbar above, help line below)."""
        toolbar_h = 78
        help_h = 22
        side = max(128, min(width - 16, height - toolbar_h - help_h - 16))
        self.side = side
        dpg.configure_item(self.image, width=side, height=side)
        dpg.set_item_pos(self.image, [x0 + max(8, (width - side) // 2), y0 + toolbar_h])
        dpg.set_item_pos("viewport_help", [x0 + max(8, (width - side) // 2), y0 + toolbar_h + side + 4])

    # --- callbacks ----------------------------------------------------------------------------
    def _on_mode(self, sender, label) -> None:
        mode = next(m for m, text in MODE_LABELS.items() if text == label)
        self.studio.set_mode(mode)

    def _on_quality(self, sender, name) -> None:
        self.studio.set_quality(name)

    def _on_preview_toggle(self, sender, value) -> None:
        self.studio.preview_while_moving = bool(value)
        self.studio.view_changed()

    def _on_spin(self, sender, value) -> None:
        self.studio.spin = bool(value)
        self.studio.view_changed()

    def _on_preset(self, sender, app_data, name) -> None:
        self.studio.view.preset(name)
        self.studio.view_changed()

    def reset_view(self) -> None:
        self.studio.view.reset()
        self.studio.view_changed()

    def _on_wheel(self, sender, delta) -> None:
        if dpg.is_item_hovered(self.image):
            self.studio.view.zoom(float(delta))
            self.studio.view_changed(interactive=True)

    def _check_double_click(self, mouse: tuple[float, float]) -> None:
        """Two left presses on the image within half a second, a few pixels apart, reset the view.
        (Timed here rather than by ImGui, whose 0.3 s window is too short when the UI is drawn in
        software on a busy CPU.)"""
        now = time.perf_counter()
        last = self._last_press
        self._last_press = (now, mouse)
        if last is not None and now - last[0] < DOUBLE_CLICK_S:
            if abs(mouse[0] - last[1][0]) < 6 and abs(mouse[1] - last[1][1]) < 6:
                self._last_press = None
                self.reset_view()

    # --- per frame ----------------------------------------------------------------------------
    @property
    def dragging(self) -> bool:
        return self._drag_button is not None

    def update(self, dt: float = 0.0) -> None:
        s = self.studio
        mouse = tuple(dpg.get_mouse_pos(local=False))
        buttons = (dpg.mvMouseButton_Left, dpg.mvMouseButton_Right, dpg.mvMouseButton_Middle)
        if self._drag_button is None:
            if dpg.is_item_hovered(self.image):
                for b in buttons:
                    if dpg.is_mouse_button_down(b):
                        self._drag_button = b
                        self._last_mouse = mouse
                        if b == dpg.mvMouseButton_Left:
                            self._check_double_click(mouse)
                        break
        elif not dpg.is_mouse_button_down(self._drag_button):
            self._drag_button = None
            self._last_mouse = None
        else:
            dx, dy = mouse[0] - self._last_mouse[0], mouse[1] - self._last_mouse[1]
            self._last_mouse = mouse
            if dx or dy:
                if self._drag_button == dpg.mvMouseButton_Left:
                    s.view.orbit(dx, dy)
                else:
                    s.view.pan(dx, dy, self.side)
                s.view_changed(interactive=True)
        if s.spin and dt > 0:
            s.view.spin(self.spin_degrees_per_second * min(dt, 0.1))
            s.view_changed(interactive=True)
        v = s.view
        dpg.set_value("view_camera_text", f"yaw {v.yaw:5.1f}°  pitch {v.pitch:+5.1f}°  {v.radius * 10:3.0f} cm  ")

    def show_result(self, result) -> None:
        """A new frame arrived: upload it and say what it is."""
        req = result.request
        dpg.set_value(self.texture, result.image)
        h, w = result.native.shape[:2]
        text = f"{MODE_LABELS[req.mode]} · {result.detail} · {w}x{h} px"
        dpg.set_value("view_frame_info", text)
        if req.interactive:
            q = req.model.generator.quality(req.quality)
            dpg.set_value("view_preview_label", f"LOW-RES PREVIEW ({q.neural_resolution}²) while moving ·")
            dpg.configure_item("view_preview_label", show=True)
        else:
            dpg.set_value("view_preview_label", "")
            dpg.configure_item("view_preview_label", show=False)
