"""Video-driven capture end to end: the data factory's own head is rendered with known blendshape
curves (jaw opening and closing, blinks) into an H.264 clip; capture from that clip must recover the
curves (Pearson r > 0.8) through mediapipe and the bilinear mesh model."""

from __future__ import annotations

import numpy as np
import pytest

from head360.arkit import index_of

FPS = 15.0
FRAMES = 36
SIZE = 320


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    from head360.anim.reference_clip import render_clip, truth_curves

    weights = truth_curves(FRAMES, FPS)
    path = render_clip(tmp_path_factory.mktemp("clip") / "performance.mp4", weights, FPS, SIZE)
    return path, weights


def test_capture_recovers_jaw_and_blink_curves(clip):
    from head360.anim.capture import capture_video

    path, truth = clip
    result = capture_video(path)
    assert len(result.track) == FRAMES and result.frames_without_face == 0
    assert result.track.fps == pytest.approx(FPS)
    for name in ("jawOpen", "eyeBlinkLeft", "eyeBlinkRight"):
        r = np.corrcoef(result.track.weight(name), truth[:, index_of(name)])[0, 1]
        assert r > 0.8, f"{name}: Pearson r = {r:.2f}"
