"""Files in the studio: a real desktop drop (XDND through the X server) of a photo, a subject file and a
checkpoint; subject save/load; the Fit tab without photo fitting; the Train tab following a run folder
(loss curves from log.jsonl, the latest sample image, loading the run's checkpoint); identity editing,
A<->B interpolation and hairstyle swapping with thumbnails."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.app.conftest import run_driver

pytestmark = pytest.mark.gui

DRIVER = r"""
import json, pathlib, shutil
import numpy as np
import dearpygui.dearpygui as dpg
from harness import wait_frame, wait_until, frames, texture, file_drop
from head360.arkit import INDEX

HERE = pathlib.Path.cwd()


def drive(studio, report):
    yield from wait_frame(studio)

    # --- hairstyle thumbnails (rendered by the worker while idle) and a live swap
    yield from wait_until(lambda: studio.hair.thumbnails_done >= 4, 120, "hair thumbnails")
    report["thumb_std"] = [float(texture(t)[..., :3].std()) for t in studio.hair._textures[:4]]
    before = texture()
    studio.hair._on_pick(None, None, "long")
    r = yield from wait_frame(studio)
    report["hair_now"] = studio.head.hairstyle
    report["hair_swap_change"] = float(np.abs(texture() - before).mean())
    report["hair_label"] = dpg.get_value("hair_current")
    dpg.set_value("hair_on", False)
    studio.hair._on_hair_on("hair_on", False)
    yield from wait_frame(studio)
    bald = texture()
    studio.set_hair_on(True)
    yield from wait_frame(studio)
    report["hair_on_vs_off"] = float(np.abs(texture() - bald).mean())

    # --- hair colour (the tiny model's colour weight is zero: give it one, as training would)
    import torch

    with torch.no_grad():
        torch.manual_seed(0)
        studio.generator.hair_color.weight.normal_(std=3.0)
    report["colour_control_shown"] = dpg.get_item_configuration("hair_color_row")["show"]
    own = texture()
    head_before = studio.worker._planes.head
    studio.hair._on_color("hair_color", [204, 51, 17, 255])
    yield from wait_frame(studio)
    report["hair_color"] = studio.head.hair_color
    report["colour_change"] = float(np.abs(texture() - own).mean())
    report["colour_kept_head_planes"] = studio.worker._planes.head is head_before
    studio.hair._on_color_reset()
    yield from wait_frame(studio)
    report["reset_color"] = studio.head.hair_color
    report["reset_back"] = float(np.abs(texture() - own).mean())

    # --- identity: pick a subject, random texture, A <-> B interpolation
    studio.identity._on_subject(None, "2: random 2 (long)")
    subject2 = studio.model.checkpoint.subjects[2]
    report["subject2_code_match"] = bool(np.allclose(studio.head.texture_code, subject2.texture_code))
    studio.identity._on_set(None, None, "a")
    a = studio.head.texture_code.copy()
    studio.identity._on_texture_random()
    studio.identity._on_shape_random()
    studio.identity._on_set(None, None, "b")
    b = studio.head.texture_code.copy()
    report["pc1_slider_matches_code"] = abs(
        dpg.get_value("texture_dir_0") - float(studio.identity.texture_dirs.coefficients(b)[0])
    ) < 1e-3 or abs(float(studio.identity.texture_dirs.coefficients(b)[0])) > 3
    for part in ("texture", "shape", "expression"):
        dpg.set_value(f"interp_{part}", 0.5)
    studio.identity._on_interpolate()
    mid = studio.head.texture_code
    dist = lambda p, q: float(np.linalg.norm(p - q))
    report["interp_between"] = [dist(mid, a), dist(mid, b), dist(a, b)]
    dpg.set_value("interp_texture", 0.0)
    studio.identity._on_interpolate()
    report["interp_at_a"] = bool(np.allclose(studio.head.texture_code, a, atol=1e-5))
    # a principal-direction slider moves the code along that direction only
    code0 = studio.head.texture_code.copy()
    studio.identity._on_texture_dir("texture_dir_1", 1.5, 1)
    coeffs = studio.identity.texture_dirs.coefficients(studio.head.texture_code)
    report["pc2_after_slider"] = float(coeffs[1])
    report["pc1_unchanged"] = float(abs(coeffs[0] - studio.identity.texture_dirs.coefficients(code0)[0]))
    yield from wait_frame(studio)

    # --- subject files: save, change, load back through a desktop drop
    studio.set_blend_weights({"jawOpen": 0.6, "eyeBlinkLeft": 0.3})
    saved = studio.fit.save_subject(HERE / "mine")
    report["saved_subject"] = str(saved)
    studio.set_blend_weights({"jawOpen": 0.0, "eyeBlinkLeft": 0.0})
    saved_code = studio.head.texture_code.copy()
    studio.identity._on_texture_random()
    out = yield from file_drop([saved])
    report["drop_subject_sender"] = out
    yield from wait_until(lambda: abs(studio.head.blend_weights[INDEX["jawOpen"]] - 0.6) < 1e-6, 20, "the subject drop")
    report["subject_restored"] = bool(np.allclose(studio.head.texture_code, saved_code))
    report["slider_after_load"] = float(dpg.get_value("blend_jawOpen"))

    # --- a head with optimised planes (what a fit may store) holds one expression
    import dataclasses, torch
    from head360.model.checkpoint import subject_planes
    with torch.no_grad():
        planes = subject_planes(studio.generator, studio.head)
    fixed = dataclasses.replace(
        studio.current_subject(), head_planes=planes.head[0].numpy(), hair_planes=None, source="test planes"
    )
    fixed_path = HERE / "fixed.h360"
    fixed.save(fixed_path)
    studio.open_path(fixed_path)
    yield from wait_frame(studio)
    report["fixed_note_shown"] = dpg.is_item_shown("blend_note")
    studio.set_blend_weights({"jawOpen": 0.1})
    yield from wait_until(lambda: studio.status_bar.error, 60, "the fixed-expression message")
    report["fixed_error"] = dpg.get_value("status_text")
    studio.set_blend_weights({"jawOpen": 0.6})  # back to the stored expression: renders again
    yield from wait_frame(studio)
    studio.identity._on_texture_random()
    report["after_texture_edit"] = [studio.head.head_planes is None, dpg.get_value("status_text")]
    yield from wait_frame(studio)
    report["renders_after_edit"] = not studio.status_bar.error

    # --- a photo dropped on the window goes to the Fit tab
    from skimage import data
    from PIL import Image
    photo = HERE / "portrait photo.jpg"
    Image.fromarray(data.astronaut()).save(photo)
    out = yield from file_drop([photo])
    report["drop_photo_sender"] = out
    yield from wait_until(lambda: studio.fit.photo_path is not None, 20, "the photo drop")
    yield from frames(2)
    report["photo_path"] = str(studio.fit.photo_path)
    report["tab"] = dpg.get_value("tabs")
    report["photo_std"] = float(texture("fit_photo_texture")[..., :3].std())
    report["fit_button_enabled"] = dpg.get_item_configuration("fit_start")["enabled"]
    report["fit_intro"] = dpg.get_value("fit_intro")

    # --- the Train tab follows a run folder: curves, latest sample, its checkpoint
    run = HERE / "run"
    (run / "samples").mkdir(parents=True)
    lines = [
        json.dumps({"step": s, "stage": 1, "losses": {"l1": 1.0 / s, "g_gan": 0.7}, "it_s": 3.5}) for s in range(1, 11)
    ]
    (run / "log.jsonl").write_text("\n".join(lines) + "\n" + '{"step": 11, "los')  # a line still being written
    Image.fromarray(data.coffee()).save(run / "samples" / "step000010.png")
    shutil.copy(studio.options.checkpoint, run / "generator.safetensors")
    dpg.set_value("train_run", str(run))
    studio.train._on_follow()
    yield from wait_until(lambda: dpg.does_item_exist("train_series_l1"), 20, "the loss curve")
    yield from frames(40)
    report["l1_points"] = len(dpg.get_value("train_series_l1")[0])
    report["train_status"] = dpg.get_value("train_status")
    report["sample_std"] = float(texture("train_sample_texture")[..., :3].std())
    report["train_start_enabled"] = dpg.get_item_configuration("train_start")["enabled"]
    with open(run / "log.jsonl", "a") as fh:
        fh.write('ses": {"l1": 0.05}}\n')
    yield from frames(40)
    report["l1_points_after"] = len(dpg.get_value("train_series_l1")[0])
    studio.train._on_load()
    yield from wait_until(lambda: studio.model.version == 2, 60, "the run's checkpoint")
    yield from wait_frame(studio)
    report["loaded_from_run"] = studio.model.path

    # --- a checkpoint dropped on the window replaces the model
    out = yield from file_drop([studio.options.checkpoint])
    report["drop_ckpt_sender"] = out
    yield from wait_until(lambda: studio.model.version == 3, 60, "the checkpoint drop")
    yield from wait_frame(studio)
    report["title_has_model"] = studio.model.name
    report["status"] = dpg.get_value("status_text")
