"""Per-frame ARKit blendshape weights in and out: a JSON schema of our own and the CSV layout that
Epic's Live Link Face app records.

JSON (``head360-arkit-weights``, version 1; what :func:`write_json` writes)::

    {
      "format": "head360-arkit-weights", "version": 1,
      "fps": 30.0,                         # nominal frame rate
      "frames": [
        {"time": 0.0,                      # seconds from the first frame (optional: i / fps)
         "weights": {"eyeBlinkLeft": 0.0, ..., "tongueOut": 0.0},   # the 52 ARKit names
         "head_rotation": {"yaw": 0.0, "pitch": 0.0, "roll": 0.0}}, # degrees, optional
        ...
      ]
    }

Reading is lenient where it is safe: names are matched case-insensitively, ``weights`` may also be a
list of 52 numbers in ARKit order (then ``"blendshapes"`` at the top level may give another order),
``time`` may be missing (frames are then ``1 / fps`` apart), ``head_rotation`` may be ``[yaw, pitch,
roll]``.

Live Link Face CSV: the header is ``Timecode,BlendShapeCount,`` then the 52 names in PascalCase in the
app's own order (which differs from ARKit's: ``JawForward,JawRight,JawLeft``,
``MouthRight,MouthLeft``), then ``HeadYaw,HeadPitch,HeadRoll,LeftEyeYaw,LeftEyePitch,LeftEyeRoll,
RightEyeYaw,RightEyePitch,RightEyeRoll``; ``BlendShapeCount`` is 61. ``Timecode`` is
``HH:MM:SS:FF.sss``: FF is the frame number at the recording rate (60 by default, 30 selectable) and
``.sss`` a fraction of a frame. Columns are always matched by NAME, never by position. Timecodes give
the playback times (relative to the first row). Head and eye rotations are read as radians (what the
app records) and kept in degrees; writing converts back.

Everything unusual in a file (unknown or missing columns, weights outside [0, 1], NaNs, bad rows) is
fixed in a documented way and listed in the :class:`ImportReport` that every reader returns.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from head360.arkit import ARKIT_NAMES, NUM_BLENDSHAPES, canonical_name
from head360.errors import Head360Error
from head360.fileio import write_text

JSON_FORMAT = "head360-arkit-weights"
JSON_VERSION = 1
TRACK_SUFFIXES = (".json", ".csv")

LIVE_LINK_ORDER: tuple[str, ...] = (
    "EyeBlinkLeft", "EyeLookDownLeft", "EyeLookInLeft", "EyeLookOutLeft", "EyeLookUpLeft",
    "EyeSquintLeft", "EyeWideLeft",
    "EyeBlinkRight", "EyeLookDownRight", "EyeLookInRight", "EyeLookOutRight", "EyeLookUpRight",
    "EyeSquintRight", "EyeWideRight",
    "JawForward", "JawRight", "JawLeft", "JawOpen",
    "MouthClose", "MouthFunnel", "MouthPucker", "MouthRight", "MouthLeft",
    "MouthSmileLeft", "MouthSmileRight", "MouthFrownLeft", "MouthFrownRight",
    "MouthDimpleLeft", "MouthDimpleRight", "MouthStretchLeft", "MouthStretchRight",
    "MouthRollLower", "MouthRollUpper", "MouthShrugLower", "MouthShrugUpper",
    "MouthPressLeft", "MouthPressRight", "MouthLowerDownLeft", "MouthLowerDownRight",
    "MouthUpperUpLeft", "MouthUpperUpRight",
    "BrowDownLeft", "BrowDownRight", "BrowInnerUp", "BrowOuterUpLeft", "BrowOuterUpRight",
    "CheekPuff", "CheekSquintLeft", "CheekSquintRight",
    "NoseSneerLeft", "NoseSneerRight",
    "TongueOut",
)  # fmt: skip
"""The 52 blendshape columns as Live Link Face writes them (names and order)."""
assert sorted(n.lower() for n in LIVE_LINK_ORDER) == sorted(n.lower() for n in ARKIT_NAMES)

HEAD_COLUMNS = ("HeadYaw", "HeadPitch", "HeadRoll")
EYE_COLUMNS = ("LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll", "RightEyeYaw", "RightEyePitch", "RightEyeRoll")
LIVE_LINK_HEADER: tuple[str, ...] = ("Timecode", "BlendShapeCount") + LIVE_LINK_ORDER + HEAD_COLUMNS + EYE_COLUMNS
BLEND_SHAPE_COUNT = len(LIVE_LINK_ORDER) + len(HEAD_COLUMNS) + len(EYE_COLUMNS)  # 61
DEFAULT_TIMECODE_FPS = 60.0
MAX_FRAMES = 200_000
"""Longest take read (55 minutes at 60 fps); a longer file is refused while it is read."""
MAX_JSON_BYTES = 256 * 1024 * 1024
"""JSON is parsed whole: larger weight files are refused before reading (use CSV for long takes)."""


@dataclass
class WeightTrack:
    """A performance: one row per frame.

    times:         [N] float64 seconds, non-decreasing, starting at 0
    weights:       [N, 52] float32 in [0, 1], ARKit order (``head360.arkit.ARKIT_NAMES``)
    head_rotation: [N, 3] float32 degrees (yaw, pitch, roll) or None
    eye_rotation:  [N, 6] float32 degrees (left yaw, pitch, roll, right yaw, pitch, roll) or None
    fps:           nominal frame rate (what the times were sampled at)
    """

    times: np.ndarray
    weights: np.ndarray
    fps: float = 30.0
    head_rotation: np.ndarray | None = None
    eye_rotation: np.ndarray | None = None
    source: str = ""

    def __post_init__(self) -> None:
        self.times = np.asarray(self.times, np.float64).reshape(-1)
        self.weights = np.asarray(self.weights, np.float32).reshape(-1, NUM_BLENDSHAPES)
        n = len(self.times)
        if self.weights.shape[0] != n:
            raise Head360Error(f"{n} times for {self.weights.shape[0]} weight rows")
        for name, width in (("head_rotation", 3), ("eye_rotation", 6)):
            value = getattr(self, name)
            if value is not None:
                value = np.asarray(value, np.float32).reshape(-1, width)
                if value.shape[0] != n:
                    raise Head360Error(f"{n} frames but {value.shape[0]} rows of {name}")
                setattr(self, name, value)
        if not (math.isfinite(self.fps) and self.fps > 0):
            raise Head360Error(f"frame rate must be positive, got {self.fps}")

    def __len__(self) -> int:
        return len(self.times)

    @property
    def duration(self) -> float:
        return float(self.times[-1] - self.times[0]) if len(self) else 0.0

    @staticmethod
    def from_frames(weights, fps: float = 30.0, head_rotation=None, source: str = "") -> WeightTrack:
        """Frames evenly ``1 / fps`` apart: weights [N, 52], head_rotation [N, 3] degrees or None."""
        weights = np.asarray(weights, np.float32).reshape(-1, NUM_BLENDSHAPES)
        return WeightTrack(np.arange(len(weights)) / float(fps), weights, fps, head_rotation, None, source)

    def weight(self, name: str) -> np.ndarray:
        """One blendshape's curve [N] (any capitalisation of its name)."""
        return self.weights[:, ARKIT_NAMES.index(canonical_name(name))]

    def sample(self, t) -> tuple[np.ndarray, np.ndarray | None]:
        """Linear interpolation at times t [M] -> (weights [M, 52], head_rotation [M, 3] or None);
        held constant outside the track."""
        t = np.atleast_1d(np.asarray(t, np.float64))
        if len(self) == 1:
            w = np.repeat(self.weights, len(t), axis=0)
            h = None if self.head_rotation is None else np.repeat(self.head_rotation, len(t), axis=0)
            return w, h
        w = np.stack([np.interp(t, self.times, self.weights[:, j]) for j in range(NUM_BLENDSHAPES)], 1)
        h = None
        if self.head_rotation is not None:
            h = np.stack([np.interp(t, self.times, self.head_rotation[:, j]) for j in range(3)], 1)
            h = h.astype(np.float32)
        return w.astype(np.float32), h

    def resampled(self, fps: float) -> WeightTrack:
        """The track at a constant frame rate (linear interpolation), covering the same time span."""
        if not fps > 0:
            raise Head360Error(f"fps must be positive, got {fps}")
        n = int(math.floor(self.duration * fps + 1e-6)) + 1
        t = self.times[0] + np.arange(n) / fps
        w, h = self.sample(t)
        return WeightTrack(t - t[0], w, fps, h, None, self.source)


