"""The Fit tab runs photo fitting (head360.fit) in the background on a dropped photo: progress with
intermediate images while the window keeps drawing, then the fitted head is the current head, animatable
and savable."""

from __future__ import annotations

import pytest

from tests.app.conftest import run_driver

pytestmark = pytest.mark.gui

DRIVER = r"""
import pathlib
import numpy as np
import dearpygui.dearpygui as dpg
from harness import wait_frame, wait_until, frames, texture, item_center, click, file_drop
from head360.arkit import INDEX


def drive(studio, report):
    yield from wait_frame(studio)
    from skimage import data
    from PIL import Image

    photo = pathlib.Path.cwd() / "astronaut.png"
    Image.fromarray(data.astronaut()).save(photo)
    out = yield from file_drop([photo])
    yield from wait_until(lambda: studio.fit.photo_path is not None, 30, "the photo drop")
    dpg.set_value("fit_steps", 4)
    yield from frames(3)
    x, y = item_center("fit_start")
    yield from click(x, y)  # a real click on Fit
    yield from wait_until(lambda: studio.fit.job is not None, 10, "the fit to start")
    job = studio.fit.job
    fractions, images, ui_frames = [], 0, 0
    last_image = None
    while not job.done:
        fractions.append(job.fraction or 0.0)
        if job.image is not None and job.image is not last_image:
            last_image = job.image
            images += 1
        ui_frames += 1
        yield
    report["fit_error"] = job.error
    report["fractions_rise"] = fractions == sorted(fractions) and fractions[-1] > 0.5
    report["intermediate_images"] = images
    report["ui_frames_during_fit"] = ui_frames
    yield from frames(3)
    r = yield from wait_frame(studio, timeout=180)
    report["message"] = dpg.get_value("fit_message")
    report["source"] = studio.head.source
    report["has_fitted_texture"] = studio.head.neural_texture is not None or studio.head.head_planes is not None
    before = texture()
    studio.set_blend_weights({"jawOpen": 0.8})
    yield from wait_frame(studio, timeout=180)
    report["animated_change"] = float(np.abs(texture() - before).mean())
    saved = studio.fit.save_subject(pathlib.Path.cwd() / "fitted.h360")
    report["saved"] = str(saved)
"""


def test_fit_tab_fits_a_dropped_photo(xvfb_display, tmp_path):
    from head360.assets import ASSETS_DIR
    from head360.model.init_checkpoint import init_checkpoint

    mesh = ASSETS_DIR / "mesh_model.safetensors"  # the real template's landmarks: fitting needs them
    checkpoint = tmp_path / "tiny-real-mesh.safetensors"
    init_checkpoint("tiny", str(mesh), str(checkpoint), subjects=2)
    r = run_driver(xvfb_display, checkpoint, tmp_path / "run", DRIVER, timeout=600)
    assert r["fit_error"] is None, r["fit_error"]
    assert r["fractions_rise"] and r["intermediate_images"] >= 1
    assert r["ui_frames_during_fit"] > 10, "the window keeps drawing while the photo is fitted"
    assert "fitted in" in r["message"] and r["has_fitted_texture"]
    assert r["source"] == "astronaut.png"  # the fitted head is the current head
    assert r["animated_change"] > 1e-4
    from head360.model.checkpoint import Subject

    assert Subject.load(r["saved"]).texture_code.ndim == 1