"""


def test_drop_subjects_fit_train_identity_hair(xvfb_display, tiny_checkpoint, tmp_path):
    r = run_driver(xvfb_display, tiny_checkpoint, tmp_path, DRIVER)
    assert min(r["thumb_std"]) > 0.002, "every hairstyle thumbnail should show a picture"
    assert r["hair_now"] == "long" and "long" in r["hair_label"]
    assert r["hair_swap_change"] > 1e-4
    assert r["hair_on_vs_off"] > 1e-4, "hair off must change the picture"
    assert r["colour_control_shown"] and r["hair_color"] == pytest.approx((0.8, 0.2, 0.0667), abs=1e-3)
    assert r["colour_change"] > 1e-4 and r["colour_kept_head_planes"], "a colour change remakes only the hair"
    assert r["reset_color"] is None and r["reset_back"] < 1e-6
    assert r["subject2_code_match"]
    assert r["pc1_slider_matches_code"]
    da, db, ab = r["interp_between"]
    assert 0.2 * ab < da < 0.8 * ab and 0.2 * ab < db < 0.8 * ab
    assert r["interp_at_a"]
    assert r["pc2_after_slider"] == pytest.approx(1.5, abs=1e-3) and r["pc1_unchanged"] < 1e-3
    assert r["drop_subject_sender"] == "status=True finished=True"
    assert r["subject_restored"] and r["slider_after_load"] == pytest.approx(0.6)
    assert r["fixed_note_shown"] and "optimised planes for one expression" in r["fixed_error"]
    assert r["after_texture_edit"][0] and "replace the optimised planes" in r["after_texture_edit"][1]
    assert r["renders_after_edit"]
    assert r["drop_photo_sender"] == "status=True finished=True"
    assert r["photo_path"].endswith("portrait photo.jpg")  # the space survives the file:// URI
    assert r["tab"] == "tab_Fit" and r["photo_std"] > 0.05
    assert r["fit_button_enabled"] and "Drop a portrait photo" in r["fit_intro"]  # a dropped photo can be fitted
    assert r["l1_points"] == 10 and r["l1_points_after"] == 11
    assert "step 11" in r["train_status"] or "step 10" in r["train_status"]
    assert r["sample_std"] > 0.05
    assert r["loaded_from_run"].endswith("generator.safetensors")
    assert r["drop_ckpt_sender"] == "status=True finished=True"
    assert r["title_has_model"] == "tiny.safetensors"
    assert "loaded checkpoint" in r["status"]


def test_training_log_reader_handles_partial_lines(tmp_path):
    from app.panels.train import TrainingLog

    log = tmp_path / "log.jsonl"
    reader = TrainingLog(log)
    assert not reader.poll()  # no file yet
    log.write_text(json.dumps({"step": 1, "losses": {"l1": 2.0}}) + "\n" + '{"step": 2, "l1": 1.')
    assert reader.poll()
    assert reader.series["l1"] == ([1.0], [2.0])
    with open(log, "a") as fh:
        fh.write('5}\n{"event": "checkpoint", "step": 2, "path": "x"}\n{"step": 3, "losses": {"l1": NaN}}\n')
    reader.poll()
    assert reader.series["l1"] == ([1.0, 2.0], [2.0, 1.5])  # NaN dropped, the split line joined
    assert reader.events == ["step 2: checkpoint"]
    assert set(reader.series) == {"l1"}  # event lines add no curves


def test_latest_checkpoint_skips_non_checkpoints(tmp_path, tiny_checkpoint):
    from app.panels.train import latest_checkpoint

    run = tmp_path / "run"
    run.mkdir()
    (run / "training_state.safetensors").write_bytes(b"not a checkpoint")
    assert latest_checkpoint(run) is None
    shutil.copy(tiny_checkpoint, run / "g.safetensors")
    assert latest_checkpoint(run) == run / "g.safetensors"
    # the training layout: latest.json names the step folder
    step = run / "checkpoints" / "step-00000040"
    step.mkdir(parents=True)
    shutil.copy(tiny_checkpoint, step / "generator.safetensors")
    (run / "latest.json").write_text(json.dumps({"dir": "checkpoints/step-00000040", "step": 40}))
    (run / "g.safetensors").touch()  # newer, but latest.json decides
    assert latest_checkpoint(run) == step / "generator.safetensors"
