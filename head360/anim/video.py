"""Video-driven performance capture: a video of a face -> per-frame ARKit blendshape weights and head
rotation (a :class:`~head360.anim.arkit_io.WeightTrack`), ready to drive any head.

Pipeline (offline, whole clip):

1. frames are read with imageio-ffmpeg (mp4, mov, webm, avi, mkv...) or Pillow (GIF, with its own
   per-frame durations);
2. mediapipe's face mesh in tracking mode gives 478 landmarks per frame
   (:class:`head360.fit.landmarks.LandmarkDetector`);
3. the shape code (identity) and focal length are solved ONCE, on a few frames spread over the clip
   (full :class:`head360.fit.meshfit.MeshFitter` fits, shape codes averaged);
4. every frame is then fitted with that shape held fixed, warm-started from the previous frame and
   pulled towards its weights (the tracking preset: a temporal prior);
5. a zero-phase Gaussian filter over time (``smoothing`` seconds, 25 ms by default) removes the
   landmark jitter that is left; blinks (100-150 ms) survive it.

Frames where no face is found hold the last pose (frames before the first face take the first found
one); they are counted and reported.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from head360.anim.arkit_io import WeightTrack
from head360.arkit import NUM_BLENDSHAPES
from head360.errors import Head360Error

VIDEO_INPUT_SUFFIXES = (".mp4", ".mov", ".m4v", ".webm", ".avi", ".mkv", ".gif")


# --- reading videos --------------------------------------------------------------------------------
@dataclass
class VideoInfo:
    """fps: nominal frame rate; size: (W, H); frames: count when known up front (else None)."""

    fps: float
    size: tuple[int, int]
    frames: int | None
    times: np.ndarray | None = None
    """[N] seconds per frame when the format stores them (GIF frame durations); else frames are 1/fps apart."""


def open_video(path: str | Path, max_frames: int | None = None) -> tuple[VideoInfo, Iterator[np.ndarray]]:
    """-> (info, iterator of uint8 RGB frames [H, W, 3]). Raises Head360Error for a missing file or
    one that is not a readable video."""
    path = Path(path)
    if not path.is_file():
        raise Head360Error(f"video '{path}' not found")
    if path.suffix.lower() not in VIDEO_INPUT_SUFFIXES:
        raise Head360Error(f"--video takes {', '.join(VIDEO_INPUT_SUFFIXES)}; got '{path.name}'")
    if path.suffix.lower() == ".gif":
        return _open_gif(path, max_frames)
    return _open_ffmpeg(path, max_frames)


def _open_gif(path: Path, max_frames: int | None):
    from PIL import Image, ImageSequence, UnidentifiedImageError

    try:
        im = Image.open(path)
        durations = [max(int(f.info.get("duration", 100) or 100), 10) for f in ImageSequence.Iterator(im)]
    except (UnidentifiedImageError, OSError) as e:
        raise Head360Error(f"'{path}' is not a readable GIF ({e})") from e
    n = len(durations) if max_frames is None else min(len(durations), max_frames)
    times = np.concatenate([[0.0], np.cumsum(durations[:-1]) / 1000.0])[:n]
    fps = 1000.0 / float(np.median(durations))
    info = VideoInfo(fps, im.size, n, times)

    def frames():
        try:
            for i, f in enumerate(ImageSequence.Iterator(im)):
                if i >= n:
                    break
                yield np.asarray(f.convert("RGB"))
        finally:
            im.close()

    return info, frames()


def _open_ffmpeg(path: Path, max_frames: int | None):
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24")
    try:
        meta = next(reader)
    except (RuntimeError, OSError, StopIteration) as e:
        reader.close()
        raise Head360Error(f"'{path}' is not a readable video ({str(e).splitlines()[0] if str(e) else e})") from e
    w, h = (int(x) for x in meta["size"])
    fps = float(meta.get("fps") or 30.0)
    if not (math.isfinite(fps) and fps > 0):
        fps = 30.0
    duration = meta.get("duration")
    count = int(round(duration * fps)) if duration and math.isfinite(duration) else None
    if max_frames is not None and count is not None:
        count = min(count, max_frames)
    info = VideoInfo(fps, (w, h), count)

    def frames():
        try:
            for i, buf in enumerate(reader):
                if max_frames is not None and i >= max_frames:
                    break
                yield np.frombuffer(buf, np.uint8).reshape(h, w, 3)
        finally:
            reader.close()

    return info, frames()


# --- capture ---------------------------------------------------------------------------------------
@dataclass
class CaptureConfig:
    """Settings of video-driven capture."""

    shape_frames: int = 6
    """Frames (spread over the clip) whose full fits are averaged into the one shape code."""
    temporal_prior: float | None = None
    """Pull of each frame's weights towards the previous frame's (None: the tracking preset's,
    :data:`head360.fit.meshfit.TRACKING`)."""
    smoothing: float = 0.025
    """Sigma in seconds of the zero-phase Gaussian filter on weights and head rotation (0: off)."""
    max_frames: int | None = None
    """Read at most this many frames (None: the whole clip)."""
    min_detection_confidence: float = 0.5


@dataclass
class CaptureResult:
    """track: the performance (weights [N, 52], head rotation [N, 3] degrees, times);
    shape_code [50]: the identity solved once; focal_px; errors_px [N]: RMS landmark reprojection
    error of each frame's fit (NaN where no face); face_found [N] bool."""

    track: WeightTrack
    shape_code: np.ndarray
    focal_px: float
    errors_px: np.ndarray
    face_found: np.ndarray
    notes: list[str] = field(default_factory=list)

    @property
    def frames_without_face(self) -> int:
        return int((~self.face_found).sum())

    def summary(self) -> str:
        n = len(self.face_found)
        lines = [
            f"captured {n} frame(s) at {self.track.fps:g} fps ({self.track.duration:.2f} s); "
            f"median landmark error {np.nanmedian(self.errors_px):.2f} px"
        ]
        if self.frames_without_face:
            lines.append(f"  {self.frames_without_face} frame(s) without a face held the last pose")
        lines.extend(f"  {note}" for note in self.notes)
        return "\n".join(lines)


