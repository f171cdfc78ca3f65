"""Reading videos for performance capture: frames as uint8 RGB through imageio-ffmpeg (mp4, mov, webm,
avi, mkv...) or Pillow (GIF, with its own per-frame durations)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

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
