"""Keyframed timelines: weights stay in [0, 1], a 360-degree orbit is smooth, codes and hairstyle
channels, editing, playback and the saved file."""

from __future__ import annotations

import json

import numpy as np
import pytest

from head360.anim import interp
from head360.anim.timeline import CameraKey, Keyframe, Timeline
from head360.arkit import index_of
from head360.cameras import Camera
from head360.errors import Head360Error

JAW = index_of("jawOpen")


def _w(**named):
    w = np.zeros(52, np.float32)
    for k, v in named.items():
        w[index_of(k)] = v
    return w


@pytest.mark.parametrize("method", ["monotone", "catmull-rom", "linear"])
@pytest.mark.parametrize("loop", [False, True])
def test_weights_stay_in_0_1_for_overshooting_keys(method, loop):
    tl = Timeline(duration=3.0, loop=loop, weight_interpolation=method)
    # 0 -> 1 -> 1 -> 0 -> 1 quickly, unevenly spaced: a Catmull-Rom curve overshoots these keys
    for t, v in [(0.0, 0.0), (0.2, 1.0), (0.25, 1.0), (1.0, 0.0), (1.05, 1.0), (2.5, 0.02)]:
        tl.add(Keyframe(t, weights=_w(jawOpen=v, eyeBlinkLeft=1 - v)))
    w = tl.weights_at(np.linspace(0, 6, 3001))
    assert w.min() >= 0.0 and w.max() <= 1.0
    raw = interp.sample([0.0, 0.2, 0.25, 1.0, 1.05], np.array([0, 1, 1, 0, 1.0]), np.linspace(0, 1.05, 500), method)
    if method == "catmull-rom":
        assert raw.max() > 1.0  # the unclamped spline does overshoot: the clamp is what keeps it in range
    else:
        assert raw.max() <= 1.0 + 1e-12 and raw.min() >= -1e-12  # monotone / linear never leave the keys
    # the keys themselves are hit exactly
    assert tl.weights_at([0.2])[0, JAW] == pytest.approx(1.0)
    assert tl.weights_at([1.0])[0, JAW] == pytest.approx(0.0)


def test_monotone_weights_are_smooth_between_keys():
    tl = Timeline(duration=2.0, loop=False)
    tl.add(Keyframe(0.0, weights=_w(jawOpen=0.0)))
    tl.add(Keyframe(1.0, weights=_w(jawOpen=0.8)))
    tl.add(Keyframe(2.0, weights=_w(jawOpen=0.3)))
    t = np.linspace(0, 2, 2001)
    jaw = tl.weights_at(t)[:, JAW]
    slope = np.diff(jaw) / np.diff(t)
    assert np.abs(np.diff(slope)).max() < 0.05  # no kinks: the derivative is continuous
    assert np.all(np.diff(jaw[:1000]) >= -1e-7)  # rises monotonically to the peak key


def _yaw_of(cam: Camera) -> float:
    p = cam.position
    return float(np.degrees(np.arctan2(p[0], p[2])))


@pytest.mark.parametrize("loop", [False, True])
def test_a_360_orbit_is_smooth_through_359_to_0(loop):
    tl = Timeline(duration=4.0, loop=loop)
    for t, yaw in [(0, 0), (1, 90), (2, 180), (3, 270), (4, 0)]:  # 270 -> 0 goes forward to 360
        tl.add(Keyframe(float(t), camera=CameraKey(yaw=yaw, pitch=10.0)))
    t = np.linspace(0.0, 4.0, 801)
    pos = np.stack([c.position for c in tl.cameras_at(t)])
    step = np.linalg.norm(np.diff(pos, axis=0), axis=1)
    expected = 2 * np.pi * 7.0 * np.cos(np.radians(10)) / 800  # constant speed around the circle
    np.testing.assert_allclose(step, expected, rtol=2e-3)  # no jump anywhere, including 359 -> 0
    vel = np.diff(pos, axis=0) / np.diff(t)[:, None]
    assert np.linalg.norm(np.diff(vel, axis=0), axis=1).max() < 0.2  # continuous derivative
    yaws = np.degrees(np.unwrap(np.radians([_yaw_of(c) for c in tl.cameras_at(t)])))
    assert yaws[-1] - yaws[0] == pytest.approx(360.0, abs=1e-6)
    assert np.all(np.diff(yaws) > 0)  # always the same way round
    # the camera keeps looking at the target
    for c in tl.cameras_at([0.3, 2.7, 3.99]):
        assert c.cam2world[:3, 2] @ (-c.position / np.linalg.norm(c.position)) == pytest.approx(1.0)