def gaussian_smooth(values: np.ndarray, times: np.ndarray, sigma: float) -> np.ndarray:
    """Zero-phase Gaussian smoothing over time of ``values [N, D]`` sampled at ``times [N]`` (sigma in
    seconds; handles uneven spacing). Returns [N, D] float64."""
    values = np.asarray(values, np.float64)
    if sigma <= 0 or len(values) < 3:
        return values.copy()
    t = np.asarray(times, np.float64)
    d = (t[:, None] - t[None, :]) / sigma
    k = np.exp(-0.5 * d * d)
    k[np.abs(d) > 4] = 0.0
    return (k @ values) / k.sum(axis=1, keepdims=True)


def detect_landmarks(
    frames: Iterator[np.ndarray],
    config: CaptureConfig | None = None,
    progress: Callable[[str, int, int | None], None] | None = None,
    total: int | None = None,
) -> tuple[list[np.ndarray | None], tuple[int, int] | None]:
    """mediapipe face mesh in tracking mode on every frame -> (per frame [478, 2] pixel landmarks or
    None where no face was found, frame size (W, H))."""
    from head360.fit.landmarks import LandmarkDetector

    cfg = config or CaptureConfig()
    points: list[np.ndarray | None] = []
    size = None
    with LandmarkDetector(video=True, max_faces=1, min_confidence=cfg.min_detection_confidence) as detector:
        for i, frame in enumerate(frames):
            if cfg.max_frames is not None and i >= cfg.max_frames:
                break
            if frame.ndim != 3 or frame.shape[2] != 3:
                raise Head360Error(f"frame {i} is not an RGB image (shape {frame.shape})")
            if size is not None and (frame.shape[1], frame.shape[0]) != size:
                raise Head360Error(f"frame {i} has another size than the first frame; the video must keep one size")
            size = (frame.shape[1], frame.shape[0])
            faces = detector.detect(frame)
            points.append(faces[0].xy.copy() if faces else None)
            if progress is not None:
                progress("detect", i + 1, total)
    return points, size


