"""The studio's panels, one per file. Each is a :class:`Panel`: ``build(parent)`` creates its widgets,
``on_model_changed()`` rebuilds what depends on the checkpoint (hairstyles, code sizes, subjects),
``on_head_changed()`` shows a head that was replaced from outside (subject picked, file loaded, fit
finished), ``update()`` runs once per UI frame and must stay cheap."""

from __future__ import annotations


class Panel:
    title = ""

    def __init__(self, studio) -> None:
        self.studio = studio
        self.job = None
        """The panel's background job (``app.jobs``), if it runs one."""

    def _on_cancel(self) -> None:
        """The panel's Cancel button: stop its background job."""
        if self.job is not None:
            self.job.cancel()

    def build(self, parent) -> None:
        raise NotImplementedError

    def on_model_changed(self) -> None:
        """A (new) checkpoint is loaded."""

    def on_head_changed(self) -> None:
        """The current head was replaced as a whole."""

    def update(self) -> None:
        """Once per UI frame."""


def show_job_progress(job, bar: str) -> None:
    """Progress bar ``bar`` follows ``job``: fraction and message while it runs, then done / failed."""
    import dearpygui.dearpygui as dpg

    if not job.done:
        frac = job.fraction or 0.0
        dpg.set_value(bar, frac)
        dpg.configure_item(bar, overlay=f"{job.name}: {job.message} ({frac * 100:.0f}%)")
    else:
        dpg.set_value(bar, 1.0 if job.error is None else 0.0)
        dpg.configure_item(bar, overlay=f"{job.name}: {'done' if job.error is None else 'failed'}")


def show_job_failure(studio, job, message: str, cancel: str, text: str | None = None) -> None:
    """A failed job: its error in the panel's message ``message`` and the status bar, Cancel hidden."""
    import dearpygui.dearpygui as dpg

    text = text or f"{job.name}: {job.error}"
    dpg.set_value(message, text)
    dpg.configure_item(cancel, show=False)
    studio.set_status(f"{job.name} failed: {job.error}", error=True)