def test_yaw_takes_the_shortest_way_unless_turns_are_keyed():
    tl = Timeline(duration=2.0, loop=False)
    tl.add(Keyframe(0.0, camera=CameraKey(yaw=350.0)))
    tl.add(Keyframe(2.0, camera=CameraKey(yaw=10.0)))
    mid = _yaw_of(tl.cameras_at([1.0])[0])
    assert mid == pytest.approx(0.0, abs=1e-6)  # 350 -> 360=0 -> 10, not back through 180
    tl.add(Keyframe(2.0, camera=CameraKey(yaw=10.0, turns=1)))  # user asks for an extra full turn
    yaws = np.unwrap(np.radians([_yaw_of(c) for c in tl.cameras_at(np.linspace(0, 2, 201))]))
    assert np.degrees(yaws[-1] - yaws[0]) == pytest.approx(380.0, abs=1e-6)


def test_looping_orbit_with_two_keys_and_one_turn():
    tl = Timeline(duration=3.0, loop=True)
    tl.add(Keyframe(0.0, camera=CameraKey(yaw=0.0)))
    tl.add(Keyframe(3.0, camera=CameraKey(yaw=0.0, turns=1)))
    t = np.linspace(0, 6, 601)  # two repetitions
    yaws = np.degrees(np.unwrap(np.radians([_yaw_of(c) for c in tl.cameras_at(t)])))
    np.testing.assert_allclose(np.diff(yaws), 720.0 / 600, rtol=1e-6)


def test_pose_keys_use_rotation_interpolation_not_quaternion_components():
    a = Camera.orbit(-80.0, 0.0).cam2world
    b = Camera.orbit(80.0, 0.0).cam2world
    tl = Timeline(duration=1.0, loop=False)
    tl.add(Keyframe(0.0, camera=CameraKey(cam2world=a)))
    tl.add(Keyframe(1.0, camera=CameraKey(cam2world=b)))
    cams = tl.cameras_at(np.linspace(0, 1, 101))
    for c in cams:
        r = c.cam2world[:3, :3]
        np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-9)  # always a proper rotation
        assert np.linalg.det(r) == pytest.approx(1.0)
    # half way the camera looks straight along -z (the rotation is halfway between the keys' rotations)
    np.testing.assert_allclose(cams[50].cam2world[:3, 2], [0, 0, -1], atol=1e-6)
    # equal angular steps (slerp speed): angle between consecutive rotations is constant
    angles = []
    for c0, c1 in zip(cams[:-1], cams[1:], strict=True):
        rel = c0.cam2world[:3, :3].T @ c1.cam2world[:3, :3]
        angles.append(np.arccos(np.clip((np.trace(rel) - 1) / 2, -1, 1)))
    np.testing.assert_allclose(angles, np.radians(160) / 100, rtol=1e-3)


def test_quaternion_sign_flip_does_not_take_the_long_way():
    q0 = interp.quat_from_matrix(np.eye(3))
    q1 = -interp.quat_from_matrix(Camera.orbit(30.0).cam2world[:3, :3] @ np.diag([1.0, -1, -1]))
    mid = interp.slerp(q0, q1, 0.5)
    angle = 2 * np.degrees(np.arccos(min(1.0, abs(mid[0]))))
    assert angle == pytest.approx(15.0, abs=1e-6)


