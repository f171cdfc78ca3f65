"""Fit: a photo (dropped on the window or opened) -> photo fitting (head360.fit) in the background with
progress and intermediate images -> the result becomes the current head. Save and load subject files
(.h360). When this build has no photo fitting, the tab says so; dropping, opening and subject files work."""

from __future__ import annotations

import math
from pathlib import Path

import dearpygui.dearpygui as dpg
import numpy as np

from app.images import IMAGE_SUFFIXES, letterbox_rgba
from app.panels import Panel, show_job_failure

PHOTO = 240
PHOTO_SHOWN = 196


class FitPanel(Panel):
    title = "Fit"

    def __init__(self, studio) -> None:
        super().__init__(studio)
        self.photo_path: Path | None = None
        self.photo: np.ndarray | None = None
        self._shown_image_id = None

    def build(self, parent) -> None:
        with dpg.texture_registry():
            dpg.add_dynamic_texture(PHOTO, PHOTO, np.full(PHOTO * PHOTO * 4, 0.12, np.float32), tag="fit_photo_texture")
            dpg.add_dynamic_texture(
                PHOTO, PHOTO, np.full(PHOTO * PHOTO * 4, 0.12, np.float32), tag="fit_progress_texture"
            )
        with dpg.group(parent=parent):
            dpg.add_text("Drop a portrait photo on the window, or open one.", tag="fit_intro", wrap=420)
            with dpg.group(horizontal=True):
                dpg.add_button(
                    label="Open photo...", tag="fit_open", callback=lambda: dpg.show_item("fit_photo_dialog")
                )
                dpg.add_button(label="Fit", tag="fit_start", enabled=False, callback=self._on_fit)
                dpg.add_button(label="Cancel", tag="fit_cancel", show=False, callback=self._on_cancel)
            dpg.add_input_int(
                label="steps",
                default_value=_default_steps(),
                min_value=10,
                max_value=5000,
                min_clamped=True,
                max_clamped=True,
                width=140,
                tag="fit_steps",
            )
            dpg.add_text("", tag="fit_photo_name", wrap=420)
            with dpg.group(horizontal=True):
                with dpg.group():
                    dpg.add_text("Photo")
                    dpg.add_image("fit_photo_texture", width=PHOTO_SHOWN, height=PHOTO_SHOWN, tag="fit_photo_image")
                with dpg.group():
                    dpg.add_text("Fitting")
                    dpg.add_image(
                        "fit_progress_texture", width=PHOTO_SHOWN, height=PHOTO_SHOWN, tag="fit_progress_image"
                    )
            dpg.add_progress_bar(default_value=0.0, width=-1, tag="fit_progress", overlay="")
            dpg.add_text("", tag="fit_message", wrap=420)
            dpg.add_separator()
            dpg.add_text("Subject files (.h360: codes, hairstyle, expression, fitted texture)")
            with dpg.group(horizontal=True):
                dpg.add_button(
                    label="Save current head...",
                    tag="subject_save",
                    callback=lambda: dpg.show_item("subject_save_dialog"),
                )
                dpg.add_button(
                    label="Load...", tag="subject_load", callback=lambda: dpg.show_item("subject_load_dialog")
                )
            dpg.add_text("", tag="subject_message", wrap=420)
        with dpg.file_dialog(show=False, tag="fit_photo_dialog", width=620, height=400, callback=self._on_photo_dialog):
            dpg.add_file_extension("Images (*.png *.jpg *.jpeg *.webp *.bmp){.png,.jpg,.jpeg,.webp,.bmp}")
            dpg.add_file_extension(".*")
        with dpg.file_dialog(
            show=False, tag="subject_save_dialog", width=620, height=400, callback=self._on_save_dialog
        ):
            dpg.add_file_extension(".h360")
        with dpg.file_dialog(
            show=False, tag="subject_load_dialog", width=620, height=400, callback=self._on_load_dialog
        ):
            dpg.add_file_extension(".h360")

    # --- photo --------------------------------------------------------------------------------
    def set_photo(self, path: str | Path) -> None:
        """Show a photo (from a drop or the dialog) and make it the one to fit."""
        from head360.fit.image import load_photo

        path = Path(path)
        image = load_photo(path).rgb  # the fit's own reader: sizes checked from the header, large ones shrunk
        self.photo_path, self.photo = path, image
        dpg.set_value("fit_photo_texture", letterbox_rgba(image, PHOTO))
        dpg.set_value("fit_photo_name", f"{path.name}  ({image.shape[1]}x{image.shape[0]})")
        dpg.configure_item("fit_start", enabled=True)
        self.studio.show_tab("Fit")
        self.studio.set_status(f"photo {path.name} ready")

    def _on_photo_dialog(self, sender, data) -> None:
        path = data.get("file_path_name")
        if path:
            self.studio.open_path(path)

    # --- fitting ------------------------------------------------------------------------------
    def _on_fit(self) -> None:
        if self.photo_path is None:
            return
        if self.job is not None and not self.job.done:
            return
        from head360.fit.pipeline import fit_photo

        checkpoint = self.studio.model.checkpoint
        photo = self.photo_path
        steps = int(dpg.get_value("fit_steps"))
        device = str(self.studio.device)

        def work(job):
            def progress(*args, **kwargs):
                fraction, text, image = read_progress(args, kwargs)
                job.report(fraction, text, image=image)

            return fit_photo(photo, checkpoint, steps=steps, progress=progress, device=device)

        self.job = self.studio.jobs.start("photo fit", work, on_done=self._fit_done, on_error=self._fit_failed)
        dpg.configure_item("fit_cancel", show=True)
        dpg.set_value("fit_message", "fitting...")

    def _fit_done(self, job) -> None:
        result = job.result
        dpg.configure_item("fit_cancel", show=False)
        subject = getattr(result, "subject", result)
        self.studio.set_head(subject, base=True, subject_index=None)
        lines = [f"fitted in {job.elapsed:.0f} s: the result is the current head (save it below)"]
        psnr = getattr(result, "psnr_face", None)
        if isinstance(psnr, int | float) and math.isfinite(psnr):
            lines.append(f"face PSNR against the photo: {psnr:.1f} dB")
        if getattr(result, "hairstyle_method", None):
            lines.append(f"hairstyle: {subject.hairstyle or 'none'} ({result.hairstyle_method})")
        if getattr(subject, "hair_color", None) is not None:
            hex_color = "".join(f"{round(c * 255):02x}" for c in subject.hair_color)
            lines.append(f"hair colour: #{hex_color} (the photo's, as the model renders it)")
        lines += [f"note: {w}" for w in getattr(result, "warnings", [])]
        dpg.set_value("fit_message", "\n".join(lines))
        front = getattr(result, "images", {}).get("front")
        if front is not None:
            dpg.set_value("fit_progress_texture", letterbox_rgba(front, PHOTO))
        self.studio.set_status(f"photo fit finished: {self.photo_path.name if self.photo_path else ''}")

    def _fit_failed(self, job) -> None:
        show_job_failure(self.studio, job, "fit_message", "fit_cancel", f"fitting failed: {job.error}")

    def update(self) -> None:
        job = self.job
        if job is None:
            return
        dpg.set_value("fit_progress", job.fraction or 0.0)
        dpg.configure_item("fit_progress", overlay=job.message)
        if job.image is not None and id(job.image) != self._shown_image_id:
            self._shown_image_id = id(job.image)
            dpg.set_value("fit_progress_texture", letterbox_rgba(job.image, PHOTO))

    # --- subject files ------------------------------------------------------------------------
    def _on_save_dialog(self, sender, data) -> None:
        path = data.get("file_path_name")
        if path:
            self.save_subject(path)

    def _on_load_dialog(self, sender, data) -> None:
        path = data.get("file_path_name")
        if path:
            self.studio.open_path(path)

    def save_subject(self, path: str | Path) -> Path:
        from head360.model.checkpoint import SUBJECT_SUFFIX

        path = Path(path)
        if path.suffix != SUBJECT_SUFFIX:
            path = path.with_suffix(SUBJECT_SUFFIX)
        self.studio.current_subject().save(path)
        dpg.set_value("subject_message", f"saved {path}")
        self.studio.set_status(f"saved subject {path}")
        return path

    def photo_suffix_ok(self, path: Path) -> bool:
        return path.suffix.lower() in IMAGE_SUFFIXES


