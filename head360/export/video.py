"""Turntable renders and video files: H.264 mp4 (libx264, yuv420p, through imageio-ffmpeg's bundled
ffmpeg) and GIF (Pillow, adaptive palette), both written atomically."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

from head360.cameras import CAMERA_RADIUS, Camera
from head360.errors import Head360Error
from head360.fileio import atomic_path

VIDEO_SUFFIXES = (".mp4", ".gif")
FPS_RANGE = {".mp4": (0.1, 240.0), ".gif": (0.1, 50.0)}
"""Frame rates each format can carry: ffmpeg's rate is written to two decimals; a GIF frame lasts a whole
number of hundredths of a second (at most 655 s), and players slow down frames shorter than 2/100 s."""


def check_fps(fps: float, path: str | Path) -> float:
    """``fps`` if the video format of ``path`` can play it at that rate, else Head360Error."""
    lo, hi = FPS_RANGE.get(Path(path).suffix.lower(), FPS_RANGE[".mp4"])
    if not lo <= fps <= hi:  # also refuses nan
        raise Head360Error(f"--fps must be between {lo:g} and {hi:g} for a {Path(path).suffix} video, got {fps:g}")
    return float(fps)


def gif_durations(count: int, fps: float) -> list[int]:
    """Per-frame GIF delays in ms (whole hundredths of a second) whose running total follows ``fps``:
    12 fps alternates 80 and 90 ms rather than playing every frame at 80 ms (12.5 fps)."""
    ends = np.round(np.arange(1, count + 1) * 100.0 / fps).astype(np.int64)
    return (np.diff(ends, prepend=0) * 10).tolist()


def turntable_cameras(frames: int, pitch_deg: float = 0.0, radius: float = CAMERA_RADIUS) -> list[Camera]:
    """``frames`` cameras of a full orbit starting at the front (yaw 0, 360/frames apart)."""
    return [Camera.orbit(360.0 * i / frames, pitch_deg, radius) for i in range(frames)]


def turntable_frames(
    generator,
    planes,
    frames: int = 120,
    resolution: int | None = None,
    pitch_deg: float = 0.0,
    quality: str = "full",
    hair: bool = True,
    batch: int = 4,
    progress: Callable[[int], None] | None = None,
) -> Iterator[np.ndarray]:
    """Yield ``frames`` uint8 images [H, W, 3] of one head (planes of batch 1) orbiting 360 degrees.

    Only the camera changes, so the planes (and their occupancy grid) are reused for every frame; each
    ``batch`` cameras are one :func:`head360.export.render.render_view`. ``progress(n)`` is called after
    every ``n`` frames rendered.
    """
    from head360.export.render import render_view

    if frames < 1:
        raise Head360Error(f"--frames must be at least 1, got {frames}")
    cameras = turntable_cameras(frames, pitch_deg)
    for i in range(0, frames, batch):
        yield from render_view(generator, planes, cameras[i : i + batch], "rgb", resolution, quality, hair)
        if progress is not None:
            progress(min(batch, frames - i))


def write_video(frames: Iterable[np.ndarray], path: str | Path, fps: float = 30.0) -> int:
    """Write uint8 frames [H, W, 3] (all the same size) to ``.mp4`` or ``.gif``; returns the frame count.

    Nothing is left at ``path`` if writing fails midway. mp4 needs even sizes (yuv420p): odd sizes
    are padded by one pixel (edge colour).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        raise Head360Error(f"videos can be {', '.join(VIDEO_SUFFIXES)}; got '{path.name}'")
    check_fps(fps, path)
    count = 0
    with atomic_path(path) as tmp:
        if suffix == ".mp4":
            import imageio_ffmpeg

            writer = None
            try:
                for frame in frames:
                    frame = np.ascontiguousarray(frame[..., :3], dtype=np.uint8)
                    h, w = frame.shape[:2]
                    if h % 2 or w % 2:
                        frame = np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
                    if writer is None:
                        writer = imageio_ffmpeg.write_frames(
                            str(tmp),
                            (frame.shape[1], frame.shape[0]),
                            fps=fps,
                            codec="libx264",
                            pix_fmt_out="yuv420p",
                            macro_block_size=1,
                            quality=8,
                            ffmpeg_log_level="error",
                            output_params=["-movflags", "+faststart"],  # the index first: plays while loading
                        )
                        writer.send(None)
                    writer.send(frame)
                    count += 1
            finally:
                if writer is not None:
                    writer.close()
            if count and tmp.stat().st_size == 0:
                raise Head360Error(f"ffmpeg wrote nothing for '{path.name}'; try another --fps or --resolution")
        else:
            from PIL import Image

            images = [Image.fromarray(np.ascontiguousarray(f[..., :3], dtype=np.uint8)) for f in frames]
            count = len(images)
            if count:
                pal = [im.quantize(colors=255, method=Image.Quantize.MEDIANCUT) for im in images]
                pal[0].save(
                    tmp, format="GIF", save_all=True, append_images=pal[1:], duration=gif_durations(count, fps), loop=0
                )
        if count == 0:
            raise Head360Error("no frames to write")
    return count


def read_video_frame_count(path: str | Path) -> tuple[int, tuple[int, int]]:
    """(frame count, (width, height)) of a written mp4 or gif, decoding every frame."""
    path = Path(path)
    if path.suffix.lower() == ".gif":
        from PIL import Image, ImageSequence

        with Image.open(path) as im:
            return sum(1 for _ in ImageSequence.Iterator(im)), im.size
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path))
    meta = reader.__next__()
    n = sum(1 for _ in reader)
    return n, tuple(meta["size"])
