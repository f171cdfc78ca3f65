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


class _ShadedHair:
    """A stand-in generator whose hair, seen from any camera, is a patch of the hair colour under a
    lighting the fit does not know (a gain and a gamma per channel in linear light) on a bald head."""

    gain, gamma = np.array([0.55, 0.7, 0.9]), np.array([1.15, 1.0, 0.9])

    def shown(self, color):
        lin = ((np.asarray(color, float) + 0.055) / 1.055) ** 2.4
        return self.gain * lin**self.gamma  # linear light

    def planes(self, t, s, b, hairstyle, hair_color=None):
        return None if hairstyle is None else np.asarray(hair_color, float)

    def render(self, planes, camera, quality=None, skip_empty=None):
        import torch

        rgb = torch.full((1, 3, 16, 16), 0.8)
        alpha = torch.zeros(1, 1, 8, 8)
        if planes is not None:
            lin = self.shown(planes)
            srgb = np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1 / 2.4) - 0.055)
            rgb[:, :, :8] = torch.tensor(srgb, dtype=torch.float32)[None, :, None, None]
            alpha[:, :, :4] = 1.0
        return {"rgb": rgb, "alpha": alpha}


@pytest.mark.parametrize("truth", [(0.12, 0.10, 0.09), (0.55, 0.25, 0.15), (0.80, 0.78, 0.70)])
def test_the_fitted_hair_colour_renders_the_photos_hair_colour(truth):
    """The colour found makes the rendered hair's mean colour the photo's, whatever the lighting."""
    from head360.fit.pipeline import fit_hair_color

    g = _ShadedHair()
    lin = g.shown(truth)
    photo = np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1 / 2.4) - 0.055)
    pixels = np.tile(np.round(photo * 255), (50, 1)).astype(np.uint8)
    found = fit_hair_color(g, None, None, None, None, "short", pixels, None, iterations=8)
    assert np.abs(np.array(found) - np.array(truth)).max() < 0.02, found


def test_a_colour_input_the_model_ignores_leaves_the_photos_own_colour():
    """A model whose hair does not follow the colour input: the fit keeps the photo's colour instead of
    running to black or white."""
    from head360.fit.pipeline import fit_hair_color

    class Deaf(_ShadedHair):
        def planes(self, t, s, b, hairstyle, hair_color=None):
            return None if hairstyle is None else np.array([0.9, 0.9, 0.9])

    pixels = np.tile(np.array([[110, 80, 50]], np.uint8), (50, 1))
    found = fit_hair_color(Deaf(), None, None, None, None, "short", pixels, None, iterations=4)
    assert np.abs(np.array(found) * 255 - [110, 80, 50]).max() < 2, found


def test_a_fit_keeps_the_photos_hair_colour_in_the_subject(fitted, tmp_path):
    from head360.model.checkpoint import Subject

    result, _ = fitted
    color = result.subject.hair_color
    assert result.hairstyle is not None and color is not None and all(0.0 <= c <= 1.0 for c in color)
    assert result.summary()["hair_color"] == list(color)
    result.subject.save(tmp_path / "me.h360")
    assert Subject.load(tmp_path / "me.h360").hair_color == color
