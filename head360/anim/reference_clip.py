"""A performance clip with known ARKit curves: the data factory's own head rendered with OpenGL while its
jaw opens and closes and it blinks, the head moving a little. Video capture is measured against it
(``bench/bench_capture.py``) and tested on it (``tests/anim/test_capture_video.py``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from head360.arkit import index_of


def truth_curves(frames: int, fps: float) -> np.ndarray:
    """[frames, 52] weights: jawOpen 0 -> 0.7 -> 0 over 1.6 s (repeating), two blinks of both eyes at
    0.8 s and 1.9 s, everything else 0."""
    t = np.arange(frames) / fps
    w = np.zeros((frames, 52), np.float32)
    w[:, index_of("jawOpen")] = 0.35 - 0.35 * np.cos(2 * np.pi * t / 1.6)
    blink = np.exp(-(((t - 0.8) / 0.09) ** 2)) + np.exp(-(((t - 1.9) / 0.09) ** 2))
    w[:, index_of("eyeBlinkLeft")] = w[:, index_of("eyeBlinkRight")] = np.clip(blink, 0, 1)
    return w


def render_clip(path: str | Path, weights: np.ndarray, fps: float, size: int = 320, subject: int = 7) -> Path:
    """Render ``weights`` [N, 52] on factory subject ``subject`` to a video at ``path`` (mp4 / gif), the
    camera swaying +-8 degrees in yaw. Returns the path."""
    import head360.gl  # noqa: F401  (EGL before OpenGL)
    from head360.cameras import Camera
    from head360.export.video import write_video
    from head360.gl.renderer import MeshRenderer
    from head360.synth.subject import SubjectAssets, sample_subject

    assets = SubjectAssets.build(sample_subject(subject, 1), texture_size=512)
    n = len(weights)
    frames = []
    with MeshRenderer(size) as renderer:
        for i in range(n):
            renderer.set_scene(assets.render_meshes(weights[i], hair=True, occlusion=False))
            cam = Camera.orbit(8.0 * np.sin(i / n * 2 * np.pi), 5.0, radius=6.0)
            frames.append(renderer.render(cam).rgb[..., :3])
    write_video(frames, path, fps=fps)
    return Path(path)
