"""The Train tab drives the real `main.py train` (tiny preset, the training tests' toy dataset): start, live
curves from RUN/log.jsonl, stop (Ctrl-C: a checkpoint is saved), resume, the run's checkpoint loaded
into the viewport, and a new run fine-tuning the viewport's model (--init). Runs once the `train` command is
part of this build."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.app.conftest import run_driver

pytestmark = pytest.mark.gui

DRIVER = r"""
import json, pathlib, time
import dearpygui.dearpygui as dpg
from harness import wait_frame, wait_until, frames, item_center, click

DATA = pathlib.Path(%(data)r)


def drive(studio, report):
    panel = studio.train
    yield from wait_frame(studio)
    studio.show_tab("Train")
    yield from frames(3)
    run = pathlib.Path.cwd() / "run"
    dpg.set_value("train_data", str(DATA))
    dpg.set_value("train_run", str(run))
    dpg.set_value("train_preset", "tiny")
    dpg.set_value("train_stage", "1")
    dpg.set_value("train_device", "cpu")
    dpg.set_value("train_steps", 200)
    report["start_enabled"] = dpg.get_item_configuration("train_start")["enabled"]
    x, y = item_center("train_start")
    yield from click(x, y)  # a real click on Start
    yield from wait_until(lambda: panel.process is not None, 10, "the run to start")
    report["args"] = panel.process.args
    log = run / "log.jsonl"
    yield from wait_until(lambda: log.is_file() and '"started"' in log.read_text(), 180, "the run to start training")
    studio.run_action(panel._on_stop)  # as soon as it trains: Ctrl-C finishes the step and saves
    proc = panel.process.proc
    yield from wait_until(lambda: proc.poll() is not None, 180, "the run to stop")
    report["stop_exit"] = proc.returncode
    yield from frames(40)
    report["status_after_stop"] = dpg.get_value("train_status")
    stopped = json.loads((run / "latest.json").read_text())["step"]
    report["stopped_at"] = stopped
    dpg.set_value("train_steps", 5)  # the tiny preset logs losses every 5 steps
    studio.run_action(panel._on_start, "train_resume", None, True)
    report["resume_args"] = panel.process.args
    proc = panel.process.proc
    yield from wait_until(lambda: proc.poll() is not None, 300, "the resumed run to finish")
    report["resume_exit"] = proc.returncode
    report["resumed_to"] = json.loads((run / "latest.json").read_text())["step"]
    yield from wait_until(lambda: dpg.does_item_exist("train_series_l1"), 30, "the loss curve")
    report["curve_points"] = len(dpg.get_value("train_series_l1")[0])
    studio.run_action(panel._on_load)
    yield from wait_until(lambda: studio.model.version == 2, 60, "the run's checkpoint to load")
    yield from wait_frame(studio)
    report["loaded"] = studio.model.path
    # fine-tune what the viewport shows: a fresh run that starts from the loaded checkpoint
    x, y = item_center("train_init_viewport")
    yield from click(x, y)
    yield from frames(2)
    report["init_field"] = dpg.get_value("train_init")
    run2 = pathlib.Path.cwd() / "run2"
    dpg.set_value("train_run", str(run2))
    dpg.set_value("train_steps", 2)
    studio.run_action(panel._on_start, "train_start", None, False)
    report["init_args"] = panel.process.args
    report["init_status"] = dpg.get_value("status_text")
    proc = panel.process.proc
    yield from wait_until(lambda: proc.poll() is not None, 300, "the fine-tuning run to finish")
    report["init_exit"] = proc.returncode
    report["init_events"] = [
        json.loads(line) for line in (run2 / "log.jsonl").read_text().splitlines() if '"initialised"' in line
    ]
    dpg.set_value("train_init", str(pathlib.Path.cwd() / "missing.safetensors"))
    studio.run_action(panel._on_start, "train_start", None, False)
    yield from frames(2)
    report["missing_init_status"] = [studio.status_bar.error, dpg.get_value("status_text")]
    report["missing_init_started"] = panel.process is not None and panel.process.running