@dataclass
class ImportReport:
    """What a reader had to fix or ignore. ``lines()`` gives one human-readable line per finding."""

    path: str = ""
    frames: int = 0
    unknown_columns: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    clamped: dict[str, int] = field(default_factory=dict)
    nans: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.unknown_columns or self.missing or self.clamped or self.nans or self.notes)

    def lines(self) -> list[str]:
        out = []
        if self.unknown_columns:
            out.append(f"ignored {len(self.unknown_columns)} unknown column(s): {', '.join(self.unknown_columns)}")
        if self.missing:
            shown = ", ".join(self.missing[:8]) + (" ..." if len(self.missing) > 8 else "")
            out.append(f"{len(self.missing)} blendshape(s) missing, set to 0: {shown}")
        if self.clamped:
            total = sum(self.clamped.values())
            detail = ", ".join(f"{k} x{v}" for k, v in sorted(self.clamped.items()))
            out.append(f"clamped {total} weight(s) outside [0, 1] ({detail})")
        if self.nans:
            total = sum(self.nans.values())
            detail = ", ".join(f"{k} x{v}" for k, v in sorted(self.nans.items()))
            out.append(f"{total} missing or NaN value(s) replaced by the previous frame's (or 0) ({detail})")
        out.extend(self.notes)
        return out

    def summary(self) -> str:
        head = f"read {self.frames} frame(s)" + (f" from {self.path}" if self.path else "")
        return "\n".join([head] + [f"  {line}" for line in self.lines()])