def test_codes_are_smooth_and_hairstyle_is_stepped():
    tl = Timeline(duration=2.0, loop=False)
    tl.add(Keyframe(0.0, shape_code=np.zeros(50), texture_code=np.zeros(8), hairstyle="bob"))
    tl.add(Keyframe(1.0, shape_code=np.ones(50), hairstyle="none"))
    tl.add(Keyframe(2.0, shape_code=np.zeros(50), texture_code=np.ones(8)))
    s = tl.codes_at("shape_code", np.linspace(0, 2, 201))
    assert s.shape == (201, 50) and s[100, 0] == pytest.approx(1.0)
    assert 0.3 < s[50, 0] < 0.7
    tex = tl.codes_at("texture_code", [1.0])
    assert tex[0, 0] == pytest.approx(0.5)  # texture only keyed at 0 and 2: key 1 is skipped for it
    assert tl.hairstyle_at(0.5) == "bob" and tl.hairstyle_at(0.999) == "bob"
    assert tl.hairstyle_at(1.0) == "none" and tl.hairstyle_at(2.0) == "none"
    state = tl.evaluate(0.25)
    assert state.hairstyle == "bob" and state.weights.shape == (52,) and state.weights.max() == 0.0
    assert state.camera.position[2] == pytest.approx(7.0)  # no camera keys: the front rig camera


def test_add_move_delete():
    tl = Timeline(duration=2.0)
    tl.add(Keyframe(1.0, weights=_w(jawOpen=1.0)))
    tl.add(Keyframe(0.0, weights=_w()))
    assert [k.time for k in tl.keys] == [0.0, 1.0]
    i = tl.add(Keyframe(1.0, camera=CameraKey(yaw=45)))  # same time: merged into the existing key
    assert len(tl.keys) == 2 and tl.keys[i].weights[JAW] == 1.0 and tl.keys[i].camera.yaw == 45
    j = tl.move(i, 0.5)
    assert tl.keys[j].time == 0.5 and tl.weights_at([0.5])[0, JAW] == pytest.approx(1.0)
    with pytest.raises(Head360Error, match="already a key"):
        tl.move(j, 0.0)
    with pytest.raises(Head360Error, match="outside"):
        tl.move(j, 3.0)
    tl.delete(j)
    assert len(tl.keys) == 1 and tl.weights_at([0.5])[0, JAW] == 0.0
    with pytest.raises(Head360Error, match="not in"):
        tl.add(Keyframe(0.3, weights=_w(jawOpen=1.5)))
    with pytest.raises(Head360Error, match="no key"):
        tl.delete(5)


def test_playback_and_frames():
    tl = Timeline(duration=2.0, fps=30, loop=True)
    assert tl.frame_count == 60 and tl.frame_times()[-1] == pytest.approx(59 / 30)
    assert tl.time_at(2.5) == pytest.approx(0.5)
    tl.loop = False
    assert tl.frame_count == 61 and tl.frame_times()[-1] == pytest.approx(2.0)
    assert tl.time_at(2.5) == 2.0


def test_saved_file_reloads_identically(tmp_path):
    rng = np.random.default_rng(3)
    tl = Timeline(duration=5.0, fps=24, loop=True, weight_interpolation="catmull-rom", name="demo", subject="1")
    for t in (0.0, 1.3, 2.9, 5.0):
        tl.add(Keyframe(t, weights=rng.random(52).astype(np.float32), camera=CameraKey(yaw=t * 70, turns=int(t > 4))))
    tl.add(Keyframe(2.0, shape_code=rng.normal(size=50), texture_code=rng.normal(size=16), hairstyle="bob"))
    tl.add(Keyframe(4.0, camera=CameraKey(cam2world=Camera.orbit(30, 10).cam2world)))
    tl.save(tmp_path / "a.json")
    back = Timeline.load(tmp_path / "a.json")
    assert back.to_json() == tl.to_json()
    t = np.linspace(0, 7, 97)
    np.testing.assert_array_equal(back.weights_at(t), tl.weights_at(t))
    np.testing.assert_array_equal(back.codes_at("shape_code", t), tl.codes_at("shape_code", t))
    for a, b in zip(back.cameras_at(t), tl.cameras_at(t), strict=True):
        np.testing.assert_array_equal(a.cam2world, b.cam2world)
    data = json.loads((tmp_path / "a.json").read_text())
    assert data["format"] == "head360-animation" and data["version"] == 1
    assert not list(tmp_path.glob(".*part*"))  # atomic write left nothing behind


