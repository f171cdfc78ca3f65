"""Photo loading and landmark detection: what a user sees when they drop in a photo."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from head360.errors import Head360Error
from head360.fit.image import load_photo
from head360.fit.landmarks import NUM_POINTS, detect_face, face_region


def test_astronaut_gives_one_face_with_478_points(astronaut_face):
    face = astronaut_face.face
    assert astronaut_face.num_faces == 1
    assert face.points.shape == (NUM_POINTS, 3)
    # the subject's right eye (33) is on the image's left, the chin (152) below the nose tip (1)
    assert face.points[33, 0] < face.points[263, 0]
    assert face.points[152, 1] > face.points[1, 1]
    assert abs(face.yaw_deg()) < 20


def test_no_face_in_a_cat_photo():
    from skimage import data

    with pytest.raises(Head360Error, match="no human face"):
        detect_face(load_photo(data.chelsea()).rgb, "chelsea")


def test_not_an_image(tmp_path):
    bad = tmp_path / "notes.jpg"
    bad.write_text("this is not a photo")
    with pytest.raises(Head360Error, match="not an image"):
        load_photo(bad)
    with pytest.raises(Head360Error, match="not found"):
        load_photo(tmp_path / "missing.png")


def test_grayscale_photo_is_fitted(astronaut, astronaut_face):
    gray = (astronaut.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)).astype(np.uint8)
    photo = load_photo(gray)
    assert photo.rgb.shape == (*gray.shape, 3)
    face = detect_face(photo.rgb).face
    assert np.abs(face.xy[:468] - astronaut_face.face.xy[:468]).mean() < 3.0


def test_exif_rotated_jpeg_is_turned_upright(tmp_path, astronaut, astronaut_face):
    # store the photo lying on its side with EXIF orientation 6 ("rotate 90 CW to view"): a viewer,
    # and the loader, must show it upright again
    sideways = Image.fromarray(astronaut).transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "phone.jpg"
    sideways.save(path, quality=95, exif=exif)
    photo = load_photo(path)
    assert photo.rgb.shape == astronaut.shape
    face = detect_face(photo.rgb).face
    assert np.abs(face.xy[:468] - astronaut_face.face.xy[:468]).mean() < 4.0


def test_rgba_webp_over_white(tmp_path, astronaut):
    rgba = np.dstack([astronaut, np.full(astronaut.shape[:2], 255, np.uint8)])
    rgba[:40, :, 3] = 0  # a transparent strip at the top
    path = tmp_path / "cutout.webp"
    Image.fromarray(rgba).save(path, lossless=True)
    photo = load_photo(path)
    assert photo.alpha is not None and photo.alpha[:40].max() == 0
    assert (photo.rgb[:40] == 255).all()  # composited over the model's white background
    assert detect_face(photo.rgb).num_faces == 1


def test_face_too_small(astronaut):
    small = np.asarray(Image.fromarray(astronaut).resize((96, 96), Image.Resampling.LANCZOS))
    canvas = np.full((900, 900, 3), 255, np.uint8)
    canvas[400:496, 400:496] = small
    with pytest.raises(Head360Error, match="too small|only .* pixels tall|no human face"):
        detect_face(canvas)


def test_face_cut_off_by_the_border(astronaut):
    # keep only the left half of the face
    with pytest.raises(Head360Error, match="cut off|no human face"):
        detect_face(np.ascontiguousarray(astronaut[:, :225]))


def test_several_faces_fit_the_largest(astronaut):
    big = astronaut[30:330, 100:350]
    h, w = big.shape[:2]
    small = np.asarray(Image.fromarray(big).resize((int(w * 0.9), int(h * 0.9))))
    canvas = np.full((360, 620, 3), 230, np.uint8)
    canvas[20 : 20 + h, 20 : 20 + w] = big
    canvas[40 : 40 + small.shape[0], 340 : 340 + small.shape[1]] = small
    found = detect_face(canvas)
    assert found.num_faces == 2
    assert any("largest" in w for w in found.warnings)
    assert found.face.xy[1, 0] < 300  # the big face, on the left


def test_regions_are_closed_loops():
    oval = face_region("face_oval")
    assert len(oval) == 36 and len(set(oval.tolist())) == 36
    assert len(face_region("lips")) == 40
    with pytest.raises(Head360Error):
        face_region("nose")


def test_png_bytes_through_pil(astronaut):
    buf = io.BytesIO()
    Image.fromarray(astronaut).convert("L").save(buf, format="PNG")
    buf.seek(0)
    photo = load_photo(Image.open(buf))
    assert photo.rgb.shape == astronaut.shape