def _default_steps() -> int:
    """The library's default number of inversion steps (what `main.py fit` uses)."""
    try:
        from head360.fit.invert import InversionConfig

        return int(InversionConfig().steps)
    except ImportError:  # a build without photo fitting
        return 50


def read_progress(args: tuple, kwargs: dict) -> tuple[float, str, np.ndarray | None]:
    """What a fitting progress callback received -> (fraction done, one line, intermediate image or None).

    Accepts ``(step, total, loss, image)`` positionally or as keywords (``stage`` too), or one object
    with those attributes."""
    if len(args) == 1 and not isinstance(args[0], int | float):
        info = args[0]
        kwargs = {k: getattr(info, k, None) for k in ("step", "total", "loss", "image", "stage")} | kwargs
        args = ()
    values = dict(zip(("step", "total", "loss", "image"), args, strict=False))
    values |= {k: v for k, v in kwargs.items() if v is not None}
    step, total = int(values.get("step") or 0), max(int(values.get("total") or 1), 1)
    loss = values.get("loss")
    text = (f"{values['stage']}: " if values.get("stage") else "") + f"step {step}/{total}"
    if isinstance(loss, int | float) and math.isfinite(loss):
        text += f", loss {float(loss):.4f}"
    return step / total, text, _as_uint8_image(values.get("image"))


def _as_uint8_image(image) -> np.ndarray | None:
    """An intermediate image from the fitter (uint8 / float [H, W, 3], or a torch [3, H, W] tensor)."""
    if image is None:
        return None
    if hasattr(image, "detach"):
        image = image.detach().float().cpu().numpy()
        if image.ndim == 4:
            image = image[0]
        if image.ndim == 3 and image.shape[0] in (1, 3):
            image = image.transpose(1, 2, 0)
    image = np.asarray(image)
    if image.dtype != np.uint8:
        image = (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    return image
