"""Animation videos through a (tiny, untrained) checkpoint: frame counts, plane reuse, cameras."""

from __future__ import annotations

import numpy as np
import pytest

from head360.anim.render import AnimationRenderConfig, render_states, timeline_states, track_states
from head360.anim.timeline import CameraKey, Keyframe, Timeline
from head360.cameras import Camera, camera_with_head_pose, head_rotation_angles, head_rotation_matrix
from head360.export.video import read_video_frame_count, write_video
from tests.anim.conftest import jaw_track


@pytest.fixture(scope="module")
def model(tiny_checkpoint):
    from head360.model.checkpoint import load_checkpoint, resolve_subject

    ckpt = load_checkpoint(tiny_checkpoint)
    g, subject = ckpt.generator, resolve_subject(ckpt, "1")
    import torch

    from head360.model.checkpoint import subject_planes

    with torch.no_grad():  # an untrained model: make sure this one renders something at all
        assert g.occupancy(subject_planes(g, subject, subject.blend_weights)).any()
    return g, subject


def test_track_renders_to_mp4_with_the_right_frame_count(model, tmp_path):
    g, subject = model
    track = jaw_track(frames=5, fps=8.0)  # 4 intervals of 1/8 s
    states = track_states(track, AnimationRenderConfig(fps=16.0))
    assert len(states) == 9  # 1/2 s at 16 fps, both ends included
    calls = []
    frames = render_states(g, subject, states, AnimationRenderConfig(resolution=32, quality="preview"), calls.append)
    n = write_video(frames, tmp_path / "a.mp4", 16)
    assert n == 9 and len(calls) == 9
    count, size = read_video_frame_count(tmp_path / "a.mp4")
    assert count == 9 and size == (32, 32)


def test_planes_are_built_once_per_head_state(model, monkeypatch):
    import head360.model.checkpoint as ck

    g, subject = model
    built = []
    real = ck.subject_planes
    monkeypatch.setattr(ck, "subject_planes", lambda *a, **k: built.append(1) or real(*a, **k))
    tl = Timeline(duration=1.0, fps=6, loop=True)
    tl.add(Keyframe(0.0, camera=CameraKey(yaw=0)))
    tl.add(Keyframe(1.0, camera=CameraKey(yaw=0, turns=1)))  # only the camera moves
    frames = list(render_states(g, subject, timeline_states(tl), AnimationRenderConfig(resolution=24)))
    assert len(frames) == 6 and len(built) == 1
    assert not np.array_equal(frames[0], frames[3])  # front vs back view


def test_expression_changes_the_frames(model):
    g, subject = model
    states = track_states(jaw_track(frames=5, head=False))
    frames = list(render_states(g, subject, [states[0], states[2]], AnimationRenderConfig(resolution=32)))
    assert np.abs(frames[0].astype(int) - frames[1].astype(int)).max() > 0


def test_orbit_goes_once_around_and_head_pose_turns_the_view():
    track = jaw_track(frames=13, fps=12.0, head=False)
    states = track_states(track, AnimationRenderConfig(orbit=True))
    yaws = [np.degrees(np.arctan2(s.camera.position[0], s.camera.position[2])) for s in states]
    steps = np.diff(np.unwrap(np.radians(yaws)))
    np.testing.assert_allclose(np.degrees(steps), 360.0 / len(states), atol=1e-6)
    # a head turned 30 degrees to its left is seen as from 30 degrees to its right
    cam = camera_with_head_pose(Camera.orbit(0.0), (30.0, 0.0, 0.0))
    assert np.degrees(np.arctan2(cam.position[0], cam.position[2])) == pytest.approx(-30.0)
    assert head_rotation_angles(head_rotation_matrix(12.0, -7.0, 3.0)) == pytest.approx((12.0, -7.0, 3.0))


def test_gif_output(model, tmp_path):
    g, subject = model
    states = track_states(jaw_track(frames=4, fps=10.0))
    cfg = AnimationRenderConfig(resolution=24, quality="preview")
    n = write_video(render_states(g, subject, states, cfg), tmp_path / "a.gif", 10)
    assert read_video_frame_count(tmp_path / "a.gif") == (4, (24, 24)) and n == 4


def test_frames_equal_a_direct_render_of_the_same_state(model):
    import torch

    from head360.model.checkpoint import subject_planes
    from head360.model.generator import to_uint8

    g, subject = model
    st = track_states(jaw_track(frames=5, head=False))[2]
    frame = next(render_states(g, subject, [st], AnimationRenderConfig(resolution=32)))
    with torch.no_grad():
        planes = subject_planes(g, subject, st.weights)
        label = torch.tensor([st.camera.label()], dtype=torch.float32)
        direct = to_uint8(g.render(planes, label, resolution=32)["rgb"][0])
    assert np.abs(frame.astype(int) - direct.astype(int)).max() <= 1


def test_an_exception_from_progress_leaves_no_file(model, tmp_path):
    from head360.anim.render import write_animation

    g, subject = model
    states = track_states(jaw_track(frames=4, head=False))

    def progress(n):
        raise KeyboardInterrupt  # what a cancelled job does: raise from the progress callback

    with pytest.raises(KeyboardInterrupt):
        write_animation(g, subject, states, tmp_path / "a.mp4", 8, AnimationRenderConfig(resolution=16), progress)
    assert list(tmp_path.iterdir()) == []