"""


def test_train_tab_starts_stops_resumes_and_loads(xvfb_display, tiny_checkpoint, tmp_path_factory, tmp_path):
    from tests.train import toy

    folder = tmp_path_factory.mktemp("toy") / "data"
    data = toy.write_toy_dataset(folder, subjects=1, expressions=("neutral", "jawOpen"), views=toy.TOY_VIEWS[:4])
    r = run_driver(xvfb_display, tiny_checkpoint, tmp_path, DRIVER % {"data": str(data)}, timeout=600)
    assert r["start_enabled"]
    assert r["args"][:1] == ["train"] and "--preset" in r["args"] and "--resume" not in r["args"]
    assert r["stop_exit"] == 130, "Stop interrupts like Ctrl-C: the run saves and says how to go on"
    assert 0 <= r["stopped_at"] < 5 and "stopped" in r["status_after_stop"]
    assert "--resume" in r["resume_args"]
    assert r["resume_exit"] == 0 and r["resumed_to"] == 5
    assert r["curve_points"] >= 1
    assert "generator.safetensors" in r["loaded"] or r["loaded"].endswith("checkpoint.safetensors")
    # "Viewport's model" + Start fine-tunes the loaded checkpoint; a missing one is refused in the studio
    assert r["init_field"] == r["loaded"]
    assert r["init_args"][r["init_args"].index("--init") + 1] == r["loaded"]
    assert r["init_exit"] == 0 and r["init_status"].endswith(f"from {Path(r['loaded']).name}")
    assert len(r["init_events"]) == 1 and r["init_events"][0]["checkpoint"] == r["loaded"]
    assert not r["missing_init_started"]
    assert r["missing_init_status"][0] and "missing.safetensors" in r["missing_init_status"][1]


SYNTH_DRIVER = r"""
import json, pathlib
import dearpygui.dearpygui as dpg
from harness import wait_frame, wait_until, frames, item_center, click


def drive(studio, report):
    panel = studio.train
    yield from wait_frame(studio)
    studio.show_tab("Train")
    yield from frames(3)
    data = pathlib.Path.cwd() / "made"
    dpg.set_value("train_data", str(data))
    dpg.set_value("train_preset", "tiny")
    dpg.set_value("train_synth_subjects", 2)
    dpg.set_value("train_synth_hair_variants", 1)
    x, y = item_center("train_synth")
    yield from click(x, y)  # a real click on "Generate with the factory"
    yield from wait_until(lambda: panel.synth is not None, 10, "the factory to start")
    report["args"] = panel.synth.args
    yield from wait_until(lambda: panel.synth is None, 300, "the dataset to be generated")
    yield from frames(3)
    report["synth_status"] = dpg.get_value("train_synth_status")
    index = json.loads((data / "dataset.json").read_text())
    subjects = {s["id"]: s["hairstyle"] for s in index["subjects"]}
    report["own"] = subjects
    report["variants"] = sorted(
        {(r["subject"], r["hairstyle"]) for r in index["images"] if r.get("hair_variant")}
    )
"""


def test_train_tab_generates_a_dataset_with_hair_variants(xvfb_display, tiny_checkpoint, tmp_path):
    """ "Generate with the factory" with hair variants: the dataset has each subject also wearing the other's
    hairstyle (what makes a hair swap clean after training)."""
    r = run_driver(xvfb_display, tiny_checkpoint, tmp_path, SYNTH_DRIVER, timeout=400)
    assert r["args"][r["args"].index("--hair-variants") + 1] == "1"
    assert r["synth_status"] == "dataset ready"
    own = r["own"]
    assert len(own) == 2 and len(set(own.values())) == 2
    (a, b) = sorted(own)
    assert r["variants"] == [[a, own[b]], [b, own[a]]]
