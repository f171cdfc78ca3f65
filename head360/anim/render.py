"""Animation videos: a weight track (ARKit performance) or a keyframed timeline rendered with a
generator checkpoint, optionally while orbiting the head 360 degrees.

Library calls the studio and ``python main.py animate`` share::

    states = track_states(track, AnimationRenderConfig(fps=30, orbit=True))   # or timeline.evaluate_frames()
    frames = render_states(generator, subject, states, config, progress=bar.update)
    write_video(frames, "anim.mp4", fps=config.fps)                           # head360.export.video

Head rotation of a track (``WeightTrack.head_rotation``: yaw, pitch, roll in degrees, right-handed
about the head's +y, +x, +z, composed ``R = Ry(yaw) Rx(pitch) Rz(roll)``) is shown by turning the
camera the other way around the head's origin (the generator renders the head in its own frame).

Planes are computed once per distinct head state (weights, codes, hairstyle): frames that only move
the camera reuse them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np

from head360.anim.arkit_io import WeightTrack
from head360.anim.timeline import FrameState, Timeline
from head360.cameras import Camera, camera_with_head_pose, check_orbit_angles, orbit_camera
from head360.errors import Head360Error


@dataclass
class AnimationRenderConfig:
    """How an animation is turned into frames."""

    fps: float | None = None
    """Output frame rate (None: the track's / timeline's own)."""
    resolution: int | None = None
    """Frame side in pixels (None: the model's output resolution)."""
    quality: str = "full"
    """Generator render quality preset ("full", "preview")."""
    orbit: bool = False
    """Turn the camera once around the head over the whole animation (on top of any keyed camera)."""
    orbit_turns: float = 1.0
    """Full turns of the orbit (negative: the other way round)."""
    pitch: float = 0.0
    """Camera elevation in degrees for tracks (timelines key their own camera)."""
    head_pose: bool = True
    """Apply a track's head rotation (when it has one)."""
    hair: bool = True
    """Render the hair planes (False: the head alone)."""
    max_frames: int = 100_000

    def validate(self) -> AnimationRenderConfig:
        if self.fps is not None and not (math.isfinite(self.fps) and 0 < self.fps <= 240):
            raise Head360Error(f"--fps must be between 0 and 240, got {self.fps}")
        if self.resolution is not None and not 8 <= self.resolution <= 4096:
            raise Head360Error(f"--resolution must be between 8 and 4096, got {self.resolution}")
        check_orbit_angles(pitch_deg=self.pitch)
        if not math.isfinite(self.orbit_turns):
            raise Head360Error(f"the orbit's turns must be a finite number, got {self.orbit_turns}")
        return self


def track_states(track: WeightTrack, config: AnimationRenderConfig | None = None) -> list[FrameState]:
    """Frame states of a performance at ``config.fps`` (default: the track's): weights interpolated
    linearly between the recorded frames, the camera in front (or orbiting), head rotation applied."""
    cfg = (config or AnimationRenderConfig()).validate()
    if len(track) == 0:
        raise Head360Error("the weight track has no frames")
    fps = cfg.fps or track.fps
    n = int(math.floor(track.duration * fps + 1e-6)) + 1
    if n > cfg.max_frames:
        raise Head360Error(f"the animation would have {n} frames (more than {cfg.max_frames}); lower --fps")
    times = track.times[0] + np.arange(n) / fps
    weights, head = track.sample(times)
    base = Camera.orbit(0.0, cfg.pitch)
    states = []
    for i in range(n):
        cam = base
        if cfg.head_pose and head is not None:
            cam = camera_with_head_pose(cam, head[i])
        if cfg.orbit:
            cam = orbit_camera(cam, 360.0 * cfg.orbit_turns * i / n)
        states.append(FrameState(float(times[i] - times[0]), weights[i], None, None, None, cam))
    return states


def timeline_states(
    timeline: Timeline, config: AnimationRenderConfig | None = None, camera: Camera | None = None
) -> list[FrameState]:
    """Frame states of one play-through of a timeline at ``config.fps`` (default: the timeline's).
    ``camera``: the view to use when no key sets a camera (default: the front rig camera)."""
    cfg = (config or AnimationRenderConfig()).validate()
    fps = cfg.fps or timeline.fps
    tl = replace(timeline, fps=fps, _keys=list(timeline.keys)) if fps != timeline.fps else timeline
    if tl.frame_count > cfg.max_frames:
        raise Head360Error(f"the animation would have {tl.frame_count} frames (more than {cfg.max_frames})")
    states = tl.evaluate_frames()
    if camera is not None and "camera" not in tl.keyed_channels():
        states = [replace(s, camera=camera) for s in states]
    if cfg.orbit:
        n = len(states)
        turn = 360.0 * cfg.orbit_turns
        states = [replace(s, camera=orbit_camera(s.camera, turn * i / n)) for i, s in enumerate(states)]
    return states


def _state_key(state: FrameState) -> tuple:
    def b(a):
        return None if a is None else np.asarray(a, np.float32).tobytes()

    return (b(state.weights), b(state.shape_code), b(state.texture_code), state.hairstyle)


def state_subject(subject, state: FrameState):
    """The subject with a frame's keyed codes applied, and the hairstyle to render ("keep" or a name /
    None for no hair)."""
    s = subject
    if state.shape_code is not None or state.texture_code is not None:
        s = replace(
            subject,
            shape_code=subject.shape_code if state.shape_code is None else state.shape_code,
            texture_code=subject.texture_code if state.texture_code is None else state.texture_code,
        )
        if s.texture_code.shape != subject.texture_code.shape or s.shape_code.shape != subject.shape_code.shape:
            raise Head360Error(
                f"the animation keys codes of length {s.texture_code.shape[0]} (texture) / {s.shape_code.shape[0]} "
                f"(shape); this model uses {subject.texture_code.shape[0]} / {subject.shape_code.shape[0]}"
            )
    if state.hairstyle is None:
        style = "keep"
    elif state.hairstyle.strip().lower() == "none":
        style = None
    else:
        style = state.hairstyle
    return s, style


def render_states(
    generator,
    subject,
    states: Sequence[FrameState],
    config: AnimationRenderConfig | None = None,
    progress: Callable[[int], None] | None = None,
) -> Iterator[np.ndarray]:
    """Yield one uint8 frame [R, R, 3] per state. ``subject``: a
    :class:`head360.model.checkpoint.Subject`; the planes are rebuilt only when the head state
    changes. ``progress(1)`` after every frame (an exception raised there, e.g. a cancelled studio
    job, stops the render and, through :func:`write_animation`, leaves no file behind)."""
    import torch

    from head360.export.render import render_view
    from head360.model.checkpoint import subject_planes

    cfg = (config or AnimationRenderConfig()).validate()
    generator.quality(cfg.quality)  # unknown preset -> error before any work
    for st in states:  # bad hairstyles fail before rendering anything
        if st.hairstyle is not None:
            generator.hairstyle_index(st.hairstyle)
    planes, key = None, None
    textures: dict[bytes, np.ndarray] = {}
    with torch.no_grad():
        for st in states:
            k = _state_key(st)
            if k != key:
                subj, style = state_subject(subject, st)
                if subj.neural_texture is None:
                    # the UV neural texture depends on the texture code only: synthesise it once per
                    # code, not once per expression
                    code = np.asarray(subj.texture_code, np.float32)
                    if code.tobytes() not in textures:
                        t = torch.as_tensor(code, device=generator.device)[None]
                        tex = generator.texture_synthesis(generator.mapping(t))[0]
                        textures[code.tobytes()] = tex.cpu().numpy()
                    subj = replace(subj, neural_texture=textures[code.tobytes()])
                hairstyle = style if cfg.hair else None
                planes = subject_planes(generator, subj, st.weights, hairstyle)
                key = k
            yield render_view(generator, planes, st.camera, "rgb", cfg.resolution, cfg.quality, cfg.hair)
            if progress is not None:
                progress(1)


def write_animation(
    generator,
    subject,
    states: Sequence[FrameState],
    path,
    fps: float,
    config: AnimationRenderConfig | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Render ``states`` and write them as ``.mp4`` (H.264) or ``.gif``, atomically; returns the
    frame count. What ``python main.py animate`` and the studio's Timeline export both call."""
    from head360.export.video import write_video

    return write_video(render_states(generator, subject, states, config, progress), path, fps=fps)
