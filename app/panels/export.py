"""Export: the full-head mesh (OBJ/PLY/GLB by marching cubes), the glTF rig (GLB), a turntable video (mp4/gif)
and a screenshot (PNG), each written by the same library calls as `export-mesh`, `export-rig`, `turntable` and
`render`, in a background job with a progress bar; the window keeps running and the saved path is shown."""

from __future__ import annotations

import time
from pathlib import Path

import dearpygui.dearpygui as dpg
import numpy as np

from app.panels import Panel, show_job_failure, show_job_progress
from head360.export.render import MESH_MODES

MESH_FORMATS = ("obj", "ply", "glb")
VIDEO_FORMATS = ("mp4", "gif")


def output_path(folder: str | Path, stem: str, suffix: str) -> Path:
    """``folder/stem-YYYYmmdd-HHMMSS.suffix``, numbered if that name is taken."""
    folder = Path(folder).expanduser()
    base = f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    path = folder / f"{base}.{suffix}"
    n = 1
    while path.exists():
        path = folder / f"{base}-{n}.{suffix}"
        n += 1
    return path


class ExportPanel(Panel):
    title = "Export"

    def __init__(self, studio) -> None:
        super().__init__(studio)
        self.last_paths: list[Path] = []

    def build(self, parent) -> None:
        s = self.studio
        with dpg.group(parent=parent):
            dpg.add_text("Output folder")
            with dpg.group(horizontal=True):
                dpg.add_input_text(default_value=str(s.options.export_dir), width=300, tag="export_folder")
                dpg.add_button(
                    label="Choose...", tag="export_choose", callback=lambda: dpg.show_item("export_folder_dialog")
                )
            dpg.add_file_dialog(
                directory_selector=True,
                show=False,
                tag="export_folder_dialog",
                width=560,
                height=380,
                callback=lambda sender, data: dpg.set_value("export_folder", data["file_path_name"]),
            )
            dpg.add_separator()
            dpg.add_text("Mesh (marching cubes of the density field)")
            with dpg.group(horizontal=True):
                dpg.add_combo(MESH_FORMATS, default_value="obj", width=60, tag="export_mesh_format")
                dpg.add_checkbox(label="Hair", default_value=True, tag="export_mesh_hair")
                dpg.add_checkbox(
                    label="Auto iso", default_value=True, tag="export_mesh_auto_iso", callback=self._on_iso_setting
                )
            dpg.add_slider_int(
                label="grid", min_value=32, max_value=512, default_value=256, width=200, tag="export_mesh_resolution"
            )
            dpg.add_input_float(
                label="iso level",
                default_value=10.0,
                width=200,
                step=1.0,
                format="%.3f",
                tag="export_mesh_iso",
                enabled=False,
                callback=self._on_iso_setting,
            )
            dpg.add_slider_float(
                label="keep faces",
                min_value=0.05,
                max_value=1.0,
                default_value=1.0,
                format="%.2f",
                width=200,
                tag="export_mesh_keep",
            )
            dpg.add_button(label="Export mesh", tag="export_mesh_button", callback=self._on_export_mesh)
            dpg.add_separator()
            dpg.add_text("Rig (glTF .glb: 52 ARKit morph targets, baked texture, hair mesh)")
            with dpg.group(horizontal=True):
                dpg.add_checkbox(label="Hair", default_value=True, tag="export_rig_hair")
                dpg.add_button(label="Export rig", tag="export_rig_button", callback=self._on_export_rig)
            dpg.add_separator()
            dpg.add_text("Turntable video (360° orbit)")
            with dpg.group(horizontal=True):
                dpg.add_combo(VIDEO_FORMATS, default_value="mp4", width=60, tag="export_video_format")
                dpg.add_checkbox(label="Current expression", default_value=True, tag="export_video_expression")
            dpg.add_input_int(
                label="frames",
                default_value=120,
                min_value=1,
                max_value=10000,
                min_clamped=True,
                max_clamped=True,
                width=200,
                tag="export_video_frames",
            )
            dpg.add_input_float(
                label="fps",
                default_value=30.0,
                min_value=1.0,
                max_value=120.0,
                min_clamped=True,
                max_clamped=True,
                width=200,
                format="%.1f",
                tag="export_video_fps",
            )
            dpg.add_input_int(
                label="resolution",
                default_value=256,
                min_value=32,
                max_value=2048,
                min_clamped=True,
                max_clamped=True,
                width=200,
                tag="export_video_resolution",
            )
            dpg.add_slider_float(
                label="pitch",
                min_value=-45,
                max_value=45,
                default_value=0.0,
                format="%.0f°",
                width=200,
                tag="export_video_pitch",
            )
            dpg.add_button(label="Export turntable", tag="export_video_button", callback=self._on_export_video)
            dpg.add_separator()
            dpg.add_text("Screenshot (current view and mode, full quality)")
            with dpg.group(horizontal=True):
                dpg.add_input_int(
                    label="px",
                    default_value=512,
                    min_value=32,
                    max_value=4096,
                    min_clamped=True,
                    max_clamped=True,
                    width=120,
                    tag="export_shot_resolution",
                )
                dpg.add_button(label="Save PNG", tag="export_shot_button", callback=self._on_screenshot)
            dpg.add_separator()
            dpg.add_progress_bar(default_value=0.0, width=-60, tag="export_progress", overlay="idle")
            dpg.add_button(label="Cancel", tag="export_cancel", callback=self._on_cancel, show=False)
            dpg.add_text("", tag="export_message", wrap=420)
            dpg.add_input_text(
                default_value="", readonly=True, width=-1, tag="export_last_path", hint="saved files appear here"
            )

    def _on_iso_setting(self) -> None:
        """The iso level is typed only when automatic is off; the viewport's mesh modes follow it."""
        dpg.configure_item("export_mesh_iso", enabled=not dpg.get_value("export_mesh_auto_iso"))
        if self.studio.mode in MESH_MODES:
            self.studio.view_changed()

    def on_model_changed(self) -> None:
        dpg.set_value("export_video_resolution", int(self.studio.generator.config.image_resolution))

    # --- jobs ---------------------------------------------------------------------------------
    def _folder(self) -> Path:
        from head360.errors import Head360Error
        from head360.fileio import ensure_writable_dir

        folder = Path(dpg.get_value("export_folder")).expanduser()
        try:
            return ensure_writable_dir(folder)
        except Head360Error:
            raise Head360Error(f"cannot write to the output folder '{folder}': choose another one above") from None

    def _snapshot(self, expression: bool = True):
        """The current head for a background job: (subject, expression [52]); the neutral expression when
        ``expression`` is False."""
        neutral = None if expression else np.zeros_like(self.studio.head.blend_weights)
        return self.studio.render_head(neutral)

    def _start(self, name: str, work) -> None:
        if self.job is not None and not self.job.done:
            self.studio.set_status(f"wait for the running export ({self.job.name}) or cancel it", error=True)
            return
        self.job = self.studio.jobs.start(name, work, on_done=self._done, on_error=self._failed)
        dpg.configure_item("export_cancel", show=True)
        dpg.set_value("export_message", f"{name}: started")

    def _done(self, job) -> None:
        path = job.result
        self.last_paths.append(Path(path))
        dpg.set_value("export_last_path", str(path))
        dpg.set_value("export_message", f"{job.name}: saved in {job.elapsed:.1f} s")
        dpg.configure_item("export_cancel", show=False)
        self.studio.set_status(f"saved {path}")

    def _failed(self, job) -> None:
        show_job_failure(self.studio, job, "export_message", "export_cancel")

    def update(self) -> None:
        if self.job is not None:
            show_job_progress(self.job, "export_progress")

    def _on_export_mesh(self) -> None:
        s = self.studio
        folder = self._folder()
        fmt = dpg.get_value("export_mesh_format")
        resolution = int(dpg.get_value("export_mesh_resolution"))
        hair = bool(dpg.get_value("export_mesh_hair"))
        auto = bool(dpg.get_value("export_mesh_auto_iso"))
        iso = float(dpg.get_value("export_mesh_iso"))
        keep = float(dpg.get_value("export_mesh_keep"))
        head, weights = self._snapshot()
        g = s.generator
        path = output_path(folder, "head", fmt)

        def work(job):
            import torch

            from head360.export.mesh import extract_mesh, save_mesh
            from head360.model.checkpoint import subject_planes

            with torch.no_grad():
                job.report(0.05, "building planes")
                planes = subject_planes(g, head, weights, head.hairstyle if hair else None)
                job.report(0.25, f"marching cubes {resolution}³ at iso {'auto' if auto else f'{iso:.3g}'}")
                level = None if auto else iso  # None: the level `export-mesh` chooses (head360.export.mesh.auto_iso)
                mesh = extract_mesh(g, planes, resolution, level, hair=hair, decimate=None if keep >= 0.999 else keep)
            job.report(0.85, f"writing {len(mesh.vertices):,} vertices, {len(mesh.faces):,} faces, iso {mesh.iso:.3g}")
            save_mesh(mesh, path)
            return path

        self._start("mesh export", work)

    def _on_export_rig(self) -> None:
        """The current head (expression as the rig's default weights) as a glTF rig, like `export-rig`."""
        folder = self._folder()
        hair = bool(dpg.get_value("export_rig_hair"))
        head, weights = self._snapshot()
        g = self.studio.generator
        path = output_path(folder, "rig", "glb")

        def work(job):
            from head360.export.rig import export_rig
            from head360.gl.context import close_thread_context

            try:
                export_rig(g, head, path, job.report, weights=weights, hairstyle=head.hairstyle if hair else None)
            finally:
                close_thread_context()  # the texture bake rasterized the UVs in this job thread's context
            return path

        self._start("rig export", work)

    def _on_export_video(self) -> None:
        s = self.studio
        folder = self._folder()
        fmt = dpg.get_value("export_video_format")
        frames = int(dpg.get_value("export_video_frames"))
        fps = float(dpg.get_value("export_video_fps"))
        resolution = int(dpg.get_value("export_video_resolution"))
        pitch = float(dpg.get_value("export_video_pitch"))
        head, weights = self._snapshot(expression=bool(dpg.get_value("export_video_expression")))
        hair = s.hair_on
        g = s.generator
        path = output_path(folder, "turntable", fmt)

        def work(job):
            import torch

            from head360.export.video import turntable_frames, write_video
            from head360.model.checkpoint import subject_planes

            with torch.no_grad():
                job.report(0.0, "building planes")
                planes = subject_planes(g, head, weights, head.hairstyle if hair else None)
            done = [0]

            def progress(n: int) -> None:
                done[0] += n
                job.report(done[0] / frames, f"frame {done[0]}/{frames}")

            stream = turntable_frames(
                g, planes, frames, resolution, pitch, "full", hair=hair, batch=2, progress=progress
            )
            count = write_video(stream, path, fps=fps)
            job.report(1.0, f"{count} frames")
            return path

        self._start("turntable", work)

    def _on_screenshot(self) -> None:
        s = self.studio
        folder = self._folder()
        size = int(dpg.get_value("export_shot_resolution"))
        head, weights = self._snapshot()
        hair = s.hair_on
        mode = s.mode
        camera = s.view.camera()
        g = s.generator
        path = output_path(folder, "screenshot", "png")
        iso = float(dpg.get_value("export_mesh_iso"))
        auto = bool(dpg.get_value("export_mesh_auto_iso"))

        def work(job):
            import torch

            from head360.export.render import render_view
            from head360.fileio import write_image
            from head360.model.checkpoint import subject_planes

            with torch.no_grad():
                job.report(0.1, "building planes")
                planes = subject_planes(g, head, weights, head.hairstyle if hair else None)
            job.report(0.4, f"rendering {mode}")
            try:
                image = render_view(g, planes, camera, mode, size, "full", hair, mesh_iso=None if auto else iso)
            finally:
                if mode in MESH_MODES:
                    from head360.gl.context import close_thread_context

                    close_thread_context()  # the mesh was drawn in this job thread's context
            write_image(path, image)
            return path

        self._start("screenshot", work)
