"""End to end: a portrait becomes a subject file that loads, renders and animates (tiny preset)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from head360.errors import Head360Error


@pytest.fixture(scope="module")
def fitted(astronaut, tiny_checkpoint):
    from head360.fit.pipeline import fit_photo

    calls = []
    result = fit_photo(astronaut, tiny_checkpoint, steps=3, progress=lambda *a: calls.append(a))
    return result, calls


def test_fit_reports_progress_and_diagnostics(fitted):
    from head360.fit.pipeline import PREPARATION_STEPS

    result, calls = fitted
    steps = [c[0] for c in calls]
    assert steps == sorted(steps) and steps[-1] == calls[-1][1] == PREPARATION_STEPS + 3
    assert all(math.isfinite(c[2]) for c in calls if c[0] > PREPARATION_STEPS)  # inversion losses
    assert any(c[3] is not None for c in calls)  # intermediate images reach the callback
    assert result.mesh_fit.error_px < result.mesh_fit.error_init_px
    summary = result.summary()
    assert summary["landmark_error_px"]["after"] < summary["landmark_error_px"]["before"]
    assert result.strip().shape[1] == 4 * result.strip().shape[0]


def test_subject_file_loads_renders_and_animates(fitted, tiny_checkpoint, tmp_path):
    import torch

    from head360.arkit import INDEX
    from head360.cameras import Camera
    from head360.model.checkpoint import load_checkpoint, resolve_subject, subject_planes

    result, _ = fitted
    path = tmp_path / "astronaut.h360"
    result.subject.save(path)
    ckpt = load_checkpoint(tiny_checkpoint)
    subject = resolve_subject(ckpt, str(path))
    assert subject.neural_texture is not None and subject.source == "image"
    assert np.allclose(subject.blend_weights, result.mesh_fit.blend_weights)
    g = ckpt.generator
    with torch.no_grad():
        cams = torch.tensor([Camera.orbit(y, 0).label() for y in (0, 90, 180)], dtype=torch.float32)
        planes = subject_planes(g, subject)
        images = g.render(planes, cams)["rgb"]
        weights = subject.blend_weights.copy()
        weights[INDEX["jawOpen"]] = 1.0
        opened = g.render(subject_planes(g, subject, blend_weights=weights), cams[:1])["rgb"]
    assert torch.isfinite(images).all()
    assert not torch.allclose(images[0], images[2])  # front and back differ
    assert not torch.allclose(opened[0], images[0])  # the expression still moves the head


def test_cli_fit_then_render(astronaut_png, tiny_checkpoint, tmp_path):
    from main import main

    out = tmp_path / "me.h360"
    assert main(["fit", str(astronaut_png), "--out", str(out), "--checkpoint", str(tiny_checkpoint),
                 "--steps", "2", "--quiet", "--images", str(tmp_path / "stages")]) == 0  # fmt: skip
    assert out.is_file() and (tmp_path / "stages" / "strip.png").is_file()
    png = tmp_path / "front.png"
    assert main(["render", "--checkpoint", str(tiny_checkpoint), "--subject", str(out), "--out", str(png)]) == 0
    assert png.is_file()


def test_cli_errors_are_one_line(tmp_path, tiny_checkpoint, capsys):
    from PIL import Image
    from skimage import data

    from main import main

    cat = tmp_path / "chelsea.jpg"
    Image.fromarray(data.chelsea()).save(cat)
    assert main(["fit", str(cat), "--out", str(tmp_path / "x.h360"), "--checkpoint", str(tiny_checkpoint)]) == 1
    err = capsys.readouterr().err
    assert "no human face" in err and "Traceback" not in err
    notes = tmp_path / "notes.png"
    notes.write_bytes(b"not a png at all")
    assert main(["fit", str(notes), "--out", str(tmp_path / "x.h360"), "--checkpoint", str(tiny_checkpoint)]) == 1
    assert "not an image" in capsys.readouterr().err
    assert main(["fit", str(cat), "--out", str(tmp_path / "x.png"), "--checkpoint", str(tiny_checkpoint)]) == 1
    assert ".h360" in capsys.readouterr().err
    assert not (tmp_path / "x.h360").exists()


def test_hairstyle_choice_given_and_unknown(astronaut, tiny_checkpoint):
    from head360.fit.pipeline import FitConfig, fit_photo

    with pytest.raises(Head360Error, match="unknown hairstyle"):
        fit_photo(astronaut, tiny_checkpoint, steps=1, config=FitConfig(hairstyle="mohawk"))
    result = fit_photo(astronaut, tiny_checkpoint, steps=1, config=FitConfig(hairstyle="curly"))
    assert result.hairstyle == "curly" and result.hairstyle_method == "given"
