"""Identity and appearance: pick a training subject, move the shape and texture codes along their leading
directions (head360.model.code_space), randomise or reset them, and interpolate between two heads A and B
with separate sliders for texture, shape and expression (the paper's parametric interpolation)."""

from __future__ import annotations

import dataclasses

import dearpygui.dearpygui as dpg
import numpy as np

from app.panels import Panel
from head360.model.code_space import interpolate_head, shape_directions, texture_directions

TEXTURE_SLIDERS = 8
SHAPE_SLIDERS = 10
SLIDER_RANGE = 3.0


class IdentityPanel(Panel):
    title = "Identity"

    def __init__(self, studio) -> None:
        super().__init__(studio)
        self.texture_dirs = None
        self.shape_dirs = None
        self.head_a = None
        self.head_b = None
        self.rng = np.random.default_rng()

    def build(self, parent) -> None:
        with dpg.group(parent=parent):
            dpg.add_text("Training subject")
            dpg.add_combo([], width=-1, tag="identity_subject", callback=self._on_subject)
            dpg.add_text("", tag="identity_source", color=(150, 150, 150), wrap=400)
            dpg.add_separator()
            with dpg.group(horizontal=True):
                dpg.add_text("Texture (appearance)")
                dpg.add_button(label="Random", tag="texture_random", callback=self._on_texture_random)
                dpg.add_button(label="Reset", tag="texture_reset", callback=self._on_texture_reset)
            dpg.add_text("", tag="texture_dirs_note", color=(150, 150, 150), wrap=400)
            dpg.add_group(tag="texture_sliders")
            dpg.add_separator()
            with dpg.group(horizontal=True):
                dpg.add_text("Shape (mesh identity)")
                dpg.add_button(label="Random", tag="shape_random", callback=self._on_shape_random)
                dpg.add_button(label="Reset", tag="shape_reset", callback=self._on_shape_reset)
            dpg.add_group(tag="shape_sliders")
            dpg.add_separator()
            dpg.add_text("Interpolate A <-> B")
            with dpg.group(horizontal=True):
                dpg.add_button(label="Set A = current", tag="interp_set_a", callback=self._on_set, user_data="a")
                dpg.add_button(label="Set B = current", tag="interp_set_b", callback=self._on_set, user_data="b")
            dpg.add_text("A: not set    B: not set", tag="interp_status", color=(150, 150, 150))
            for part in ("texture", "shape", "expression"):
                dpg.add_slider_float(
                    label=f"{part} A->B",
                    tag=f"interp_{part}",
                    min_value=0.0,
                    max_value=1.0,
                    default_value=0.0,
                    format="%.2f",
                    width=220,
                    enabled=False,
                    callback=self._on_interpolate,
                )

    # --- model / head -------------------------------------------------------------------------
    def on_model_changed(self) -> None:
        ckpt = self.studio.model.checkpoint
        g = self.studio.generator
        items = [f"{i}: {s.name} ({s.hairstyle or 'no hair'})" for i, s in enumerate(ckpt.subjects)]
        dpg.configure_item("identity_subject", items=items)
        codes = (
            np.stack([s.texture_code for s in ckpt.subjects])
            if ckpt.subjects
            else np.zeros((0, g.config.texture.code_dim))
        )
        self.texture_dirs = texture_directions(codes, TEXTURE_SLIDERS)
        self.shape_dirs = shape_directions(g.mesh.shape_dim, SHAPE_SLIDERS)
        pcs = sum(1 for s in self.texture_dirs.sigma if s != 1.0)
        dpg.set_value(
            "texture_dirs_note",
            f"Sliders: {pcs} principal directions of the {len(ckpt.subjects)} training subjects' codes"
            + (f", {self.texture_dirs.count - pcs} more of the N(0, I) prior" if pcs < self.texture_dirs.count else "")
            + "; units: standard deviations.",
        )
        for group, count, prefix in (
            ("texture_sliders", self.texture_dirs.count, "texture_dir"),
            ("shape_sliders", self.shape_dirs.count, "shape_dir"),
        ):
            dpg.delete_item(group, children_only=True)
            for k in range(count):
                dpg.add_slider_float(
                    label=f"{'PC' if prefix == 'texture_dir' else 's'}{k + 1}",
                    tag=f"{prefix}_{k}",
                    parent=group,
                    min_value=-SLIDER_RANGE,
                    max_value=SLIDER_RANGE,
                    format="%+.2f",
                    width=220,
                    callback=self._on_texture_dir if prefix == "texture_dir" else self._on_shape_dir,
                    user_data=k,
                )
        self.head_a = self.head_b = None
        self._interp_status()

    def on_head_changed(self) -> None:
        head = self.studio.head
        index = self.studio.subject_index
        if index is not None and index < len(self.studio.model.checkpoint.subjects):
            s = self.studio.model.checkpoint.subjects[index]
            dpg.set_value("identity_subject", f"{index}: {s.name} ({s.hairstyle or 'no hair'})")
        else:
            dpg.set_value("identity_subject", "")
        dpg.set_value("identity_source", f"Current head: {head.source or 'edited'}")
        self.sync_sliders()

    def sync_sliders(self) -> None:
        head = self.studio.head
        if self.texture_dirs is None:
            return
        tc = self.texture_dirs.coefficients(head.texture_code)
        for k, v in enumerate(tc):
            dpg.set_value(f"texture_dir_{k}", float(np.clip(v, -SLIDER_RANGE, SLIDER_RANGE)))
        sc = self.shape_dirs.coefficients(head.shape_code)
        for k, v in enumerate(sc):
            dpg.set_value(f"shape_dir_{k}", float(np.clip(v, -SLIDER_RANGE, SLIDER_RANGE)))

    # --- callbacks ----------------------------------------------------------------------------
    def _on_subject(self, sender, label) -> None:
        index = int(label.split(":", 1)[0])
        self.studio.select_subject(index)

    def _on_texture_dir(self, sender, value, k) -> None:
        code = self.texture_dirs.with_coefficient(self.studio.head.texture_code, k, float(value))
        self.studio.set_codes(texture_code=code, interactive=True)

    def _on_shape_dir(self, sender, value, k) -> None:
        code = self.shape_dirs.with_coefficient(self.studio.head.shape_code, k, float(value))
        self.studio.set_codes(shape_code=code, interactive=True)

    def _on_texture_random(self) -> None:
        z = self.studio.generator.config.texture.code_dim
        self.studio.set_codes(texture_code=self.rng.standard_normal(z).astype(np.float32))
        self.sync_sliders()

    def _on_texture_reset(self) -> None:
        self.studio.set_codes(texture_code=self.studio.base_head.texture_code.copy())
        self.sync_sliders()

    def _on_shape_random(self) -> None:
        n = self.studio.generator.mesh.shape_dim
        self.studio.set_codes(shape_code=np.clip(self.rng.standard_normal(n), -2.5, 2.5).astype(np.float32))
        self.sync_sliders()

    def _on_shape_reset(self) -> None:
        self.studio.set_codes(shape_code=self.studio.base_head.shape_code.copy())
        self.sync_sliders()

    def _on_set(self, sender, app_data, which) -> None:
        snapshot = dataclasses.replace(
            self.studio.head,
            texture_code=self.studio.head.texture_code.copy(),
            shape_code=self.studio.head.shape_code.copy(),
            blend_weights=self.studio.head.blend_weights.copy(),
        )
        if which == "a":
            self.head_a = snapshot
        else:
            self.head_b = snapshot
        for part in ("texture", "shape", "expression"):
            dpg.set_value(f"interp_{part}", 0.0 if which == "a" else 1.0)
        self._interp_status()

    def _interp_status(self) -> None:
        def describe(h):
            return "not set" if h is None else (h.source.split(" (")[-1].rstrip(")") if h.source else "edited head")

        dpg.set_value("interp_status", f"A: {describe(self.head_a)}    B: {describe(self.head_b)}")
        ready = self.head_a is not None and self.head_b is not None
        for part in ("texture", "shape", "expression"):
            dpg.configure_item(f"interp_{part}", enabled=ready)

    def _on_interpolate(self) -> None:
        if self.head_a is None or self.head_b is None:
            return
        texture, shape, weights = interpolate_head(
            self.head_a,
            self.head_b,
            dpg.get_value("interp_texture"),
            dpg.get_value("interp_shape"),
            dpg.get_value("interp_expression"),
        )
        self.studio.set_codes(texture_code=texture, shape_code=shape, blend_weights=weights, interactive=True)
        self.sync_sliders()
        self.studio.sync_expression()
