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


def truth_curves() -> np.ndarray:
    t = np.arange(FRAMES) / FPS
    w = np.zeros((FRAMES, 52), np.float32)
    w[:, index_of("jawOpen")] = 0.35 - 0.35 * np.cos(2 * np.pi * t / 1.6)  # 0 .. 0.7 .. 0
    blink = np.exp(-(((t - 0.8) / 0.09) ** 2)) + np.exp(-(((t - 1.9) / 0.09) ** 2))
    w[:, index_of("eyeBlinkLeft")] = w[:, index_of("eyeBlinkRight")] = np.clip(blink, 0, 1)
    return w


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    pytest.importorskip("head360.mesh.blendshapes", reason="needs the procedural head (branch head)")
    pytest.importorskip("head360.fit.meshfit", reason="needs head360.fit (branch fit)")
    import head360.gl  # noqa: F401  (EGL before OpenGL)
    from head360.cameras import Camera
    from head360.export.video import write_video
    from head360.gl.renderer import MeshRenderer
    from head360.synth.subject import SubjectAssets, sample_subject

    assets = SubjectAssets.build(sample_subject(7, 1), texture_size=512)
    weights = truth_curves()
    frames = []
    with MeshRenderer(SIZE) as renderer:
        for i in range(FRAMES):
            renderer.set_scene(assets.render_meshes(weights[i], hair=True, occlusion=False))
            cam = Camera.orbit(8.0 * np.sin(i / FRAMES * 2 * np.pi), 5.0, radius=6.0)  # a head that moves a bit
            frames.append(renderer.render(cam).rgb[..., :3])
    path = tmp_path_factory.mktemp("clip") / "performance.mp4"
    write_video(frames, path, fps=FPS)
    return path, weights


def test_capture_recovers_jaw_and_blink_curves(clip):
    from head360.anim.video import capture_video

    path, truth = clip
    result = capture_video(path)
    assert len(result.track) == FRAMES and result.frames_without_face == 0
    assert result.track.fps == pytest.approx(FPS)
    for name in ("jawOpen", "eyeBlinkLeft", "eyeBlinkRight"):
        r = np.corrcoef(result.track.weight(name), truth[:, index_of(name)])[0, 1]
        assert r > 0.8, f"{name}: Pearson r = {r:.2f}"