def test_bad_animation_files(tmp_path):
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(Head360Error, match="not a Head360 animation"):
        Timeline.load(tmp_path / "x.json")
    (tmp_path / "v.json").write_text(json.dumps({"format": "head360-animation", "version": 99, "duration": 1}))
    with pytest.raises(Head360Error, match="version"):
        Timeline.load(tmp_path / "v.json")
    with pytest.raises(Head360Error, match="not found"):
        Timeline.load(tmp_path / "nope.json")
    with pytest.raises(Head360Error, match="duration"):
        Timeline(duration=0)


def test_a_looping_360_path_of_full_pose_keys_is_smooth():
    tl = Timeline(duration=4.0, loop=True)
    for t, yaw in enumerate((0, 90, 180, 270)):
        tl.add(Keyframe(float(t), camera=CameraKey(cam2world=Camera.orbit(yaw, 15.0).cam2world)))
    t = np.linspace(0.0, 8.0, 1601)
    cams = tl.cameras_at(t)
    rot = np.stack([c.cam2world[:3, :3] for c in cams])
    pos = np.stack([c.position for c in cams])
    # angle turned between consecutive frames: never a jump, and varying smoothly (also across 4 s -> 0 s)
    rel = np.einsum("nji,njk->nik", rot[:-1], rot[1:])
    ang = np.arccos(np.clip((np.trace(rel, axis1=1, axis2=2) - 1) / 2, -1, 1))
    assert ang.max() < 2.0 * (np.radians(360) / 800)
    assert np.abs(np.diff(ang)).max() < 0.02 * ang.mean()
    step = np.linalg.norm(np.diff(pos, axis=0), axis=1)
    assert step.max() < 1.5 * step.mean() and np.abs(np.diff(step)).max() < 0.02 * step.mean()


def test_from_track_keys_weights_and_head_motion():
    from head360.anim.arkit_io import WeightTrack

    w = np.zeros((5, 52), np.float32)
    w[:, JAW] = [0, 0.5, 1, 0.5, 0]
    rot = np.zeros((5, 3), np.float32)
    rot[:, 0] = [0, 10, 20, 10, 0]  # the head turns to its left and back
    tl = Timeline.from_track(WeightTrack.from_frames(w, fps=10, head_rotation=rot))
    assert tl.duration == pytest.approx(0.4) and len(tl.keys) == 5 and not tl.loop
    assert tl.weights_at([0.2])[0, JAW] == pytest.approx(1.0)
    yaw = tl.orbit_at([0.0, 0.2])[:, 0]
    assert yaw[0] == pytest.approx(0.0, abs=1e-6) and yaw[1] == pytest.approx(-20.0, abs=1e-4)
    still = Timeline.from_track(WeightTrack.from_frames(w, fps=10, head_rotation=rot), head_pose=False)
    assert still.orbit_at(0) is None


def test_orbit_at_matches_the_cameras():
    tl = Timeline(duration=2.0, loop=True)
    tl.add(Keyframe(0.0, camera=CameraKey(yaw=300, pitch=10, radius=6)))
    tl.add(Keyframe(1.0, camera=CameraKey(yaw=60, pitch=-10, radius=8)))
    t = np.linspace(0, 2, 9)
    params = tl.orbit_at(t)
    for p, cam in zip(params, tl.cameras_at(t), strict=True):
        np.testing.assert_allclose(Camera.orbit(p[0], p[1], p[2], p[3:6], p[6]).cam2world, cam.cam2world, atol=1e-9)
