"""Timeline: keyframe the current head (expression, camera, identity/texture codes, hairstyle), play /
loop / scrub it in the viewport, import and export ARKit coefficients (our JSON, Live Link Face CSV),
load a video-driven performance onto the current head, save / open animation files, and export the
animation as mp4 / gif in the background with progress.

Everything here calls the library (head360.anim); the same work runs headless with
``python main.py animate``.
"""

from __future__ import annotations

import time
from pathlib import Path

import dearpygui.dearpygui as dpg
import numpy as np

from app.panels import Panel, show_job_failure, show_job_progress
from head360.anim.timeline import WEIGHT_METHODS, CameraKey, Keyframe, Timeline
from head360.errors import Head360Error

VIDEO_FORMATS = ("mp4", "gif")
CHANNEL_LABELS = {
    "weights": "expr",
    "camera": "cam",
    "shape_code": "shape",
    "texture_code": "tex",
    "hairstyle": "hair",
}


def key_label(index: int, key: Keyframe) -> str:
    parts = []
    for name in key.channels():
        parts.append(f"hair:{key.hairstyle}" if name == "hairstyle" else CHANNEL_LABELS[name])
    return f"{index:3d}   {key.time:7.3f} s   {', '.join(parts)}"


class TimelinePanel(Panel):
    title = "Timeline"

    def __init__(self, studio) -> None:
        super().__init__(studio)
        self.timeline = Timeline(duration=4.0, fps=30.0, loop=True)
        self.time = 0.0
        self.playing = False
        self._play_wall0 = 0.0
        self._play_t0 = 0.0
        self._applied_frame: int | None = None
        self.selected: int | None = None
        self.last_paths: list[Path] = []
        self.last_report: list[str] = []

    # --- widgets ------------------------------------------------------------------------------
    def build(self, parent) -> None:
        with dpg.group(parent=parent):
            with dpg.group(horizontal=True):
                dpg.add_button(label="Play", width=60, tag="tl_play", callback=self._on_play)
                dpg.add_button(label="|<", tag="tl_rewind", callback=self._on_rewind)
                dpg.add_checkbox(label="Loop", default_value=True, tag="tl_loop", callback=self._on_settings)
                dpg.add_text("0.000 s", tag="tl_time_text")
            dpg.add_slider_float(
                min_value=0.0, max_value=4.0, width=-1, format="%.3f s", tag="tl_time", callback=self._on_scrub
            )
            with dpg.group(horizontal=True):
                dpg.add_input_float(
                    label="s",
                    default_value=4.0,
                    width=90,
                    step=0,
                    format="%.2f",
                    on_enter=True,
                    tag="tl_duration",
                    callback=self._on_settings,
                )
                dpg.add_input_float(
                    label="fps",
                    default_value=30.0,
                    width=70,
                    step=0,
                    format="%.1f",
                    on_enter=True,
                    tag="tl_fps",
                    callback=self._on_settings,
                )
                dpg.add_combo(
                    WEIGHT_METHODS, default_value="monotone", width=110, tag="tl_interp", callback=self._on_settings
                )
            dpg.add_separator()
            dpg.add_text("Keyframes (what a new key records)")
            with dpg.group(horizontal=True):
                dpg.add_checkbox(label="Expression", default_value=True, tag="tl_ch_weights")
                dpg.add_checkbox(label="Camera", default_value=False, tag="tl_ch_camera")
                dpg.add_checkbox(label="Identity+texture", default_value=False, tag="tl_ch_codes")
                dpg.add_checkbox(label="Hairstyle", default_value=False, tag="tl_ch_hair")
            with dpg.group(horizontal=True):
                dpg.add_button(label="Key at current time", tag="tl_add", callback=self._on_add)
                dpg.add_button(label="Delete key", tag="tl_delete", callback=self._on_delete)
                dpg.add_button(label="Orbit 360", tag="tl_orbit", callback=self._on_orbit)
                dpg.add_button(label="Clear", tag="tl_clear", callback=self._on_clear)
            dpg.add_listbox([], num_items=7, width=-1, tag="tl_keys", callback=self._on_select)
            with dpg.group(horizontal=True):
                dpg.add_button(label="Go to key", tag="tl_goto", callback=self._on_goto)
                dpg.add_button(label="Move key to", tag="tl_move", callback=self._on_move)
                dpg.add_input_float(default_value=0.0, width=90, step=0, format="%.3f", tag="tl_move_time")
            dpg.add_separator()
            dpg.add_text("ARKit coefficients and video-driven performance")
            with dpg.group(horizontal=True):
                dpg.add_button(
                    label="Import ARKit (.json/.csv)...",
                    tag="tl_import",
                    callback=lambda: dpg.show_item("tl_import_dialog"),
                )
                dpg.add_button(
                    label="Capture from video...", tag="tl_capture", callback=lambda: dpg.show_item("tl_video_dialog")
                )
            with dpg.group(horizontal=True):
                dpg.add_checkbox(label="Head motion", default_value=True, tag="tl_head_motion")
                dpg.add_button(
                    label="Export ARKit JSON", tag="tl_export_json", callback=self._on_export_arkit, user_data="json"
                )
                dpg.add_button(
                    label="Export Live Link CSV", tag="tl_export_csv", callback=self._on_export_arkit, user_data="csv"
                )
            dpg.add_separator()
            with dpg.group(horizontal=True):
                dpg.add_button(
                    label="Open animation...", tag="tl_open", callback=lambda: dpg.show_item("tl_open_dialog")
                )
                dpg.add_button(label="Save animation", tag="tl_save", callback=self._on_save)
            dpg.add_text("Animation video (the Export tab's folder)")
            with dpg.group(horizontal=True):
                dpg.add_combo(VIDEO_FORMATS, default_value="mp4", width=60, tag="tl_video_format")
                dpg.add_input_int(
                    label="px",
                    default_value=256,
                    min_value=32,
                    max_value=2048,
                    min_clamped=True,
                    max_clamped=True,
                    width=90,
                    tag="tl_video_resolution",
                )
                dpg.add_checkbox(label="Orbit 360", default_value=False, tag="tl_video_orbit")
                dpg.add_button(label="Export video", tag="tl_export_video", callback=self._on_export_video)
            dpg.add_progress_bar(default_value=0.0, width=-60, tag="tl_progress", overlay="idle")
            dpg.add_button(label="Cancel", tag="tl_cancel", callback=self._on_cancel, show=False)
            dpg.add_text("", tag="tl_message", wrap=420)
            dpg.add_input_text(default_value="", readonly=True, width=-1, tag="tl_last_path", hint="saved files")
        for tag, exts, callback in (
            ("tl_import_dialog", (".csv", ".json"), self._on_import_dialog),
            ("tl_video_dialog", (".mp4", ".mov", ".m4v", ".webm", ".avi", ".mkv", ".gif"), self._on_video_dialog),
            ("tl_open_dialog", (".json",), self._on_open_dialog),
        ):
            with dpg.file_dialog(show=False, tag=tag, width=620, height=400, callback=callback):
                for ext in exts:
                    dpg.add_file_extension(ext)
                dpg.add_file_extension(".*")
        self.refresh()

    # --- state -> widgets ----------------------------------------------------------------------
    def refresh(self) -> None:
        """Show the timeline's settings, keys and the current time."""
        tl = self.timeline
        dpg.set_value("tl_loop", tl.loop)
        dpg.set_value("tl_duration", tl.duration)
        dpg.set_value("tl_fps", tl.fps)
        dpg.set_value("tl_interp", tl.weight_interpolation)
        dpg.configure_item("tl_time", max_value=tl.duration)
        items = [key_label(i, k) for i, k in enumerate(tl.keys)]
        dpg.configure_item("tl_keys", items=items)
        if self.selected is not None and self.selected < len(items):
            dpg.set_value("tl_keys", items[self.selected])
            dpg.set_value("tl_move_time", tl.keys[self.selected].time)
        else:
            self.selected = None
        self._show_time()

    def _show_time(self) -> None:
        dpg.set_value("tl_time", self.time)
        frame = int(round(self.time * self.timeline.fps))
        dpg.set_value("tl_time_text", f"{self.time:.3f} s  (frame {frame})")

    def set_timeline(self, timeline: Timeline, message: str = "") -> None:
        self.stop()
        self.timeline = timeline
        self.time = 0.0
        self.selected = None
        self.refresh()
        self.apply(0.0)
        if message:
            dpg.set_value("tl_message", message)
            self.studio.set_status(message.splitlines()[0])

    # --- playback ------------------------------------------------------------------------------
    def play(self) -> None:
        if not self.timeline.keys:
            raise Head360Error("the timeline has no keys: key the current head first (Key at current time)")
        if not self.timeline.loop and self.time >= self.timeline.duration - 1e-6:
            self.time = 0.0
        self.playing = True
        self._play_wall0 = time.perf_counter()
        self._play_t0 = self.time
        self._applied_frame = None
        dpg.configure_item("tl_play", label="Pause")

    def stop(self) -> None:
        self.playing = False
        if dpg.does_item_exist("tl_play"):
            dpg.configure_item("tl_play", label="Play")

    def apply(self, t: float, interactive: bool = False) -> None:
        """Put the timeline's state at ``t`` on the current head and view (only the keyed channels)."""
        tl = self.timeline
        keyed = tl.keyed_channels()
        if not keyed:
            return
        s = self.studio
        changes = {}
        if "weights" in keyed:
            changes["blend_weights"] = tl.weights_at([t])[0]
        for name in ("shape_code", "texture_code"):
            if name in keyed:
                value = tl.codes_at(name, [t])[0]
                if value.shape != getattr(s.head, name).shape:
                    raise Head360Error(
                        f"the animation keys a {name.replace('_', ' ')} of {value.shape[0]} values; "
                        f"this model uses {getattr(s.head, name).shape[0]}"
                    )
                changes[name] = value
        if "hairstyle" in keyed:
            style = tl.hairstyle_at(t)
            style = None if style is None or style.lower() == "none" else style
            if style != s.head.hairstyle:
                s.set_hairstyle(style)
        if "camera" in keyed:
            from app.orbit import MAX_RADIUS, MIN_RADIUS, PITCH_LIMIT

            p = tl.orbit_at([t])[0]
            s.view.yaw = float(p[0] % 360.0)
            s.view.pitch = float(np.clip(p[1], -PITCH_LIMIT, PITCH_LIMIT))
            s.view.radius = float(np.clip(p[2], MIN_RADIUS, MAX_RADIUS))
            s.view.target = (float(p[3]), float(p[4]), float(p[5]))
            s.view_changed(interactive)
        if changes:
            s.set_codes(interactive=interactive, **changes)
            if "blend_weights" in changes:
                s.sync_expression()

    def update(self) -> None:
        if self.playing:
            tl = self.timeline
            elapsed = self._play_t0 + (time.perf_counter() - self._play_wall0)
            if not tl.loop and elapsed >= tl.duration:
                self.time = tl.duration
                self.stop()
                self.apply(self.time)
            else:
                self.time = tl.time_at(elapsed)
                frame = int(self.time * tl.fps)
                if frame != self._applied_frame:
                    self._applied_frame = frame
                    self.apply(self.time, interactive=True)
            self._show_time()
        self._update_job()

    # --- callbacks: playback and settings --------------------------------------------------------
    def _on_play(self) -> None:
        if self.playing:
            self.stop()
            self.apply(self.time)  # the paused frame at rest quality
        else:
            self.play()

    def _on_rewind(self) -> None:
        self.stop()
        self.time = 0.0
        self._show_time()
        self.apply(0.0)

    def _on_scrub(self, sender, value) -> None:
        self.stop()
        self.time = float(min(max(value, 0.0), self.timeline.duration))
        self._show_time()
        self.apply(self.time, interactive=True)

    def _on_settings(self) -> None:
        tl = self.timeline
        duration = float(dpg.get_value("tl_duration"))
        fps = float(dpg.get_value("tl_fps"))
        try:
            if abs(duration - tl.duration) > 1e-9:
                tl.set_duration(duration)
            tl.fps = fps
            tl.loop = bool(dpg.get_value("tl_loop"))
            tl.weight_interpolation = str(dpg.get_value("tl_interp"))
            tl.validate_settings()
        finally:
            self.time = min(self.time, tl.duration)
            self.refresh()
        self.apply(self.time)

    # --- callbacks: keys ---------------------------------------------------------------------------
    def _on_add(self) -> None:
        s = self.studio
        head = s.head
        key = Keyframe(self.time)
        if dpg.get_value("tl_ch_weights"):
            key.weights = np.array(head.blend_weights, np.float32)
        if dpg.get_value("tl_ch_camera"):
            v = s.view
            key.camera = CameraKey(yaw=v.yaw, pitch=v.pitch, radius=v.radius, target=tuple(v.target))
        if dpg.get_value("tl_ch_codes"):
            key.shape_code = np.array(head.shape_code, np.float32)
            key.texture_code = np.array(head.texture_code, np.float32)
        if dpg.get_value("tl_ch_hair"):
            key.hairstyle = head.hairstyle or "none"
        if not key.channels():
            raise Head360Error("tick at least one of Expression, Camera, Identity+texture, Hairstyle to key")
        self.selected = self.timeline.add(key)
        self.refresh()
        s.set_status(f"key {self.selected} at {self.time:.3f} s: {', '.join(key.channels())}")

    def _on_select(self, sender, value) -> None:
        items = [key_label(i, k) for i, k in enumerate(self.timeline.keys)]
        self.selected = items.index(value) if value in items else None
        if self.selected is not None:
            dpg.set_value("tl_move_time", self.timeline.keys[self.selected].time)

    def _need_selection(self) -> int:
        if self.selected is None or self.selected >= len(self.timeline.keys):
            raise Head360Error("select a key in the list first")
        return self.selected

    def _on_delete(self) -> None:
        i = self._need_selection()
        self.timeline.delete(i)
        self.selected = None
        self.refresh()
        self.apply(self.time)

    def _on_goto(self) -> None:
        i = self._need_selection()
        self.stop()
        self.time = self.timeline.keys[i].time
        self._show_time()
        self.apply(self.time)

    def _on_move(self) -> None:
        i = self._need_selection()
        self.selected = self.timeline.move(i, float(dpg.get_value("tl_move_time")))
        self.refresh()
        self.apply(self.time)

    def _on_orbit(self) -> None:
        """Camera keys for one full turn around the head over the whole animation, from the current view."""
        v = self.studio.view
        tl = self.timeline
        for t, turns in ((0.0, 0), (tl.duration, 1)):
            tl.add(
                Keyframe(
                    t, camera=CameraKey(yaw=v.yaw, pitch=v.pitch, radius=v.radius, target=tuple(v.target), turns=turns)
                )
            )
        self.refresh()
        self.studio.set_status("camera keys: one turn around the head over the animation")

    def _on_clear(self) -> None:
        tl = self.timeline
        self.set_timeline(Timeline(duration=tl.duration, fps=tl.fps, loop=tl.loop), "timeline cleared")

    # --- files ---------------------------------------------------------------------------------------
    def _folder(self) -> Path:
        return self.studio.export._folder()

    def open_path(self, path: str | Path) -> None:
        """A dropped or chosen file: an animation (.json timeline), ARKit weights (.json / .csv) or a
        video (capture in the background)."""
        import json

        from head360.anim.video_io import VIDEO_INPUT_SUFFIXES

        path = Path(path)
        suffix = path.suffix.lower()
        if suffix in VIDEO_INPUT_SUFFIXES:
            self.capture(path)
            return
        if suffix == ".json":
            try:
                head = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
                raise Head360Error(f"'{path.name}' is not readable JSON ({e})") from e
            if isinstance(head, dict) and head.get("format") == "head360-animation":
                self.set_timeline(Timeline.load(path), f"opened animation {path.name}")
                return
        if suffix in (".json", ".csv"):
            self.import_weights(path)
            return
        raise Head360Error(f"'{path.name}' is not an animation, ARKit weights (.json/.csv) or a video")

    def import_weights(self, path: str | Path) -> None:
        from head360.anim.arkit_io import read_track

        track, report = read_track(path)
        self.load_track(track, f"imported {Path(path).name}", report.lines())

    def load_track(self, track, what: str, notes: list[str] = ()) -> None:
        """A performance onto the current head: weight keys on every frame (+ head motion as camera keys)."""
        v = self.studio.view
        camera = CameraKey(yaw=v.yaw, pitch=v.pitch, radius=v.radius, target=tuple(v.target))
        head_motion = bool(dpg.get_value("tl_head_motion")) and track.head_rotation is not None
        tl = Timeline.from_track(track, name=what, head_pose=head_motion, camera=camera)
        self.last_report = list(notes)
        lines = [f"{what}: {len(track)} frames, {track.duration:.2f} s at {track.fps:g} fps"]
        lines += [f"  {n}" for n in notes]
        self.set_timeline(tl, "\n".join(lines))

    def _on_import_dialog(self, sender, data) -> None:
        if data.get("file_path_name"):
            self.import_weights(data["file_path_name"])

    def _on_open_dialog(self, sender, data) -> None:
        if data.get("file_path_name"):
            self.open_path(data["file_path_name"])

    def _on_video_dialog(self, sender, data) -> None:
        if data.get("file_path_name"):
            self.capture(data["file_path_name"])

    def _on_save(self) -> None:
        from app.panels.export import output_path

        path = output_path(self._folder(), "animation", "json")
        self.timeline.save(path)
        self._saved(path)

    def _on_export_arkit(self, sender, app_data, fmt: str) -> None:
        from app.panels.export import output_path
        from head360.anim.arkit_io import WeightTrack, write_track

        tl = self.timeline
        if "weights" not in tl.keyed_channels():
            raise Head360Error("no expression keys to export: key the expression first (or import a performance)")
        times = tl.frame_times()
        track = WeightTrack(times, tl.weights_at(times), tl.fps, None, None, tl.name)
        path = output_path(self._folder(), "arkit", fmt)
        write_track(track, path)
        self._saved(path)

    def _saved(self, path: Path) -> None:
        self.last_paths.append(Path(path))
        dpg.set_value("tl_last_path", str(path))
        dpg.set_value("tl_message", f"saved {Path(path).name}")
        self.studio.set_status(f"saved {path}")

    # --- background jobs -----------------------------------------------------------------------------
    def _start(self, name: str, work, on_done) -> None:
        if self.job is not None and not self.job.done:
            raise Head360Error(f"wait for the running {self.job.name} or cancel it")
        self.job = self.studio.jobs.start(name, work, on_done=on_done, on_error=self._failed)
        dpg.configure_item("tl_cancel", show=True)
        dpg.set_value("tl_message", f"{name}: started")

    def _failed(self, job) -> None:
        show_job_failure(self.studio, job, "tl_message", "tl_cancel")

    def _update_job(self) -> None:
        job = self.job
        if job is None:
            return
        show_job_progress(job, "tl_progress")
        if job.done:
            dpg.configure_item("tl_cancel", show=False)

    def capture(self, path: str | Path) -> None:
        """Video-driven capture in the background; the performance then lands on the current head."""
        path = Path(path)
        mesh = self.studio.generator.mesh

        def work(job):
            from head360.anim.capture import capture_video

            def progress(stage: str, done: int, total: int | None) -> None:
                if stage == "detect":
                    frac = 0.5 * done / total if total else None
                    job.report(frac, f"landmarks, frame {done}" + (f"/{total}" if total else ""))
                else:
                    job.report(0.5 + 0.5 * done / max(total or 1, 1), f"fitting frame {done}/{total}")

            return capture_video(path, mesh=mesh, progress=progress)

        def done(job) -> None:
            result = job.result
            dpg.configure_item("tl_cancel", show=False)
            notes = result.summary().splitlines()
            self.load_track(result.track, f"captured {path.name}", notes)

        self._start("video capture", work, done)

    def _on_export_video(self) -> None:
        from app.panels.export import output_path
        from head360.anim.render import AnimationRenderConfig, timeline_states, write_animation

        s = self.studio
        tl = self.timeline
        if not tl.keys:
            raise Head360Error("the timeline has no keys: nothing to animate")
        fmt = str(dpg.get_value("tl_video_format"))
        config = AnimationRenderConfig(
            resolution=int(dpg.get_value("tl_video_resolution")),
            quality=s.quality,
            orbit=bool(dpg.get_value("tl_video_orbit")),
            hair=s.hair_on,
        )
        states = timeline_states(tl, config, camera=s.view.camera())
        subject = s.current_subject()
        g = s.generator
        path = output_path(self._folder(), "animation", fmt)
        total = len(states)
        fps = tl.fps

        def work(job):
            done = [0]

            def progress(n: int) -> None:
                done[0] += n
                job.report(done[0] / total, f"frame {done[0]}/{total}")

            count = write_animation(g, subject, states, path, fps, config, progress)
            job.report(1.0, f"{count} frames")
            return path

        def finished(job) -> None:
            dpg.configure_item("tl_cancel", show=False)
            self._saved(job.result)
            dpg.set_value("tl_message", f"{job.name}: {total} frames saved in {job.elapsed:.1f} s")

        self._start("animation video", work, finished)