def fit_landmarks(
    points: list[np.ndarray | None],
    size: tuple[int, int],
    fps: float,
    mesh=None,
    config: CaptureConfig | None = None,
    times: np.ndarray | None = None,
    progress: Callable[[str, int, int | None], None] | None = None,
    source: str = "",
    table=None,
) -> CaptureResult:
    """Per-frame landmarks (``[478, 2]`` pixels or None) -> weights and head rotation per frame.

    mesh: the :class:`head360.mesh.model.MeshModel` to fit (default: the project's; with a checkpoint
    pass its ``generator.mesh``); table: the landmark table (default: the mesh's best,
    :func:`head360.fit.meshfit.landmark_table`)."""
    from head360.anim.render import head_rotation_angles
    from head360.fit.meshfit import TRACKING, MeshFitter

    cfg = config or CaptureConfig()
    n = len(points)
    if n == 0:
        raise Head360Error(f"no frames could be read from {source or 'the video'}")
    found = np.array([p is not None for p in points])
    if not found.any():
        raise Head360Error(
            f"no face found in any of the {n} frame(s) of {source or 'the video'}; "
            "use a video where one face is clearly visible and looks roughly at the camera"
        )
    if mesh is None:
        from head360.mesh.store import default_mesh_model

        mesh = default_mesh_model()

    # the shape (and focal) once, from a few frames spread over the clip
    fitter = MeshFitter(mesh, table)
    with_face = np.flatnonzero(found)
    spread = np.unique(np.linspace(0, len(with_face) - 1, min(cfg.shape_frames, len(with_face))).round())
    pick = with_face[spread.astype(int)]
    full = [fitter.fit(points[i], size) for i in pick]
    shape = np.mean([f.shape_code for f in full], axis=0).astype(np.float32)
    focal = float(np.median([f.focal_px for f in full]))

    # every frame with shape and focal fixed, warm-started from (and pulled towards) the previous one
    track_cfg = replace(TRACKING, fit_focal=False, fit_shape=False)
    if cfg.temporal_prior is not None:
        track_cfg = replace(track_cfg, temporal_prior=cfg.temporal_prior)
    weights = np.zeros((n, NUM_BLENDSHAPES), np.float64)
    rotation = np.zeros((n, 3), np.float64)
    errors = np.full(n, np.nan)
    prev = _with_shape_focal(full[0], shape, focal)  # pick[0] is the first frame with a face
    for i in range(n):
        if found[i]:
            prev = fitter.fit(points[i], size, config=track_cfg, init=prev, shape=shape)
            errors[i] = prev.error_px
        # no face: hold the last pose (before the first face: the first face's)
        weights[i] = prev.blend_weights
        rotation[i] = head_rotation_angles(_R0 @ prev.rotation)
        if progress is not None:
            progress("fit", i + 1, n)

    # zero-phase temporal filter (angles unwrapped first)
    t = np.arange(n) / fps if times is None else np.asarray(times, np.float64)[:n] - float(times[0])
    rotation = np.degrees(np.unwrap(np.radians(rotation), axis=0))
    weights = np.clip(gaussian_smooth(weights, t, cfg.smoothing), 0.0, 1.0)
    rotation = gaussian_smooth(rotation, t, cfg.smoothing)
    rotation = (rotation + 180.0) % 360.0 - 180.0
    track = WeightTrack(t, weights.astype(np.float32), fps, rotation.astype(np.float32), None, source)
    notes = []
    if found.sum() < n:
        notes.append(f"no face in frames: {_ranges(np.flatnonzero(~found))}")
    return CaptureResult(track, shape, focal, errors, found, notes)


def capture_frames(
    frames: Iterator[np.ndarray],
    fps: float,
    mesh=None,
    config: CaptureConfig | None = None,
    times: np.ndarray | None = None,
    progress: Callable[[str, int, int | None], None] | None = None,
    total: int | None = None,
    source: str = "",
) -> CaptureResult:
    """:func:`detect_landmarks` then :func:`fit_landmarks`. frames: uint8 RGB [H, W, 3] at ``fps``
    (``times [N]`` overrides, e.g. GIF durations); progress(stage, done, total), stage "detect"/"fit"."""
    points, size = detect_landmarks(frames, config, progress, total)
    return fit_landmarks(points, size, fps, mesh, config, times, progress, source)


_R0 = np.diag([1.0, -1.0, -1.0])
"""OpenCV camera looking at the face (+z of the head towards the camera, image y down): a fit's
``rotation`` is ``_R0 @ R_head`` for a head turned by ``R_head``, so ``R_head = _R0 @ rotation``."""


def _with_shape_focal(fit, shape: np.ndarray, focal: float):
    return replace(fit, shape_code=shape, focal_px=focal)


def _ranges(idx: np.ndarray) -> str:
    out, start, prev = [], None, None
    for i in idx.tolist():
        if start is None:
            start = prev = i
        elif i == prev + 1:
            prev = i
        else:
            out.append(f"{start}" if start == prev else f"{start}-{prev}")
            start = prev = i
    if start is not None:
        out.append(f"{start}" if start == prev else f"{start}-{prev}")
    return ", ".join(out[:12]) + (" ..." if len(out) > 12 else "")


def capture_video(
    path: str | Path,
    mesh=None,
    config: CaptureConfig | None = None,
    progress: Callable[[str, int, int | None], None] | None = None,
) -> CaptureResult:
    """:func:`capture_frames` on a video file (mp4/mov/webm/avi/mkv through imageio-ffmpeg, or GIF)."""
    cfg = config or CaptureConfig()
    info, frames = open_video(path, cfg.max_frames)
    return capture_frames(frames, info.fps, mesh, cfg, info.times, progress, info.frames, str(path))
