"""Hair: the model's hairstyles by name with thumbnails (rendered once, in the render worker while it is
idle), swapping the hair planes live, a hair colour (models trained with it), and hair off (the bald
head planes alone)."""

from __future__ import annotations

import dataclasses

import dearpygui.dearpygui as dpg
import numpy as np

from app.panels import Panel
from head360.cameras import Camera

THUMB = 96
COLUMNS = 3


class HairPanel(Panel):
    title = "Hair"

    def __init__(self, studio) -> None:
        super().__init__(studio)
        self._textures: list[int] = []  # never deleted (DearPyGui crashes on deleting a texture in use)
        self._styles: list[str | None] = []
        self._ready: dict[int, np.ndarray] = {}
        self.thumbnails_done = 0

    def build(self, parent) -> None:
        with dpg.group(parent=parent):
            dpg.add_checkbox(label="Show hair", default_value=True, tag="hair_on", callback=self._on_hair_on)
            dpg.add_text("", tag="hair_current")
            with dpg.group(horizontal=True, tag="hair_color_row"):
                dpg.add_color_edit(
                    (128, 128, 128, 255), label="Hair colour", tag="hair_color", no_alpha=True, width=200,
                    callback=self._on_color,
                )  # fmt: skip
                dpg.add_button(label="Style's own", tag="hair_color_reset", callback=self._on_color_reset)
            dpg.add_text("", tag="hair_color_note", color=(150, 150, 150), wrap=380)
            dpg.add_text("", tag="hair_thumb_status", color=(150, 150, 150))
            dpg.add_text("", tag="hair_untrained", color=(150, 150, 150), wrap=380)
            dpg.add_group(tag="hair_grid")

    def _texture(self, i: int) -> int:
        while len(self._textures) <= i:
            with dpg.texture_registry():
                self._textures.append(
                    dpg.add_dynamic_texture(THUMB, THUMB, np.full(THUMB * THUMB * 4, 0.2, np.float32))
                )
        return self._textures[i]

    def on_model_changed(self) -> None:
        g = self.studio.generator
        trained = self.studio.model.checkpoint.trained_hairstyles
        self._styles = [None, *trained]  # a hairstyle training never saw would render as a bald head
        untrained = [h for h in g.hairstyles if h not in trained]
        dpg.set_value("hair_untrained", f"Not trained in this model: {', '.join(untrained)}" if untrained else "")
        colour = g.hair_color is not None
        dpg.configure_item("hair_color_row", show=colour)
        dpg.set_value("hair_color_note", "" if colour else "This model was trained without hair colour as an input.")
        self._ready.clear()
        self.thumbnails_done = 0
        dpg.delete_item("hair_grid", children_only=True)
        row = None
        for i, style in enumerate(self._styles):
            if i % COLUMNS == 0:
                row = dpg.add_group(horizontal=True, parent="hair_grid")
            tex = self._texture(i)
            dpg.set_value(tex, np.full(THUMB * THUMB * 4, 0.2, np.float32))
            with dpg.group(parent=row):
                dpg.add_image_button(
                    tex, width=THUMB, height=THUMB, tag=f"hair_button_{i}", callback=self._on_pick, user_data=style
                )
                dpg.add_text(style or "none (bald)", tag=f"hair_label_{i}")
        self.schedule_thumbnails()

    def on_head_changed(self) -> None:
        self._show_current()

    def _show_current(self) -> None:
        head = self.studio.head
        dpg.set_value("hair_current", f"Hairstyle: {head.hairstyle or 'none (bald)'}")
        g = self.studio.generator
        if g.hair_color is not None:
            shown = head.hair_color
            if shown is None and head.hairstyle is not None:  # the style's own: show its reference colour
                shown = tuple(g.hair_color_ref[g.hairstyle_index(head.hairstyle)].tolist())
            if shown is not None:
                dpg.set_value("hair_color", [round(c * 255) for c in shown] + [255])
        dpg.set_value("hair_on", self.studio.hair_on)
        for i, style in enumerate(self._styles):
            if dpg.does_item_exist(f"hair_label_{i}"):
                mark = "> " if style == head.hairstyle else ""
                dpg.set_value(f"hair_label_{i}", f"{mark}{style or 'none (bald)'}")

    def schedule_thumbnails(self) -> None:
        """Render each hairstyle on the current head, front three-quarter view, in the worker's idle time."""
        s = self.studio
        s.worker.cancel_idle_tasks("hair-thumb")
        model = s.model
        head = dataclasses.replace(
            s.head, blend_weights=np.zeros_like(s.head.blend_weights), head_planes=None, hair_planes=None
        )
        g = model.generator
        quality = "preview" if "preview" in g.config.renderer.qualities else "full"
        camera = Camera.orbit(35.0, 10.0)
        dpg.set_value("hair_thumb_status", f"Rendering thumbnails 0/{len(self._styles)} in the background...")

        def make(i: int, style):
            def task() -> None:
                from head360.export.render import render_view
                from head360.model.checkpoint import subject_planes

                if s.model is not model:  # another checkpoint was loaded meanwhile
                    return
                planes = subject_planes(g, head, head.blend_weights, style)
                self._ready[i] = render_view(g, planes, camera, "rgb", THUMB, quality, hair=style is not None)

            return task

        for i, style in enumerate(self._styles):
            s.worker.add_idle_task(f"hair-thumb-{i}", make(i, style))

    def update(self) -> None:
        if not self._ready:
            return
        from app.render_worker import to_display_rgba

        for i in list(self._ready):
            image = self._ready.pop(i)
            if i < len(self._styles):
                dpg.set_value(self._texture(i), to_display_rgba(image, THUMB))
                self.thumbnails_done += 1
        total = len(self._styles)
        done = min(self.thumbnails_done, total)
        dpg.set_value(
            "hair_thumb_status",
            "Click a hairstyle to swap the hair planes."
            if done >= total
            else f"Rendering thumbnails {done}/{total} in the background...",
        )

    def _on_pick(self, sender, app_data, style) -> None:
        self.studio.set_hairstyle(style)
        self._show_current()

    def _on_color(self, sender, value) -> None:
        rgb = value[:3]
        scale = 255.0 if max(rgb) > 1.0 else 1.0  # DearPyGui hands 0..255 or 0..1 depending on version
        self.studio.set_hair_color(tuple(min(max(float(c) / scale, 0.0), 1.0) for c in rgb))

    def _on_color_reset(self, sender=None, value=None) -> None:
        self.studio.set_hair_color(None)
        self._show_current()

    def _on_hair_on(self, sender, value) -> None:
        self.studio.set_hair_on(bool(value))
