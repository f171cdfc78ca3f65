"""Video-driven performance capture (the solver is :mod:`head360.anim.solver`, video reading
:mod:`head360.anim.video_io`): a video of a face -> per-frame ARKit blendshape weights and head
rotation (a :class:`~head360.anim.arkit_io.WeightTrack`), ready to drive any head.

Pipeline (offline, whole clip):

1. frames are read with imageio-ffmpeg (mp4, mov, webm, avi, mkv...) or Pillow (GIF, with its own
   per-frame durations);
2. mediapipe's face mesh in tracking mode gives 478 landmarks per frame
   (:class:`head360.fit.landmarks.LandmarkDetector`);
3. one joint solve over the whole clip (:func:`track_performance`, the landmark table of
   :func:`head360.fit.meshfit.landmark_table`): ONE shape code shared by every frame (or a fixed one),
   per frame 52 weights in [0, 1] and a head pose, each pose started from OpenCV's PnP; priors on the
   shape, on small / sparse weights, and on the frame-to-frame change of weights and pose (temporal
   smoothing inside the solve). One batched solve for all frames is far cheaper than a photo fit per
   frame and lets neighbouring frames support each other;
4. a zero-phase Gaussian filter over time (``smoothing`` seconds, 25 ms by default) removes the
   landmark jitter that is left; blinks (100-150 ms) survive it.

Frames where no face is found hold the last pose (frames before the first face take the first found
one); they are counted and reported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from head360.anim.arkit_io import WeightTrack
from head360.anim.solver import solve_clip
from head360.anim.video_io import open_video
from head360.arkit import NUM_BLENDSHAPES
from head360.errors import Head360Error


# --- capture ---------------------------------------------------------------------------------------
@dataclass
class CaptureConfig:
    """Settings of video-driven capture."""

    shape_code: np.ndarray | None = None
    """A fixed identity [50] (e.g. of a known head); None: solved from the clip, shared by all frames."""
    focal_px: float | None = None
    """The video camera's focal length in pixels; None: the one that puts the face at the rig's distance
    (from landmarks alone focal length and distance are interchangeable; only perspective differs)."""
    steps: int = 400
    """Adam steps of the joint solve (all frames together)."""
    shape_prior: float = 1.0
    """Weight of ||s||^2 (the shape code is whitened: s ~ N(0, I))."""
    weight_l1: float = 1.0
    """Sparsity of the weights, per frame (sum of b)."""
    weight_l2: float = 1.0
    """Smallness of the weights, per frame (sum of b^2)."""
    temporal_prior: float = 2.0
    """Weight of the squared change of the weights from one frame to the next (per frame pair)."""
    pose_temporal_prior: float = 2.0
    """Weight of the squared frame-to-frame change of head rotation (in units of 0.05 rad) and position
    (in units of 5% of the camera distance)."""
    landmark_sigma: float = 0.01
    """Expected landmark noise as a fraction of the face size (residuals are divided by it)."""
    ignore_regions: tuple[str, ...] = ()
    """mediapipe regions (:func:`head360.fit.landmarks.face_region` names, e.g. "lips_inner") left out
    of the solve. (The calibrated table puts the upper and lower inner lip on the same mesh point, the
    mouth slit; measured on rendered clips, keeping them still tracks jawOpen better than leaving
    them out.)"""
    offset_sigma: float | None = 0.05
    """Prior sigma (world units; 0.05 = 5 mm) of a per-landmark 3D offset shared by all frames, which
    absorbs where mediapipe's points sit on this face differently from the landmark table, so that
    the weights explain what changes over the clip. None: no offsets."""
    chunk_frames: int = 900
    """Longer clips are solved in overlapping chunks of this many frames (bounded memory), after the
    identity and landmark offsets were solved once on this many frames spread over the whole clip."""
    chunk_overlap: int = 30
    """Frames shared by neighbouring chunks (cross-faded)."""
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
    seconds; uneven spacing handled; the kernel is cut at 4 sigma and renormalised at the ends).
    Returns [N, D] float64. Cost O(N x window)."""
    values = np.asarray(values, np.float64)
    n = len(values)
    if sigma <= 0 or n < 3:
        return values.copy()
    t = np.asarray(times, np.float64)
    dt = np.diff(t)
    step = float(np.min(dt[dt > 0])) if (dt > 0).any() else 1.0
    half = int(min(n - 1, np.ceil(4.0 * sigma / step)))
    acc = np.zeros_like(values)
    norm = np.zeros(n)
    for k in range(-half, half + 1):
        lo, hi = max(0, -k), min(n, n - k)  # i in [lo, hi) has a neighbour i + k
        d = (t[lo + k : hi + k] - t[lo:hi]) / sigma
        w = np.where(np.abs(d) <= 4.0, np.exp(-0.5 * d * d), 0.0)
        acc[lo:hi] += w[:, None] * values[lo + k : hi + k]
        norm[lo:hi] += w
    return acc / norm[:, None]


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
    from head360.fit.meshfit import landmark_table

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
    table = landmark_table(mesh) if table is None else table
    with_face = np.flatnonzero(found)
    sol = solve_clip(mesh, table, [points[i] for i in with_face], size, cfg, progress)
    weights_f, rot_f, err_f = sol.weights, sol.rotation, sol.errors_px
    weights = np.zeros((n, NUM_BLENDSHAPES), np.float64)
    rotation = np.zeros((n, 3), np.float64)
    errors = np.full(n, np.nan)
    errors[with_face] = err_f
    j = 0
    for i in range(n):  # frames without a face hold the last pose (before the first face: the first's)
        if found[i]:
            j = int(np.searchsorted(with_face, i))
        weights[i] = weights_f[j]
        rotation[i] = rot_f[j]

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
    return CaptureResult(track, sol.shape_code, sol.focal_px, errors, found, notes)


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
