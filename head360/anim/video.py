"""Video-driven performance capture: a video of a face -> per-frame ARKit blendshape weights and head
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

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from head360.anim.arkit_io import WeightTrack
from head360.arkit import NUM_BLENDSHAPES, index_of
from head360.errors import Head360Error
from head360.fit.meshfit import UNSEEN_BY_LANDMARKS
from head360.threads import single_torch_thread

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
    sol = _solve_clip(mesh, table, [points[i] for i in with_face], size, cfg, progress)
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


_R0 = np.diag([1.0, -1.0, -1.0])
"""OpenCV camera looking at the face (+z of the head towards the camera, image y down): a fit's
``rotation`` is ``_R0 @ R_head`` for a head turned by ``R_head``, so ``R_head = _R0 @ rotation``."""


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


def _rotation_matrices(rvec):
    """Axis-angle [N, 3] (torch) -> rotation matrices [N, 3, 3] (Rodrigues, smooth at 0)."""
    import torch

    theta2 = (rvec * rvec).sum(-1, keepdim=True)[..., None]  # [N, 1, 1]
    theta = torch.sqrt(theta2 + 1e-12)
    zero = torch.zeros_like(rvec[:, 0])
    x, y, z = rvec[:, 0], rvec[:, 1], rvec[:, 2]
    k = torch.stack([zero, -z, y, z, zero, -x, -y, x, zero], dim=-1).view(-1, 3, 3)
    small = theta2 < 1e-8
    a = torch.where(small, 1.0 - theta2 / 6.0, torch.sin(theta) / theta)
    b = torch.where(small, 0.5 - theta2 / 24.0, (1.0 - torch.cos(theta)) / theta2.clamp_min(1e-12))
    eye = torch.eye(3, dtype=rvec.dtype).expand_as(k)
    return eye + a * k + b * (k @ k)


@dataclass
class PerformanceSolution:
    """Result of :func:`track_performance` for F frames: weights [F, 52] in [0, 1], rotation [F, 3]
    head yaw / pitch / roll in degrees, translation [F, 3] (OpenCV camera frame, world units),
    shape_code [50], focal_px, errors_px [F] RMS landmark reprojection error per frame."""

    weights: np.ndarray
    rotation: np.ndarray
    translation: np.ndarray
    shape_code: np.ndarray
    focal_px: float
    errors_px: np.ndarray
    offsets: np.ndarray | None = None
    """[L, 3] the per-landmark offsets (world units) of the table rows in use."""


def _solve_clip(mesh, table, points, size, cfg: CaptureConfig, progress=None) -> PerformanceSolution:
    """:func:`track_performance` on the whole clip, or for clips longer than ``cfg.chunk_frames``:
    identity, focal and landmark offsets from frames spread over the clip first (no temporal prior:
    they are not neighbours), then overlapping chunks of consecutive frames with those held fixed,
    cross-faded where they overlap."""
    from dataclasses import replace

    f = len(points)
    size_chunk = max(cfg.chunk_frames, 2 * cfg.chunk_overlap + 2)
    if f <= size_chunk:
        return track_performance(mesh, table, points, size, cfg, progress)
    spread = np.unique(np.linspace(0, f - 1, size_chunk).round().astype(int))
    first = track_performance(
        mesh, table, [points[i] for i in spread], size, replace(cfg, temporal_prior=0.0, pose_temporal_prior=0.0)
    )
    fixed = replace(cfg, shape_code=first.shape_code, focal_px=first.focal_px)
    weights = np.zeros((f, NUM_BLENDSHAPES))
    rotation = np.zeros((f, 3))
    translation = np.zeros((f, 3))
    errors = np.zeros(f)
    total = np.zeros(f)
    step = size_chunk - cfg.chunk_overlap
    starts = list(range(0, max(f - cfg.chunk_overlap, 1), step))
    for n, a in enumerate(starts):
        b = min(a + size_chunk, f)
        sol = track_performance(mesh, table, points[a:b], size, fixed, None, first.offsets)
        ramp = np.ones(b - a)
        if a > 0:  # fade in over the overlap with the previous chunk
            k = min(cfg.chunk_overlap, b - a)
            ramp[:k] = (np.arange(k) + 0.5) / k
        if b < f:
            k = min(cfg.chunk_overlap, b - a)
            ramp[-k:] = np.minimum(ramp[-k:], (np.arange(k)[::-1] + 0.5) / k)
        rot = sol.rotation
        if a > 0:  # keep the angles continuous with what is already there before blending
            ref = rotation[a] / max(total[a], 1e-12)
            rot = rot + 360.0 * np.round((ref - rot[0]) / 360.0)
        weights[a:b] += ramp[:, None] * sol.weights
        rotation[a:b] += ramp[:, None] * rot
        translation[a:b] += ramp[:, None] * sol.translation
        errors[a:b] += ramp * sol.errors_px
        total[a:b] += ramp
        if progress is not None:
            progress("fit", n + 1, len(starts))
    total = total[:, None]
    return PerformanceSolution(
        weights / total, rotation / total, translation / total, first.shape_code, first.focal_px,
        errors / total[:, 0], first.offsets,
    )  # fmt: skip


def track_performance(
    mesh,
    table,
    points: list[np.ndarray],
    size: tuple[int, int],
    config: CaptureConfig | None = None,
    progress: Callable[[str, int, int | None], None] | None = None,
    offsets: np.ndarray | None = None,
) -> PerformanceSolution:
    """Identity, blendshape weights and head pose of a whole clip in one solve.

    mesh: MeshModel ``V(s, b)``; table: :class:`head360.fit.meshfit.LandmarkTable` (mesh points <->
    mediapipe indices); points: per frame [478, 2] pixel landmarks (frames with a face only); size (W, H).

    Unknowns: one shape code shared by all frames (unless ``config.shape_code`` fixes it), per frame 52
    weights in [0, 1] and a rigid pose; the camera is a pinhole at the image centre with a fixed focal
    length. Minimises over all frames together (Adam; weights projected to [0, 1]): the landmark
    reprojection error (divided by ``landmark_sigma`` x face size) + ``shape_prior * |s|^2`` + per
    frame ``weight_l1 * sum(b) + weight_l2 * sum(b^2)`` + temporal priors on the frame-to-frame change
    of weights and pose. Each frame's pose starts from OpenCV's PnP of the mean head. ``offsets``
    [L, 3] (the table's rows in use): fixed per-landmark offsets from an earlier solve (then not
    optimised), see ``CaptureConfig.offset_sigma``.
    """
    import cv2
    import torch

    from head360.cameras import CAMERA_RADIUS, head_rotation_angles

    cfg = config or CaptureConfig()
    f = len(points)
    w, h = size
    principal = np.array([w / 2.0, h / 2.0])
    idx = np.asarray(table.mediapipe_index)
    use = idx < min(len(p) for p in points)
    if cfg.ignore_regions:
        from head360.fit.landmarks import face_region

        ignored = np.concatenate([face_region(name) for name in cfg.ignore_regions])
        use &= ~np.isin(idx, ignored)
    if use.sum() < 6:
        raise Head360Error(f"only {int(use.sum())} landmarks of the table were found; tracking needs at least 6")
    idx = idx[use]
    verts, bary = np.asarray(table.vertices)[use], np.asarray(table.weights, np.float64)[use]
    if int(verts.max()) >= mesh.num_vertices:
        raise Head360Error(f"the landmark table refers to vertex {int(verts.max())}; the mesh has {mesh.num_vertices}")

    def rows(a: np.ndarray) -> np.ndarray:  # [..., V, 3] -> [..., L, 3] (only the rows, then float64)
        return np.einsum("lk,...lkc->...lc", bary, np.asarray(a)[..., verts, :].astype(np.float64))

    nl = len(idx)
    k = mesh.interaction_rank
    mean_l = rows(mesh.mean)  # [L, 3]
    shape_l = rows(mesh.shape_basis).reshape(mesh.shape_dim, -1)  # [S, L*3]
    expr_l = rows(mesh.expr_basis).reshape(NUM_BLENDSHAPES, -1)  # [52, L*3]
    inter_l = rows(mesh.expr_shape_basis).reshape(NUM_BLENDSHAPES, k, -1) if k else None  # [52, K, L*3]
    target = np.stack([np.asarray(p, np.float64)[idx, :2] for p in points])  # [F, L, 2]
    conf = np.asarray(table.confidence, np.float64)[use]

    # focal: the one that puts the mean face at the rig's distance (unless given)
    spread_px = np.sqrt(((target - target.mean(1, keepdims=True)) ** 2).sum(-1).mean(-1))  # [F]
    spread_world = float(np.sqrt(((mean_l[:, :2] - mean_l[:, :2].mean(0)) ** 2).sum(-1).mean()))
    focal = float(cfg.focal_px) if cfg.focal_px else CAMERA_RADIUS * float(np.median(spread_px)) / spread_world

    # per-frame rigid start: PnP of the mean head (seeded facing the camera, then frame to frame)
    kmat = np.array([[focal, 0, principal[0]], [0, focal, principal[1]], [0, 0, 1]], np.float64)
    start = (
        mean_l if cfg.shape_code is None else mean_l + (np.asarray(cfg.shape_code, np.float64) @ shape_l).reshape(nl, 3)
    )
    rv, _ = cv2.Rodrigues(_R0)
    off = (target[0].mean(0) - principal) / focal * CAMERA_RADIUS
    tv = (np.array([off[0], off[1], CAMERA_RADIUS]) - _R0 @ start.mean(0)).reshape(3, 1)
    rvecs, tvecs = np.zeros((f, 3)), np.zeros((f, 3))
    for i in range(f):
        ok, r_i, t_i = cv2.solvePnP(start, target[i], kmat, None, rv.copy(), tv.copy(), True, cv2.SOLVEPNP_ITERATIVE)
        if ok and t_i[2, 0] > 0:
            rv, tv = r_i, t_i
        rvecs[i], tvecs[i] = rv.reshape(3), tv.reshape(3)

    dt = torch.float64
    mean_t = torch.as_tensor(mean_l.reshape(-1), dtype=dt)
    shape_t = torch.as_tensor(shape_l, dtype=dt)
    expr_t = torch.as_tensor(expr_l, dtype=dt)
    inter_t = None if inter_l is None else torch.as_tensor(inter_l, dtype=dt)
    target_t = torch.as_tensor(target, dtype=dt)
    conf_t = torch.as_tensor(conf, dtype=dt)[None, :, None]
    principal_t = torch.as_tensor(principal, dtype=dt)
    scale = max(float(np.median(spread_px)) * 2.0 * cfg.landmark_sigma, 1e-6)
    fixed_shape = cfg.shape_code is not None
    s = torch.tensor(
        np.zeros(mesh.shape_dim) if cfg.shape_code is None else np.asarray(cfg.shape_code, np.float64),
        dtype=dt,
        requires_grad=not fixed_shape,
    )
    fit_offsets = offsets is None and cfg.offset_sigma is not None
    offsets = torch.as_tensor(
        np.zeros(nl * 3) if offsets is None else np.asarray(offsets, np.float64).reshape(-1), dtype=dt
    ).requires_grad_(fit_offsets)
    b = torch.zeros(f, NUM_BLENDSHAPES, dtype=dt, requires_grad=True)
    unseen = [index_of(name) for name in UNSEEN_BY_LANDMARKS]
    rvec = torch.tensor(rvecs, dtype=dt, requires_grad=True)
    tvec = torch.tensor(tvecs, dtype=dt, requires_grad=True)
    depth = float(np.median(tvecs[:, 2]))

    def residuals():
        deltas = expr_t if inter_t is None else expr_t + torch.einsum("k,jkn->jn", s[:k], inter_t)
        pts = (mean_t + offsets + s @ shape_t)[None] + b @ deltas  # [F, L*3]
        cam = pts.view(f, nl, 3) @ _rotation_matrices(rvec).transpose(1, 2) + tvec[:, None, :]
        uv = focal * cam[..., :2] / cam[..., 2:3].clamp_min(1e-3) + principal_t
        return uv - target_t

    groups = [{"params": [b], "lr": 0.03}, {"params": [rvec], "lr": 0.003}, {"params": [tvec], "lr": 0.003 * depth}]
    if not fixed_shape:
        groups.append({"params": [s], "lr": 0.03})
    if fit_offsets:
        groups.append({"params": [offsets], "lr": 0.003})
    opt = torch.optim.Adam(groups)
    # thousands of tiny tensor ops: one intra-op thread is several times faster than two (and far faster
    # on a busy machine); only this thread's count changes, so the studio's viewport keeps its threads
    with single_torch_thread():
        for step in range(cfg.steps):
            opt.zero_grad()
            r = residuals()
            loss = (conf_t * (r / scale) ** 2).sum()
            loss = loss + cfg.weight_l1 * b.sum() + cfg.weight_l2 * (b * b).sum()
            if not fixed_shape:
                loss = loss + cfg.shape_prior * (s * s).sum()
            if fit_offsets:
                loss = loss + ((offsets / cfg.offset_sigma) ** 2).sum()
            if f > 1:
                loss = loss + cfg.temporal_prior * ((b[1:] - b[:-1]) ** 2).sum()
                turn = ((rvec[1:] - rvec[:-1]) / 0.05) ** 2
                move = ((tvec[1:] - tvec[:-1]) / (0.05 * depth)) ** 2
                loss = loss + cfg.pose_temporal_prior * (turn.sum() + move.sum())
            loss.backward()
            opt.step()
            with torch.no_grad():
                b.clamp_(0.0, 1.0)
                b[:, unseen] = 0.0  # no landmark sees them: they would only soak up lip residuals
            if progress is not None and (step % 10 == 9 or step == cfg.steps - 1):
                progress("fit", step + 1, cfg.steps)
    with torch.no_grad():
        err = torch.sqrt((residuals() ** 2).sum(-1).mean(-1)).numpy()
        rots = _rotation_matrices(rvec).numpy()
    angles = np.array([head_rotation_angles(_R0 @ r) for r in rots])
    return PerformanceSolution(
        weights=b.detach().numpy().copy(),
        rotation=angles,
        translation=tvec.detach().numpy().copy(),
        shape_code=s.detach().numpy().astype(np.float32),
        focal_px=focal,
        errors_px=err,
        offsets=offsets.detach().numpy().reshape(nl, 3).copy(),
    )