# --- shared cleaning -----------------------------------------------------------------------------
def _fill_nans(values: np.ndarray, names, report: ImportReport, default: float = 0.0) -> np.ndarray:
    """Replace NaN entries [N, D] by the previous frame's value (or ``default`` before the first), counting them."""
    values = np.array(values, np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        for j in np.nonzero(bad.any(axis=0))[0]:
            report.nans[names[j]] = report.nans.get(names[j], 0) + int(bad[:, j].sum())
            col = values[:, j]
            last = default
            for i in range(len(col)):
                if np.isfinite(col[i]):
                    last = col[i]
                else:
                    col[i] = last
    return values


def _clamp_weights(weights: np.ndarray, report: ImportReport) -> np.ndarray:
    """Clip to [0, 1] counting what was outside (NaNs are left for :func:`_fill_nans`)."""
    with np.errstate(invalid="ignore"):
        out_of_range = (weights < 0.0) | (weights > 1.0)
    if out_of_range.any():
        for j in np.nonzero(out_of_range.any(axis=0))[0]:
            report.clamped[ARKIT_NAMES[j]] = int(out_of_range[:, j].sum())
    return np.clip(weights, 0.0, 1.0)


def _check_times(times: np.ndarray, report: ImportReport, fps: float) -> np.ndarray:
    """Relative to the first frame; backward steps are replaced by one frame after the previous one."""
    times = np.asarray(times, np.float64)
    times = times - times[0]
    back = np.nonzero(np.diff(times) < 0)[0]
    if len(back):
        report.notes.append(f"{len(back)} frame(s) went back in time; placed 1/{fps:g} s after the previous frame")
        for i in range(1, len(times)):
            if times[i] < times[i - 1]:
                times[i] = times[i - 1] + 1.0 / fps
    return times


# --- JSON ------------------------------------------------------------------------------------------
def track_to_json(track: WeightTrack) -> dict:
    frames = []
    for i in range(len(track)):
        f: dict = {
            "time": round(float(track.times[i]), 6),
            "weights": {n: round(float(w), 6) for n, w in zip(ARKIT_NAMES, track.weights[i], strict=True)},
        }
        if track.head_rotation is not None:
            y, p, r = (round(float(x), 4) for x in track.head_rotation[i])
            f["head_rotation"] = {"yaw": y, "pitch": p, "roll": r}
        frames.append(f)
    return {"format": JSON_FORMAT, "version": JSON_VERSION, "fps": float(track.fps), "source": track.source,
            "frames": frames}  # fmt: skip


def write_json(track: WeightTrack, path: str | Path) -> None:
    """Write a track as our JSON schema (see the module docstring), atomically."""
    write_text(path, json.dumps(track_to_json(track), indent=None, separators=(",", ":")))


def track_from_json(data, path: str = "") -> tuple[WeightTrack, ImportReport]:
    report = ImportReport(path=path)
    where = f"'{path}'" if path else "the JSON"
    if not isinstance(data, dict):
        raise Head360Error(f"{where} is not an ARKit weights file: expected an object with a 'frames' list")
    fmt = data.get("format")
    if fmt is not None and fmt != JSON_FORMAT:
        raise Head360Error(f"{where} has format {fmt!r}, expected '{JSON_FORMAT}'")
    if fmt is not None and data.get("version", JSON_VERSION) != JSON_VERSION:
        raise Head360Error(f"{where} is version {data.get('version')!r}; this Head360 reads version {JSON_VERSION}")
    frames = data.get("frames")
    if not isinstance(frames, list):
        raise Head360Error(f"{where} has no 'frames' list; see `head360.anim.arkit_io` for the schema")
    if not frames:
        raise Head360Error(f"{where} has no frames")
    _check_frame_count(len(frames), where)
    try:
        fps = float(data.get("fps", 30.0))
    except (TypeError, ValueError):
        raise Head360Error(f"{where}: 'fps' must be a number") from None
    if not (math.isfinite(fps) and fps > 0):
        raise Head360Error(f"{where}: 'fps' must be positive, got {data.get('fps')!r}")
    order = list(ARKIT_NAMES)
    if "blendshapes" in data:
        order = []
        for name in data["blendshapes"]:
            try:
                order.append(canonical_name(str(name)))
            except Head360Error:
                order.append(None)
                report.unknown_columns.append(str(name))
    n = len(frames)
    weights = np.full((n, NUM_BLENDSHAPES), np.nan)
    seen = np.zeros(NUM_BLENDSHAPES, bool)
    times = np.full(n, np.nan)
    head = np.full((n, 3), np.nan)
    has_head = False
    unknown: dict[str, None] = {}
    for i, f in enumerate(frames):
        if not isinstance(f, dict) or "weights" not in f:
            raise Head360Error(f"{where}: frame {i} has no 'weights'")
        if f.get("time") is not None:
            times[i] = _number(f["time"], f"{where}: frame {i} time")
        w = f["weights"]
        if isinstance(w, dict):
            items = w.items()
        elif isinstance(w, list):
            if len(w) != len(order):
                raise Head360Error(f"{where}: frame {i} has {len(w)} weights, expected {len(order)}")
            items = [(name, v) for name, v in zip(order, w, strict=True) if name is not None]
        else:
            raise Head360Error(f"{where}: frame {i} 'weights' must be an object or a list")
        for name, value in items:
            try:
                j = ARKIT_NAMES.index(canonical_name(str(name)))
            except Head360Error:
                unknown[str(name)] = None
                continue
            weights[i, j] = _number(value, f"{where}: frame {i} {name}", allow_nan=True)
            seen[j] = True
        hr = f.get("head_rotation")
        if hr is not None:
            has_head = True
            if isinstance(hr, dict):
                hr = [hr.get("yaw", 0.0), hr.get("pitch", 0.0), hr.get("roll", 0.0)]
            if not isinstance(hr, list | tuple) or len(hr) != 3:
                raise Head360Error(f"{where}: frame {i} head_rotation must be yaw, pitch, roll (degrees)")
            head[i] = [_number(x, f"{where}: frame {i} head_rotation", allow_nan=True) for x in hr]
    report.unknown_columns.extend(unknown)
    report.missing = [ARKIT_NAMES[j] for j in range(NUM_BLENDSHAPES) if not seen[j]]
    weights[:, ~seen] = 0.0
    # a name absent from single frames counts as NaN there (held from the previous frame)
    weights = _fill_nans(_clamp_weights(weights, report), ARKIT_NAMES, report).astype(np.float32)
    if np.isnan(times).all():
        times = np.arange(n) / fps
    elif np.isnan(times).any():
        raise Head360Error(f"{where}: some frames have a 'time' and others not; give it on all frames or none")
    times = _check_times(times, report, fps)
    head_rotation = _fill_nans(head, ("HeadYaw", "HeadPitch", "HeadRoll"), report) if has_head else None
    report.frames = n
    return WeightTrack(times, weights, fps, head_rotation, None, str(data.get("source", path))), report


def _number(value, what: str, allow_nan: bool = False) -> float:
    if value is None and allow_nan:
        return float("nan")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise Head360Error(f"{what} is not a number: {value!r}") from None
    return x


def _check_frame_count(n: int, where: str) -> None:
    if n > MAX_FRAMES:
        raise Head360Error(f"{where} has more than {MAX_FRAMES} frames; split the take into shorter files")


def read_json(path: str | Path) -> tuple[WeightTrack, ImportReport]:
    path = Path(path)
    if path.is_file() and path.stat().st_size > MAX_JSON_BYTES:
        raise Head360Error(
            f"'{path}' is larger than {MAX_JSON_BYTES >> 20} MB; split the take, or write it as a Live Link Face CSV"
        )
    text = _read_text(path)
    if not text.strip():
        raise Head360Error(f"'{path}' is empty; expected ARKit weights as JSON")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise Head360Error(f"'{path}' is not valid JSON ({e.msg} at line {e.lineno})") from e
    return track_from_json(data, str(path))


# --- Live Link Face CSV ----------------------------------------------------------------------------
def parse_timecode(text: str, fps: float = DEFAULT_TIMECODE_FPS) -> float:
    """``HH:MM:SS:FF.sss`` -> seconds (``FF`` frames at ``fps`` plus the fraction ``.sss`` of a frame)."""
    parts = text.strip().split(":")
    if len(parts) != 4:
        raise ValueError(f"timecode '{text}' is not HH:MM:SS:FF.sss")
    h, m, s = int(parts[0]), int(parts[1]), int(parts[2])
    frame = float(parts[3])
    if not (0 <= m < 60 and 0 <= s < 60 and frame >= 0):
        raise ValueError(f"timecode '{text}' is out of range")
    return h * 3600.0 + m * 60.0 + s + frame / fps


def format_timecode(seconds: float, fps: float = DEFAULT_TIMECODE_FPS) -> str:
    """Seconds -> ``HH:MM:SS:FF.sss`` (frames at ``fps``, sub-frame fraction with 3 decimals)."""
    total_frames = round(seconds * fps * 1000.0) / 1000.0  # in frames, to the 1/1000 frame
    whole_seconds = int(math.floor(total_frames / fps + 1e-9))
    frames = total_frames - whole_seconds * fps
    if frames >= fps - 5e-4:
        whole_seconds, frames = whole_seconds + 1, 0.0
    frames = max(frames, 0.0)
    h, rem = divmod(whole_seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h:02d}:{m:02d}:{s:02d}:{int(frames):02d}.{int(round((frames - int(frames)) * 1000)):03d}"


def write_csv(
    track: WeightTrack,
    path: str | Path,
    timecode_fps: float = DEFAULT_TIMECODE_FPS,
    start_seconds: float = 0.0,
) -> None:
    """Write the Live Link Face layout (header, column order, ``BlendShapeCount`` 61, timecodes at
    ``timecode_fps``; head and eye rotations in radians, 0 where the track has none), atomically."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(LIVE_LINK_HEADER)
    order = [ARKIT_NAMES.index(canonical_name(n)) for n in LIVE_LINK_ORDER]
    head = np.zeros((len(track), 3)) if track.head_rotation is None else np.radians(track.head_rotation)
    eyes = np.zeros((len(track), 6)) if track.eye_rotation is None else np.radians(track.eye_rotation)
    for i in range(len(track)):
        row = [format_timecode(start_seconds + float(track.times[i]), timecode_fps), str(BLEND_SHAPE_COUNT)]
        row += [_fmt(track.weights[i, j]) for j in order]
        row += [_fmt(x) for x in head[i]] + [_fmt(x) for x in eyes[i]]
        writer.writerow(row)
    write_text(path, buf.getvalue())


def _fmt(x) -> str:
    return f"{float(x):.8g}"


def read_csv(path: str | Path, timecode_fps: float = DEFAULT_TIMECODE_FPS) -> tuple[WeightTrack, ImportReport]:
    """Read a Live Link Face CSV (any column order; names matched case-insensitively).

    Rows with a timecode that cannot be read are skipped and reported; ``fps`` of the result is
    estimated from the median frame interval."""
    path = Path(path)
    with _open_text(path) as fh:
        return _read_csv_rows(path, (r for r in csv.reader(fh) if any(c.strip() for c in r)), timecode_fps)


def _read_csv_rows(path: Path, rows, timecode_fps: float) -> tuple[WeightTrack, ImportReport]:
    """read_csv on an iterator of non-blank rows (streamed: a take longer than MAX_FRAMES stops early)."""
    header = next(rows, None)
    if header is None:
        raise Head360Error(
            f"'{path}' is empty; expected a Live Link Face CSV starting with 'Timecode,BlendShapeCount,'"
        )
    header = [c.strip() for c in header]
    if len(header) < 2 or header[0].lower() != "timecode" or header[1].lower() != "blendshapecount":
        got = ",".join(header[:3])
        raise Head360Error(
            f"'{path}' is not a Live Link Face CSV: the header must start with 'Timecode,BlendShapeCount,' "
            f"(got '{got}...')"
        )
    report = ImportReport(path=str(path))
    weight_col: dict[int, int] = {}
    head_col: dict[int, int] = {}
    eye_col: dict[int, int] = {}
    lower_head = [c.lower() for c in HEAD_COLUMNS]
    lower_eye = [c.lower() for c in EYE_COLUMNS]
    for c, name in enumerate(header[2:], start=2):
        key = name.lower()
        if key in lower_head:
            head_col[c] = lower_head.index(key)
        elif key in lower_eye:
            eye_col[c] = lower_eye.index(key)
        else:
            try:
                weight_col[c] = ARKIT_NAMES.index(canonical_name(name))
            except Head360Error:
                report.unknown_columns.append(name if name else f"(unnamed column {c + 1})")
    if not weight_col:
        raise Head360Error(f"'{path}' has no blendshape columns (e.g. EyeBlinkLeft, JawOpen) after the header start")
    seen = set(weight_col.values())
    report.missing = [ARKIT_NAMES[j] for j in range(NUM_BLENDSHAPES) if j not in seen]
    times, weights, head, eyes = [], [], [], []
    skipped = 0
    for r in rows:
        _check_frame_count(len(times) + skipped, f"'{path}'")
        try:
            t = parse_timecode(r[0], timecode_fps)
        except (ValueError, IndexError):
            skipped += 1
            continue
        w = np.full(NUM_BLENDSHAPES, np.nan)
        w[[j for j in range(NUM_BLENDSHAPES) if j not in seen]] = 0.0
        h = np.where(np.isin(np.arange(3), list(head_col.values())), np.nan, 0.0)
        e = np.where(np.isin(np.arange(6), list(eye_col.values())), np.nan, 0.0)
        for c, j in weight_col.items():
            w[j] = _cell(r, c)
        for c, j in head_col.items():
            h[j] = _cell(r, c)
        for c, j in eye_col.items():
            e[j] = _cell(r, c)
        times.append(t)
        weights.append(w)
        head.append(h)
        eyes.append(e)
    if not times and not skipped:
        raise Head360Error(f"'{path}' has a header but no frames")
    if skipped:
        report.notes.append(f"skipped {skipped} row(s) whose timecode is not HH:MM:SS:FF.sss at {timecode_fps:g} fps")
    if not times:
        raise Head360Error(f"'{path}' has no row with a readable timecode (HH:MM:SS:FF.sss)")
    times = np.asarray(times)
    if len(times) > 1 and (times[1:] - times[:-1]).min() < -12 * 3600:  # recording ran past midnight
        times = times + 86400.0 * np.concatenate([[0], np.cumsum(np.diff(times) < -12 * 3600)])
        report.notes.append("timecodes pass midnight; continued into the next day")
    weights = _fill_nans(_clamp_weights(np.asarray(weights), report), ARKIT_NAMES, report).astype(np.float32)
    head_arr = _fill_nans(np.asarray(head), HEAD_COLUMNS, report) if head_col else None
    eye_arr = _fill_nans(np.asarray(eyes), EYE_COLUMNS, report) if eye_col else None
    missing_rot = [c for c in HEAD_COLUMNS if c.lower() not in {header[k].lower() for k in head_col}]
    if head_col and missing_rot:
        report.notes.append(f"head rotation column(s) missing, set to 0: {', '.join(missing_rot)}")
    dt = np.diff(times)
    fps = float(1.0 / np.median(dt[dt > 0])) if (dt > 0).any() else timecode_fps
    fps = _snap_fps(fps)
    times = _check_times(times, report, fps)
    report.frames = len(times)
    return (
        WeightTrack(
            times,
            weights,
            fps,
            None if head_arr is None else np.degrees(head_arr),
            None if eye_arr is None else np.degrees(eye_arr),
            str(path),
        ),
        report,
    )


def _cell(row: list[str], c: int) -> float:
    if c >= len(row) or not row[c].strip():
        return float("nan")
    try:
        return float(row[c])
    except ValueError:
        return float("nan")


def _snap_fps(fps: float) -> float:
    for common in (24.0, 25.0, 30.0, 50.0, 60.0, 120.0, 23.976, 29.97, 59.94):
        if abs(fps - common) / common < 0.02:
            return common
    return round(fps, 3)


# --- either format -------------------------------------------------------------------------------
def read_track(path: str | Path, timecode_fps: float = DEFAULT_TIMECODE_FPS) -> tuple[WeightTrack, ImportReport]:
    """Read ``.json`` (our schema) or ``.csv`` (Live Link Face) -> (track, report)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        return read_json(path)
    if suffix == ".csv":
        return read_csv(path, timecode_fps)
    raise Head360Error(f"ARKit weights are read from .json or .csv, got '{path.name}'")


def write_track(track: WeightTrack, path: str | Path, timecode_fps: float = DEFAULT_TIMECODE_FPS) -> None:
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        write_json(track, path)
    elif suffix == ".csv":
        write_csv(track, path, timecode_fps)
    else:
        raise Head360Error(f"ARKit weights are written as .json or .csv, got '{path.name}'")


def _read_text(path: Path) -> str:
    with _open_text(path) as fh:
        return fh.read()


@contextlib.contextmanager
def _open_text(path: Path):
    """The file opened as UTF-8 text (a BOM skipped); a missing file or one that is not text (also when
    found midway through reading) raises Head360Error."""
    if not path.exists():
        raise Head360Error(f"'{path}' not found")
    if not path.is_file():
        raise Head360Error(f"'{path}' is not a file")
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            yield fh
    except UnicodeDecodeError as e:
        raise Head360Error(f"'{path}' is not a text file ({e.reason}); expected .json or .csv weights") from e
    except OSError as e:
        raise Head360Error(f"cannot read '{path}' ({e.strerror or e})") from e
