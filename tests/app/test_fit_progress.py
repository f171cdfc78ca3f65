"""The Fit tab reads the fitter's progress callback in its documented forms."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import torch

from app.panels.fit import read_progress


def test_positional_keyword_and_object_progress():
    img = np.zeros((8, 8, 3), np.uint8)
    assert read_progress((5, 20, 0.25, img), {})[:2] == (0.25, "step 5/20, loss 0.2500")
    frac, text, image = read_progress((), {"step": 10, "total": 10, "stage": "inversion"})
    assert frac == 1.0 and text == "inversion: step 10/10" and image is None
    info = SimpleNamespace(step=3, total=4, loss=None, image=torch.ones(1, 3, 4, 6) * 0.5, stage=None)
    frac, text, image = read_progress((info,), {})
    assert frac == 0.75 and text == "step 3/4"
    assert image.shape == (4, 6, 3) and image.dtype == np.uint8 and int(image[0, 0, 0]) == 128
