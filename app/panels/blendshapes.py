"""Expression: the 52 ARKit blendshape sliders (0..1) in groups, a name filter, reset, and a left/right
link that moves the mirrored shape with its twin."""

from __future__ import annotations

import dearpygui.dearpygui as dpg

from app.panels import Panel
from head360.arkit import ARKIT_NAMES, GROUPS, INDEX, mirror_name

UNLINKED = frozenset({"jawLeft", "jawRight", "mouthLeft", "mouthRight"})
"""Sideways motions: their mirrored twin moves the other way, so the link leaves them alone."""


def slider_tag(name: str) -> str:
    return f"blend_{name}"


class BlendshapePanel(Panel):
    title = "Expression"

    def __init__(self, studio) -> None:
        super().__init__(studio)
        self.link = False

    def build(self, parent) -> None:
        with dpg.group(parent=parent):
            with dpg.group(horizontal=True):
                dpg.add_input_text(
                    hint="filter names (e.g. blink, jaw)", width=190, tag="blend_filter", callback=self._on_filter
                )
                dpg.add_checkbox(label="Link L/R", tag="blend_link", callback=self._on_link)
                dpg.add_button(label="Reset all", tag="blend_reset", callback=self._on_reset)
            dpg.add_text("", tag="blend_note", color=(255, 170, 60), show=False)
            for group, names in GROUPS.items():
                with dpg.collapsing_header(
                    label=f"{group} ({len(names)})",
                    tag=f"blend_group_{group}",
                    default_open=group in ("jaw", "eye left", "brows"),
                ):
                    for name in names:
                        dpg.add_slider_float(
                            label=name,
                            tag=slider_tag(name),
                            min_value=0.0,
                            max_value=1.0,
                            default_value=0.0,
                            format="%.2f",
                            width=200,
                            callback=self._on_slider,
                            user_data=name,
                        )

    def on_head_changed(self) -> None:
        weights = self.studio.head.blend_weights
        for name in ARKIT_NAMES:
            dpg.set_value(slider_tag(name), float(weights[INDEX[name]]))
        fixed = self.studio.head.head_planes is not None
        dpg.configure_item("blend_note", show=fixed)
        if fixed:
            dpg.set_value(
                "blend_note",
                "This head stores optimised planes for one expression:\n"
                "moving a slider asks for another one and shows why it cannot.",
            )

    def _on_slider(self, sender, value, name) -> None:
        updates = {name: float(value)}
        if self.link and name not in UNLINKED:
            twin = mirror_name(name)
            if twin != name:
                updates[twin] = float(value)
                dpg.set_value(slider_tag(twin), float(value))
        self.studio.set_blend_weights(updates, interactive=True)

    def _on_link(self, sender, value) -> None:
        self.link = bool(value)

    def _on_reset(self) -> None:
        self.studio.set_blend_weights({n: 0.0 for n in ARKIT_NAMES})
        for name in ARKIT_NAMES:
            dpg.set_value(slider_tag(name), 0.0)

    def _on_filter(self, sender, text) -> None:
        self.apply_filter(text)

    def apply_filter(self, text: str) -> None:
        """Show only sliders whose name contains ``text`` (any case); open groups that match."""
        key = text.strip().lower()
        for group, names in GROUPS.items():
            visible = 0
            for name in names:
                show = not key or key in name.lower()
                dpg.configure_item(slider_tag(name), show=show)
                visible += show
            dpg.configure_item(f"blend_group_{group}", show=visible > 0)
            if key and visible:
                dpg.set_value(f"blend_group_{group}", True)
