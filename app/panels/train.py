"""Train: choose (or generate with the data factory, optionally with hair variants) a dataset, a preset and
stages, optionally a trained model to start from (fine-tuning); start, stop and resume `python main.py train`
as a subprocess; follow RUN/log.jsonl live (loss curves, step, speed), show the
latest sample grid from RUN/samples/, and load the resulting checkpoint into the viewport."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path

import dearpygui.dearpygui as dpg
import numpy as np

from app.images import letterbox_rgba, read_image
from app.panels import Panel
from head360.train.config import train_presets

PACKAGE_ROOT = Path(__file__).resolve().parents[2]
"""The folder that holds the ``head360`` package (a checkout, or site-packages once installed)."""
SAMPLE_W, SAMPLE_H = 420, 260
STAGES = ("all", "1", "2", "3")
SKIP_KEYS = {"step", "stage", "stage_step", "time", "it_s", "elapsed_s", "images"}
"""Fields of a log.jsonl record that are not losses (when a record has no ``losses`` dict)."""


class CommandProcess:
    """A command-line subprocess (``python -m head360.cli ARGS``: the same with or without a source
    checkout) whose output lines are collected by a thread (the UI never blocks on it)."""

    def __init__(self, args: list[str], cwd: Path | None = None) -> None:
        self.args = list(args)
        """The command and its options, e.g. ``["train", "--data", ...]``."""
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(PACKAGE_ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        self.lines: deque[str] = deque(maxlen=400)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "head360.cli", *self.args],
            cwd=None if cwd is None else str(cwd),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            bufsize=1,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        buf = ""
        while True:
            chunk = self.proc.stdout.read(1)
            if not chunk:
                break
            if chunk in "\r\n":  # tqdm redraws its bar with carriage returns
                if buf.strip():
                    self.lines.append(buf.strip())
                buf = ""
            else:
                buf += chunk
        if buf.strip():
            self.lines.append(buf.strip())

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.proc.poll()

    def last_line(self) -> str:
        return self.lines[-1] if self.lines else ""

    def interrupt(self) -> None:
        """Ask it to stop the way Ctrl-C does (training saves a checkpoint first)."""
        if self.running:
            self.proc.send_signal(signal.SIGINT)

    def kill(self) -> None:
        if self.running:
            self.proc.kill()


class TrainingLog:
    """Incremental reader of RUN/log.jsonl: one JSON object per line (step, stage, losses, speed, events)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._partial = ""
        self.series: dict[str, tuple[list[float], list[float]]] = {}
        self.last: dict = {}
        self.events: list[str] = []

    def poll(self) -> bool:
        """Read what was appended since the last call; True when something new arrived."""
        if not self.path.is_file():
            return False
        with open(self.path, encoding="utf-8") as fh:
            fh.seek(self._offset)
            text = fh.read()
            self._offset = fh.tell()
        if not text:
            return False
        text = self._partial + text
        lines = text.split("\n")
        self._partial = lines.pop()  # an unfinished last line waits for the rest
        for line in lines:
            line = line.strip()
            if line:
                try:
                    self._add(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return True

    def _add(self, record: dict) -> None:
        if "event" in record and record["event"] != "metrics":
            self.events.append(f"step {record.get('step', '?')}: {record['event']}")
            return
        step = record.get("step")
        if not isinstance(step, int | float):
            return
        losses = record.get("losses", record.get("metrics"))  # a metrics event: quality measured in training
        if isinstance(losses, dict) and "minutes" in losses:  # a time stamp, not a curve (older run logs)
            losses = {k: v for k, v in losses.items() if k != "minutes"}
        values = losses if isinstance(losses, dict) else {k: v for k, v in record.items() if k not in SKIP_KEYS}
        for key, value in values.items():
            if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
                xs, ys = self.series.setdefault(str(key), ([], []))
                xs.append(float(step))
                ys.append(float(value))
        self.last = record


def newest(folder: Path, pattern: str) -> Path | None:
    files = [p for p in folder.glob(pattern) if p.is_file()] if folder.is_dir() else []
    return max(files, key=lambda p: p.stat().st_mtime) if files else None


def latest_checkpoint(run: Path) -> Path | None:
    """The run's latest generator checkpoint: the one the run's ``latest.json`` names (the training
    layout, :class:`head360.train.state.RunDir`), else the newest checkpoint file under the run folder
    (training states and other files are skipped)."""
    from head360.assets import is_checkpoint_file
    from head360.train.state import RunDir

    try:  # only the generator is needed here (RunDir.latest() also wants the training state)
        named = run / json.loads(RunDir(run).latest_path.read_text())["dir"] / "generator.safetensors"
        if is_checkpoint_file(named):
            return named
    except (OSError, ValueError, KeyError, TypeError):
        pass
    files = sorted(
        (p for p in run.rglob("*.safetensors") if p.is_file()), key=lambda p: p.stat().st_mtime, reverse=True
    )
    return next((p for p in files if is_checkpoint_file(p)), None)


class TrainPanel(Panel):
    title = "Train"

    def __init__(self, studio) -> None:
        super().__init__(studio)
        self.process: CommandProcess | None = None
        self.synth: CommandProcess | None = None
        self.log: TrainingLog | None = None
        self.run_dir = None
        """The followed run's files (:class:`head360.train.state.RunDir`), with ``log``."""
        self._next_poll = 0.0
        self._sample_shown: tuple | None = None

    def build(self, parent) -> None:
        out = self.studio.options.export_dir.parent
        with dpg.texture_registry():
            dpg.add_dynamic_texture(
                SAMPLE_W, SAMPLE_H, np.full(SAMPLE_W * SAMPLE_H * 4, 0.12, np.float32), tag="train_sample_texture"
            )
        with dpg.group(parent=parent):
            dpg.add_text("Dataset folder")
            with dpg.group(horizontal=True):
                dpg.add_input_text(default_value=str(out / "dataset"), width=300, tag="train_data")
                dpg.add_button(label="Choose...", callback=lambda: dpg.show_item("train_data_dialog"))
            with dpg.group(horizontal=True):
                dpg.add_button(label="Generate with the factory", tag="train_synth", callback=self._on_synth)
                dpg.add_input_int(
                    label="subjects",
                    default_value=8,
                    min_value=1,
                    max_value=10000,
                    min_clamped=True,
                    width=90,
                    tag="train_synth_subjects",
                )
            dpg.add_input_int(
                label="hair variants per subject (clean hair swaps)",
                default_value=0,
                min_value=0,
                max_value=8,
                min_clamped=True,
                max_clamped=True,
                width=90,
                tag="train_synth_hair_variants",
            )
            dpg.add_text("", tag="train_synth_status", wrap=420, color=(150, 150, 150))
            dpg.add_separator()
            with dpg.group(horizontal=True):
                dpg.add_combo(train_presets(), default_value="tiny", width=70, tag="train_preset", label="preset")
                dpg.add_combo(STAGES, default_value="all", width=50, tag="train_stage", label="stage")
                dpg.add_combo(("auto", "cpu", "cuda"), default_value="auto", width=60, tag="train_device", label="on")
            with dpg.group(horizontal=True):
                dpg.add_input_int(
                    label="steps (0: preset)",
                    default_value=0,
                    min_value=0,
                    min_clamped=True,
                    width=90,
                    tag="train_steps",
                )
                dpg.add_input_float(
                    label="max min",
                    default_value=0.0,
                    min_value=0.0,
                    min_clamped=True,
                    width=80,
                    format="%.0f",
                    tag="train_minutes",
                )
            dpg.add_text("Start from a trained model (optional: fine-tuning)")
            with dpg.group(horizontal=True):
                dpg.add_input_text(default_value="", hint="checkpoint .safetensors", width=300, tag="train_init")
                dpg.add_button(label="Viewport's model", tag="train_init_viewport", callback=self._on_init_viewport)
            dpg.add_text("Run folder")
            with dpg.group(horizontal=True):
                dpg.add_input_text(default_value=str(out / "runs" / "studio"), width=300, tag="train_run")
                dpg.add_button(label="Follow", tag="train_follow", callback=self._on_follow)
            with dpg.group(horizontal=True):
                dpg.add_button(label="Start", tag="train_start", callback=self._on_start, user_data=False)
                dpg.add_button(label="Resume", tag="train_resume", callback=self._on_start, user_data=True)
                dpg.add_button(label="Stop", tag="train_stop", enabled=False, callback=self._on_stop)
                dpg.add_button(label="Load checkpoint into viewport", tag="train_load", callback=self._on_load)
            dpg.add_text("", tag="train_status", wrap=420)
            with dpg.plot(label="Losses", height=230, width=-1, tag="train_plot"):
                dpg.add_plot_legend(outside=True, location=dpg.mvPlot_Location_East)
                dpg.add_plot_axis(dpg.mvXAxis, label="step", tag="train_x")
                dpg.add_plot_axis(dpg.mvYAxis, label="loss (symlog)", tag="train_y", scale=dpg.mvPlotScale_SymLog)
            dpg.add_text("Latest samples", tag="train_sample_label")
            dpg.add_image("train_sample_texture", width=SAMPLE_W, height=SAMPLE_H, tag="train_sample_image")
        dpg.add_file_dialog(
            directory_selector=True,
            show=False,
            tag="train_data_dialog",
            width=620,
            height=400,
            callback=lambda s, data: dpg.set_value("train_data", data["file_path_name"]),
        )

    # --- actions ------------------------------------------------------------------------------
    def _on_synth(self) -> None:
        if self.synth is not None and self.synth.running:
            self.studio.set_status("the factory is already generating a dataset", error=True)
            return
        data = Path(dpg.get_value("train_data")).expanduser()
        args = ["synth", "--out", str(data), "--preset", dpg.get_value("train_preset")]
        args += ["--subjects", str(int(dpg.get_value("train_synth_subjects")))]
        variants = int(dpg.get_value("train_synth_hair_variants"))
        if variants > 0:
            args += ["--hair-variants", str(variants)]
        self.synth = CommandProcess(args)
        self.studio.set_status(f"generating a dataset in {data}")

    def _on_start(self, sender, app_data, resume: bool) -> None:
        if self.process is not None and self.process.running:
            self.studio.set_status("a training run is already going: stop it first", error=True)
            return
        run = Path(dpg.get_value("train_run")).expanduser()
        args = [
            "train",
            "--data",
            str(Path(dpg.get_value("train_data")).expanduser()),
            "--preset",
            dpg.get_value("train_preset"),
            "--stage",
            dpg.get_value("train_stage"),
            "--out",
            str(run),
            "--device",
            dpg.get_value("train_device"),
        ]
        if int(dpg.get_value("train_steps")) > 0:
            args += ["--steps", str(int(dpg.get_value("train_steps")))]
        if float(dpg.get_value("train_minutes")) > 0:
            args += ["--max-minutes", f"{float(dpg.get_value('train_minutes')):g}"]
        init = dpg.get_value("train_init").strip()
        start_from = ""
        if resume:
            args.append("--resume")  # a resumed run goes on from its own checkpoint
        elif init:
            path = Path(init).expanduser()
            if not path.is_file():
                self.studio.set_status(
                    f"no checkpoint at {path}: choose a .safetensors model or clear the field", error=True
                )
                return
            args += ["--init", str(path)]
            start_from = f" from {path.name}"
        self.process = CommandProcess(args)
        self.follow(run)
        dpg.configure_item("train_stop", enabled=True)
        self.studio.set_status(("resumed" if resume else "started") + f" training into {run}{start_from}")

    def _on_init_viewport(self) -> None:
        """Fine-tune the model the viewport shows (the bundled demo model unless another was loaded)."""
        dpg.set_value("train_init", str(self.studio.model.path))

    def _on_stop(self) -> None:
        if self.process is not None and self.process.running:
            self.process.interrupt()
            self.studio.set_status("stopping training (it saves a checkpoint first)...")

    def _on_follow(self) -> None:
        self.follow(Path(dpg.get_value("train_run")).expanduser())

    def follow(self, run: Path) -> None:
        """Show the curves and samples of a run folder (written by a run started here or elsewhere)."""
        from head360.train.state import RunDir

        self.run_dir = RunDir(run)
        self.log = TrainingLog(self.run_dir.log_path)
        self._sample_shown = None
        dpg.delete_item("train_y", children_only=True)
        self._next_poll = 0.0

    def _on_load(self) -> None:
        run = Path(dpg.get_value("train_run")).expanduser()
        path = latest_checkpoint(run) if run.is_dir() else None
        if path is None:
            self.studio.set_status(f"no checkpoint in {run} yet", error=True)
            return
        self.studio.load_checkpoint(path)

    # --- per frame ----------------------------------------------------------------------------
    def update(self) -> None:
        now = time.perf_counter()
        if now < self._next_poll:
            return
        self._next_poll = now + 0.5
        if self.synth is not None:
            if self.synth.running:
                dpg.set_value("train_synth_status", f"factory: {self.synth.last_line()[-200:]}")
            else:
                code = self.synth.returncode
                dpg.set_value(
                    "train_synth_status",
                    "dataset ready" if code == 0 else f"factory failed (exit {code}): {self.synth.last_line()[-300:]}",
                )
                if code != 0:
                    self.studio.set_status(f"dataset generation failed: {self.synth.last_line()[-200:]}", error=True)
                else:
                    self.studio.set_status("dataset ready")
                self.synth = None
        status = ""
        if self.process is not None:
            if self.process.running:
                status = f"training: {self.process.last_line()[-160:]}"
            else:
                code = self.process.returncode
                status = (
                    "training finished"
                    if code == 0
                    else f"training stopped (exit {code}): {self.process.last_line()[-300:]}"
                )
                dpg.configure_item("train_stop", enabled=False)
                if code != 0 and code != -signal.SIGINT and code != 130:
                    self.studio.set_status(status, error=True)
                self.process = None
                self._last_status = status
        elif getattr(self, "_last_status", ""):
            status = self._last_status
        if self.log is not None and self.log.poll():
            self._plot()
        if self.log is not None and self.log.last:
            last = self.log.last
            extra = f"step {last.get('step')}" + (f", stage {last['stage']}" if "stage" in last else "")
            speed = last.get("it_s")
            if isinstance(speed, int | float):
                extra += f", {speed:.2f} it/s"
            status = f"{status}\n{extra}" if status else extra
        dpg.set_value("train_status", status)
        if self.log is not None:
            sample = newest(self.run_dir.samples_dir, "*.png")
            if sample is not None:
                key = (sample, sample.stat().st_mtime)
                if key != self._sample_shown:
                    self._sample_shown = key
                    try:
                        dpg.set_value(
                            "train_sample_texture", letterbox_rgba(read_image(sample), SAMPLE_W, height=SAMPLE_H)
                        )
                        dpg.set_value("train_sample_label", f"Latest samples: {sample.name}")
                    except Exception:  # a sample still being written: next poll
                        self._sample_shown = None

    def _plot(self) -> None:
        for key, (xs, ys) in self.log.series.items():
            tag = f"train_series_{key}"
            if dpg.does_item_exist(tag):
                dpg.set_value(tag, [xs, ys])
            else:
                dpg.add_line_series(xs, ys, label=key, parent="train_y", tag=tag)
        dpg.fit_axis_data("train_x")
        dpg.fit_axis_data("train_y")

    def shutdown(self) -> None:
        """The studio closes: stop a run cleanly (it saves), kill a dataset generation."""
        if self.process is not None and self.process.running:
            self.process.interrupt()
            try:
                self.process.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if self.synth is not None:
            self.synth.kill()
