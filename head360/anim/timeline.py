"""A keyframed animation of one head: blendshape weights, shape / texture codes, hairstyle and camera.

Each :class:`Keyframe` sets any subset of the channels at one time; a channel is interpolated between
the keys that set it (keys that leave a channel unset are skipped for that channel):

* blendshape weights [52]: cubic, "monotone" by default (Fritsch-Carlson: never overshoots, so the
  curve stays inside the keyed range) or "catmull-rom" / "linear" / "step"; always clamped to [0, 1];
* shape code [S] and texture code [Zt]: cubic ("catmull-rom" by default: codes are unbounded);
* hairstyle: stepped (holds until the next key that sets it);
* camera: orbit keys (yaw, pitch, radius, target, focal) interpolate the angles, with yaw unwrapped
  along the shortest way from the previous key plus ``turns`` extra full turns (so 0 -> 90 -> 180 ->
  270 -> 0 is one smooth 360-degree orbit); if any key is a full pose (``cam2world``), all camera keys
  are treated as poses: positions by Catmull-Rom, rotations by squad (quaternion slerp of slerps),
  never by interpolating quaternion components.

With ``loop`` on, the animation repeats every ``duration`` seconds and every channel is smooth across
the loop point (a key at ``duration`` is the first key's next repetition, e.g. an orbit keyed
yaw 0 at t=0 and yaw 0 with one turn at t=duration).

Saved as JSON (``head360-animation``, version 1), written atomically; loading gives back exactly the
same timeline (float32 values written with full precision).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from head360.anim import interp
from head360.arkit import ARKIT_NAMES, NUM_BLENDSHAPES, canonical_name
from head360.cameras import CAMERA_RADIUS, FOCAL, Camera, camera_with_head_pose
from head360.errors import Head360Error
from head360.fileio import write_text

FORMAT = "head360-animation"
VERSION = 1
WEIGHT_METHODS = ("monotone", "catmull-rom", "linear", "step")
CODE_METHODS = ("catmull-rom", "monotone", "linear", "step")
_TIME_EPS = 1e-6


@dataclass
class CameraKey:
    """A keyed camera. Orbit form (default): ``yaw``/``pitch`` in degrees (head360.cameras
    conventions: yaw 0 = front, 90 = the subject's left side; pitch > 0 above), ``radius`` (world
    units), ``target`` [3], ``focal`` (normalised). ``turns``: extra full turns taken on the way into
    this key (positive = increasing yaw; on the first key of a looping timeline: on the way back to
    it). Pose form: ``cam2world`` [4, 4] OpenCV camera-to-world (then yaw/pitch/radius/target/turns
    are ignored)."""

    yaw: float = 0.0
    pitch: float = 0.0
    radius: float = CAMERA_RADIUS
    target: tuple[float, float, float] = (0.0, 0.0, 0.0)
    focal: float = FOCAL
    turns: int = 0
    cam2world: np.ndarray | None = None

    @property
    def is_pose(self) -> bool:
        return self.cam2world is not None

    def camera(self) -> Camera:
        if self.is_pose:
            return Camera(np.asarray(self.cam2world, np.float64), self.focal)
        return Camera.orbit(self.yaw, self.pitch, self.radius, self.target, self.focal)

    def to_json(self) -> dict:
        if self.is_pose:
            return {"cam2world": np.asarray(self.cam2world, np.float64).tolist(), "focal": float(self.focal)}
        return {
            "yaw": float(self.yaw),
            "pitch": float(self.pitch),
            "radius": float(self.radius),
            "target": [float(x) for x in self.target],
            "focal": float(self.focal),
            "turns": int(self.turns),
        }

    @staticmethod
    def from_json(d: dict) -> CameraKey:
        try:
            if "cam2world" in d:
                m = np.asarray(d["cam2world"], np.float64)
                if m.shape != (4, 4):
                    raise Head360Error(f"a camera key's cam2world must be 4x4, got shape {m.shape}")
                return CameraKey(cam2world=m, focal=float(d.get("focal", FOCAL)))
            return CameraKey(
                yaw=float(d.get("yaw", 0.0)),
                pitch=float(d.get("pitch", 0.0)),
                radius=float(d.get("radius", CAMERA_RADIUS)),
                target=tuple(float(x) for x in d.get("target", (0.0, 0.0, 0.0))),
                focal=float(d.get("focal", FOCAL)),
                turns=int(d.get("turns", 0)),
            )
        except (TypeError, ValueError) as e:
            raise Head360Error(f"a camera key in the animation file is malformed ({e})") from e

    def validate(self) -> CameraKey:
        if not self.is_pose:
            if not (math.isfinite(self.yaw) and math.isfinite(self.pitch)):
                raise Head360Error("camera yaw and pitch must be finite numbers")
            if not self.radius > 0:
                raise Head360Error(f"camera radius must be positive, got {self.radius:g}")
            if len(self.target) != 3:
                raise Head360Error("camera target must have 3 coordinates")
        if not self.focal > 0:
            raise Head360Error(f"camera focal must be positive, got {self.focal:g}")
        return self


@dataclass
class Keyframe:
    """Channels keyed at ``time`` (seconds); ``None`` leaves a channel unkeyed here.

    weights [52] in [0, 1] (ARKit order), shape_code [S], texture_code [Zt], hairstyle (a name, or
    "none" for no hair), camera (:class:`CameraKey`)."""

    time: float
    weights: np.ndarray | None = None
    shape_code: np.ndarray | None = None
    texture_code: np.ndarray | None = None
    hairstyle: str | None = None
    camera: CameraKey | None = None

    def channels(self) -> tuple[str, ...]:
        names = ("weights", "shape_code", "texture_code", "hairstyle", "camera")
        return tuple(n for n in names if getattr(self, n) is not None)

    def validate(self) -> Keyframe:
        if not math.isfinite(self.time):
            raise Head360Error(f"keyframe time must be a finite number of seconds, got {self.time}")
        if self.weights is not None:
            w = np.asarray(self.weights, np.float32)
            if w.shape != (NUM_BLENDSHAPES,):
                raise Head360Error(f"keyframe weights must have {NUM_BLENDSHAPES} values, got shape {w.shape}")
            if not np.all(np.isfinite(w)) or w.min() < 0.0 or w.max() > 1.0:
                bad = int(np.argmax(~np.isfinite(w) | (w < 0) | (w > 1)))
                raise Head360Error(
                    f"blendshape weight {ARKIT_NAMES[bad]}={w[bad]:g} at t={self.time:g}s is not in [0, 1]"
                )
            self.weights = w
        for name in ("shape_code", "texture_code"):
            v = getattr(self, name)
            if v is not None:
                v = np.asarray(v, np.float32).reshape(-1)
                if not np.all(np.isfinite(v)):
                    raise Head360Error(f"keyframe {name} at t={self.time:g}s has non-finite values")
                setattr(self, name, v)
        if self.hairstyle is not None:
            self.hairstyle = str(self.hairstyle)
        if self.camera is not None:
            self.camera.validate()
        return self

    def to_json(self) -> dict:
        d: dict = {"time": float(self.time)}
        if self.weights is not None:
            d["weights"] = {n: float(w) for n, w in zip(ARKIT_NAMES, np.asarray(self.weights, np.float32), strict=True)}
        if self.shape_code is not None:
            d["shape_code"] = [float(x) for x in np.asarray(self.shape_code, np.float32)]
        if self.texture_code is not None:
            d["texture_code"] = [float(x) for x in np.asarray(self.texture_code, np.float32)]
        if self.hairstyle is not None:
            d["hairstyle"] = self.hairstyle
        if self.camera is not None:
            d["camera"] = self.camera.to_json()
        return d

    @staticmethod
    def from_json(d: dict) -> Keyframe:
        if not isinstance(d, dict) or "time" not in d:
            raise Head360Error("every key in an animation file needs a 'time'")
        weights = None
        if "weights" in d:
            raw = d["weights"]
            weights = np.zeros(NUM_BLENDSHAPES, np.float32)
            if isinstance(raw, dict):
                for name, value in raw.items():
                    weights[ARKIT_NAMES.index(canonical_name(name))] = float(value)
            else:
                weights = np.asarray(raw, np.float32)
        try:
            key = Keyframe(
                time=float(d["time"]),
                weights=weights,
                shape_code=None if d.get("shape_code") is None else np.asarray(d["shape_code"], np.float32),
                texture_code=None if d.get("texture_code") is None else np.asarray(d["texture_code"], np.float32),
                hairstyle=d.get("hairstyle"),
                camera=None if d.get("camera") is None else CameraKey.from_json(d["camera"]),
            )
        except (TypeError, ValueError) as e:
            raise Head360Error(f"a key in the animation file is malformed ({e})") from e
        return key.validate()


@dataclass
class FrameState:
    """Everything a renderer needs for one instant of a timeline.

    weights [52] float32 in [0, 1]; shape_code [S] / texture_code [Zt] float32 or None (not keyed: use
    the subject's); hairstyle: a name, "none" (no hair) or None (not keyed: the subject's); camera."""

    time: float
    weights: np.ndarray
    shape_code: np.ndarray | None
    texture_code: np.ndarray | None
    hairstyle: str | None
    camera: Camera


@dataclass
class Timeline:
    """Keyframes of one head over ``duration`` seconds, played at ``fps``, looping or not.

    Edit with :meth:`add`, :meth:`move`, :meth:`delete` (they keep the keys sorted by time and the
    cached channel curves up to date); read with :meth:`evaluate` / :meth:`weights_at`."""

    duration: float = 4.0
    fps: float = 30.0
    loop: bool = True
    weight_interpolation: str = "monotone"
    code_interpolation: str = "catmull-rom"
    name: str = ""
    subject: str | None = None
    """Optional default head for renders: a checkpoint subject index or a ``.h360`` path."""
    _keys: list[Keyframe] = field(default_factory=list, repr=False)
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.validate_settings()
        keys, self._keys = list(self._keys), []
        for k in keys:
            self.add(k)

    # --- settings ----------------------------------------------------------------------------
    def validate_settings(self) -> Timeline:
        if not (math.isfinite(self.duration) and self.duration > 0):
            raise Head360Error(f"animation duration must be a positive number of seconds, got {self.duration}")
        if not (math.isfinite(self.fps) and 0 < self.fps <= 1000):
            raise Head360Error(f"animation fps must be between 0 and 1000, got {self.fps}")
        if self.weight_interpolation not in WEIGHT_METHODS:
            raise Head360Error(
                f"unknown weight interpolation '{self.weight_interpolation}'; choose {', '.join(WEIGHT_METHODS)}"
            )
        if self.code_interpolation not in CODE_METHODS:
            raise Head360Error(
                f"unknown code interpolation '{self.code_interpolation}'; choose {', '.join(CODE_METHODS)}"
            )
        self._cache.clear()
        return self

    def set_duration(self, duration: float) -> None:
        """Change the length; keys after the new end are refused (move or delete them first)."""
        late = [k.time for k in self._keys if k.time > duration + _TIME_EPS]
        if late:
            raise Head360Error(f"{len(late)} key(s) lie after {duration:g}s (last at {max(late):g}s); move them first")
        self.duration = float(duration)
        self.validate_settings()

    # --- keys --------------------------------------------------------------------------------
    @property
    def keys(self) -> tuple[Keyframe, ...]:
        """The keyframes sorted by time (read-only view: edit through add / move / delete)."""
        return tuple(self._keys)

    def index_at(self, time: float, tolerance: float = 0.5e-3) -> int | None:
        """Index of the key at ``time`` (within ``tolerance`` seconds), or None."""
        for i, k in enumerate(self._keys):
            if abs(k.time - time) <= tolerance:
                return i
        return None

    def add(self, key: Keyframe, merge: bool = True) -> int:
        """Insert a key; returns its index. A key already at that time gets the new key's channels
        (``merge``) or is replaced by it. Times must lie in [0, duration]."""
        key = replace(key).validate()
        self._check_time(key.time)
        i = self.index_at(key.time)
        if i is not None:
            if merge:
                old = self._keys[i]
                for name in key.channels():
                    setattr(old, name, getattr(key, name))
                key = old
            self._keys[i] = key
        else:
            self._keys.append(key)
        self._keys.sort(key=lambda k: k.time)
        self._cache.clear()
        return self._keys.index(key)

    def move(self, index: int, new_time: float) -> int:
        """Move key ``index`` to ``new_time`` (refused onto another key's time); returns its new index."""
        key = self._key(index)
        self._check_time(new_time)
        other = self.index_at(new_time)
        if other is not None and other != index:
            raise Head360Error(f"there is already a key at {new_time:g}s; delete it or pick another time")
        key.time = float(new_time)
        self._keys.sort(key=lambda k: k.time)
        self._cache.clear()
        return self._keys.index(key)

    def delete(self, index: int) -> Keyframe:
        key = self._key(index)
        del self._keys[index]
        self._cache.clear()
        return key

    def _key(self, index: int) -> Keyframe:
        if not 0 <= index < len(self._keys):
            raise Head360Error(f"no key {index}: the timeline has {len(self._keys)} key(s)")
        return self._keys[index]

    def _check_time(self, t: float) -> None:
        if not (math.isfinite(t) and -_TIME_EPS <= t <= self.duration + _TIME_EPS):
            raise Head360Error(f"key time {t:g}s is outside the animation (0..{self.duration:g}s)")

    # --- playback ----------------------------------------------------------------------------
    @property
    def frame_count(self) -> int:
        """Frames of one play-through: a loop has no frame at ``duration`` (it is frame 0 again)."""
        n = int(round(self.duration * self.fps))
        return max(1, n) if self.loop else n + 1

    def frame_times(self) -> np.ndarray:
        """Times [frame_count] of the frames of one play-through, ``i / fps``."""
        return np.minimum(np.arange(self.frame_count, dtype=np.float64) / self.fps, self.duration)

    def time_at(self, elapsed: float) -> float:
        """Timeline time after ``elapsed`` seconds of playback: wraps when looping, else stops at the end."""
        if self.loop:
            return float(elapsed % self.duration)
        return float(min(max(elapsed, 0.0), self.duration))

    # --- evaluation --------------------------------------------------------------------------
    def keyed_channels(self) -> set[str]:
        """Names of the channels some key sets ("weights", "shape_code", "texture_code", "hairstyle",
        "camera"): a player leaves the others (e.g. the viewport camera) to the user."""
        return {name for k in self._keys for name in k.channels()}

    @property
    def _period(self) -> float | None:
        return self.duration if self.loop else None

    def _channel(self, name: str) -> tuple[np.ndarray, np.ndarray] | None:
        keys = [k for k in self._keys if getattr(k, name) is not None]
        if not keys:
            return None
        times = np.array([k.time for k in keys], np.float64)
        values = [np.asarray(getattr(k, name), np.float32) for k in keys]
        sizes = {v.shape for v in values}
        if len(sizes) > 1:
            raise Head360Error(f"the keys' {name.replace('_', ' ')}s have different lengths {sorted(sizes)}")
        return times, np.stack(values).astype(np.float64)

    def weights_at(self, times) -> np.ndarray:
        """Blendshape weights [N, 52] float32 at times [N] (zeros where no key sets weights)."""
        t = np.atleast_1d(np.asarray(times, np.float64))
        ch = self._channel("weights")
        if ch is None:
            return np.zeros((len(t), NUM_BLENDSHAPES), np.float32)
        w = interp.sample(ch[0], ch[1], t, self.weight_interpolation, self._period)
        return np.clip(w, 0.0, 1.0).astype(np.float32)

    def codes_at(self, name: str, times) -> np.ndarray | None:
        """``shape_code`` or ``texture_code`` [N, D] at times [N], None where never keyed."""
        ch = self._channel(name)
        if ch is None:
            return None
        t = np.atleast_1d(np.asarray(times, np.float64))
        return interp.sample(ch[0], ch[1], t, self.code_interpolation, self._period).astype(np.float32)

    def hairstyle_at(self, time: float) -> str | None:
        """Stepped: the last key at or before ``time`` that sets a hairstyle (looping: before the first
        such key, the last one of the previous repetition); None if never keyed."""
        keyed = [k for k in self._keys if k.hairstyle is not None]
        if not keyed:
            return None
        t = self.time_at(time) if self.loop else time
        before = [k for k in keyed if k.time <= t + _TIME_EPS]
        if before:
            return before[-1].hairstyle
        return keyed[-1].hairstyle if self.loop else keyed[0].hairstyle

    def cameras_at(self, times) -> list[Camera]:
        """Cameras at times [N] (the front rig camera where no key sets a camera)."""
        t = np.atleast_1d(np.asarray(times, np.float64))
        keys = [k for k in self._keys if k.camera is not None]
        if not keys:
            return [Camera.orbit(0.0) for _ in t]
        times_k = np.array([k.time for k in keys], np.float64)
        cams = [k.camera for k in keys]
        if any(c.is_pose for c in cams):
            return _pose_path(times_k, cams, t, self._period)
        return _orbit_path(times_k, cams, t, self._period)

    def orbit_at(self, times) -> np.ndarray | None:
        """Orbit parameters [N, 7] (yaw, pitch, radius, target x, y, z, focal) of the camera at times
        [N] for a viewer that drives an orbit camera; None if no key sets a camera. Pose keys are
        reduced to the orbit around the origin that passes through the camera (their roll is lost)."""
        t = np.atleast_1d(np.asarray(times, np.float64))
        keys = [k for k in self._keys if k.camera is not None]
        if not keys:
            return None
        times_k = np.array([k.time for k in keys], np.float64)
        cams = [k.camera for k in keys]
        if not any(c.is_pose for c in cams):
            return _orbit_values(times_k, cams, t, self._period)
        out = []
        for c in _pose_path(times_k, cams, t, self._period):
            p = c.position
            r = float(np.linalg.norm(p))
            yaw = math.degrees(math.atan2(p[0], p[2]))
            pitch = math.degrees(math.asin(max(-1.0, min(1.0, p[1] / max(r, 1e-9)))))
            out.append([yaw, pitch, r, 0.0, 0.0, 0.0, c.focal])
        return np.array(out)

    def evaluate(self, time: float) -> FrameState:
        """The state of every channel at ``time`` seconds."""
        t = np.array([float(time)])
        shape = self.codes_at("shape_code", t)
        texture = self.codes_at("texture_code", t)
        return FrameState(
            time=float(time),
            weights=self.weights_at(t)[0],
            shape_code=None if shape is None else shape[0],
            texture_code=None if texture is None else texture[0],
            hairstyle=self.hairstyle_at(float(time)),
            camera=self.cameras_at(t)[0],
        )

    def evaluate_frames(self, times=None) -> list[FrameState]:
        """States at ``times`` (default: every frame of one play-through), computed channel-wise."""
        t = self.frame_times() if times is None else np.atleast_1d(np.asarray(times, np.float64))
        w = self.weights_at(t)
        shape = self.codes_at("shape_code", t)
        texture = self.codes_at("texture_code", t)
        cams = self.cameras_at(t)
        return [
            FrameState(
                float(ti),
                w[i],
                None if shape is None else shape[i],
                None if texture is None else texture[i],
                self.hairstyle_at(float(ti)),
                cams[i],
            )
            for i, ti in enumerate(t)
        ]

    # --- io ----------------------------------------------------------------------------------
    def to_json(self) -> dict:
        return {
            "format": FORMAT,
            "version": VERSION,
            "name": self.name,
            "duration": float(self.duration),
            "fps": float(self.fps),
            "loop": bool(self.loop),
            "interpolation": {"weights": self.weight_interpolation, "codes": self.code_interpolation},
            "subject": self.subject,
            "keys": [k.to_json() for k in self._keys],
        }

    @staticmethod
    def from_json(d: dict) -> Timeline:
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise Head360Error(
                f"not a Head360 animation file (format {d.get('format') if isinstance(d, dict) else None!r}, "
                f"expected '{FORMAT}'); save one from the studio's Timeline panel"
            )
        version = d.get("version")
        if version != VERSION:
            raise Head360Error(f"animation file version {version!r} is not supported (this Head360 reads {VERSION})")
        try:
            inter = d.get("interpolation", {})
            tl = Timeline(
                duration=float(d["duration"]),
                fps=float(d.get("fps", 30.0)),
                loop=bool(d.get("loop", True)),
                weight_interpolation=str(inter.get("weights", "monotone")),
                code_interpolation=str(inter.get("codes", "catmull-rom")),
                name=str(d.get("name", "")),
                subject=d.get("subject"),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise Head360Error(f"the animation file's settings are malformed ({e})") from e
        for kd in d.get("keys", []):
            tl.add(Keyframe.from_json(kd), merge=False)
        return tl

    def save(self, path: str | Path) -> None:
        """Write the timeline as JSON (atomically)."""
        path = Path(path)
        if path.suffix.lower() != ".json":
            raise Head360Error(f"animation files are .json, got '{path.name}'")
        write_text(path, json.dumps(self.to_json(), indent=1))

    @staticmethod
    def load(path: str | Path) -> Timeline:
        path = Path(path)
        if not path.is_file():
            raise Head360Error(f"animation file '{path}' not found")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise Head360Error(f"'{path}' is not a JSON animation file ({e})") from e
        return Timeline.from_json(data)

    # --- conversions -------------------------------------------------------------------------
    @staticmethod
    def from_track(
        track,
        name: str = "",
        loop: bool = False,
        every: int = 1,
        head_pose: bool = True,
        camera: CameraKey | None = None,
    ) -> Timeline:
        """A timeline with a key on every ``every``-th frame of a :class:`WeightTrack` (video-driven
        or imported ARKit data), played at the track's fps: the weights, and with ``head_pose`` (when
        the track has head rotation) a full-pose camera key that shows the head turned as recorded,
        seen from ``camera`` (default: the front rig camera)."""
        if len(track) == 0:
            raise Head360Error("the weight track has no frames")
        times = track.times - track.times[0]
        duration = float(times[-1]) if len(times) > 1 else 1.0 / track.fps
        if loop:
            duration += 1.0 / track.fps
        tl = Timeline(duration=max(duration, 1e-3), fps=track.fps, loop=loop, name=name)
        idx = list(range(0, len(track), max(1, every)))
        if idx[-1] != len(track) - 1:
            idx.append(len(track) - 1)
        base = (camera or CameraKey()).validate()
        use_pose = head_pose and track.head_rotation is not None
        for i in idx:
            key = Keyframe(float(times[i]), weights=np.clip(track.weights[i], 0, 1).astype(np.float32))
            if use_pose:
                cam = camera_with_head_pose(base.camera(), track.head_rotation[i])
                key.camera = CameraKey(cam2world=cam.cam2world, focal=cam.focal)
            tl._keys.append(key)
        tl._cache.clear()
        return tl


def _orbit_values(times: np.ndarray, cams: list[CameraKey], t: np.ndarray, period: float | None) -> np.ndarray:
    """[N, 7]: yaw (continuous, degrees), pitch, radius, target x, y, z, focal at times t."""
    yaw = interp.unwrap_yaw([c.yaw for c in cams], [c.turns for c in cams])
    closure = None
    if period is not None:
        # looping back from the last key to the first: shortest way plus the first key's turns
        back = yaw[-1] + interp.wrap_degrees(yaw[0] - yaw[-1]) + 360.0 * cams[0].turns
        closure = np.array([back - yaw[0], 0, 0, 0, 0, 0, 0])
    values = np.stack(
        [
            yaw,
            [c.pitch for c in cams],
            np.log([c.radius for c in cams]),
            [c.target[0] for c in cams],
            [c.target[1] for c in cams],
            [c.target[2] for c in cams],
            np.log([c.focal for c in cams]),
        ],
        axis=1,
    )
    v = interp.sample(times, values, t, "catmull-rom", period, closure)
    v[:, 2] = np.exp(v[:, 2])
    v[:, 6] = np.exp(v[:, 6])
    return v


def _orbit_path(times: np.ndarray, cams: list[CameraKey], t: np.ndarray, period: float | None) -> list[Camera]:
    v = _orbit_values(times, cams, t, period)
    return [Camera.orbit(r[0], r[1], r[2], (r[3], r[4], r[5]), r[6]) for r in v]


def _pose_path(times: np.ndarray, cams: list[CameraKey], t: np.ndarray, period: float | None) -> list[Camera]:
    mats = np.stack([c.camera().cam2world for c in cams])  # [K, 4, 4]
    quats = interp.quat_from_matrix(mats[:, :3, :3])
    pos_focal = np.concatenate([mats[:, :3, 3], np.log([[c.focal] for c in cams])], axis=1)
    qt = times
    if period is not None:
        pos_focal_t = interp.sample(times, pos_focal, t, "catmull-rom", period)
        # rotations: repeat the keys over three periods (no gain: the loop returns to the first pose)
        if len(times) >= 2 and abs(times[-1] - times[0] - period) <= 1e-9 * max(1.0, period):
            qt, quats = times[:-1], quats[:-1]
        qt = np.concatenate([qt - period, qt, qt + period])
        quats = np.concatenate([quats, quats, quats])
        t = np.mod(t, period)
    else:
        pos_focal_t = interp.sample(times, pos_focal, t, "catmull-rom")
    rots = interp.matrix_from_quat(interp.squad(qt, quats, t))
    out = []
    for r, pf in zip(rots, pos_focal_t, strict=True):
        m = np.eye(4)
        m[:3, :3], m[:3, 3] = r, pf[:3]
        out.append(Camera(m, math.exp(pf[3])))
    return out
