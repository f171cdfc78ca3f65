"""Reading a user's photo: any size, JPEG / PNG / WebP / BMP / TIFF, RGB / RGBA / grayscale / 16-bit,
with the camera's EXIF orientation applied (a portrait shot on a phone arrives upright).

Everything downstream works on ``uint8 [H, W, 3]`` RGB. A transparent background (RGBA) is composited
over white -- the model's background colour -- and its alpha is kept as a hint of where the person is.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from head360.errors import Head360Error

MAX_SIDE = 4096
"""Photos larger than this (longest side, pixels) are scaled down, keeping their aspect ratio."""

MIN_SIDE = 32
"""Smaller images cannot hold a usable face."""

MAX_PIXELS = 50_000_000
"""Photo files with more pixels are refused from their header, before they are decoded (memory)."""


@dataclass
class Photo:
    """A loaded photo.

    rgb:    [H, W, 3] uint8, upright (EXIF orientation applied), transparency composited over white
    alpha:  [H, W] uint8 or None: the file's own transparency (255 = opaque), when it had one
    name:   file name (or "image") for messages and the subject file's ``source``
    scale:  how much the file was scaled down to fit ``MAX_SIDE`` (1.0 = not at all)
    """

    rgb: np.ndarray
    alpha: np.ndarray | None
    name: str
    scale: float = 1.0

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])


def load_photo(source, name: str | None = None) -> Photo:
    """A photo from a path, a PIL image or a numpy array (``[H, W]``, ``[H, W, 1|3|4]``; uint8, uint16
    or float in [0, 1]). Files that are not images, empty arrays and tiny images raise Head360Error."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if isinstance(source, str | Path):
        path = Path(source)
        if not path.exists():
            raise Head360Error(f"photo '{path}' not found; check the path")
        if path.is_dir():
            raise Head360Error(f"'{path}' is a folder, not a photo; pass an image file (JPEG, PNG or WebP)")
        try:
            with warnings.catch_warnings():  # the size is checked here, against a lower limit than Pillow's
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                im = Image.open(path)
            with im:
                _refuse_huge(im.size, path.name)
                longest = max(im.size)
                if max(im.size) > MAX_SIDE:  # JPEG decodes straight at 1/2, 1/4 or 1/8 size; others ignore it
                    im.draft(im.mode, tuple(max(1, n * MAX_SIDE // max(im.size)) for n in im.size))
                im.load()
                image = ImageOps.exif_transpose(im)
                if image is im:
                    image = im.copy()
        except Image.DecompressionBombError:
            _refuse_huge(None, path.name)
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
            raise Head360Error(
                f"'{path.name}' is not an image this program can read ({type(e).__name__}); "
                "use a JPEG, PNG or WebP photo"
            ) from e
        photo = _from_pil(image, name or path.name)
        photo.scale = max(photo.width, photo.height) / longest
        return photo
    if isinstance(source, Image.Image):
        return _from_pil(ImageOps.exif_transpose(source) or source, name or "image")
    if isinstance(source, np.ndarray):
        return _from_array(source, name or "image")
    raise Head360Error(f"expected a photo path, a PIL image or a numpy array, got {type(source).__name__}")


def _refuse_huge(size: tuple[int, int] | None, name: str) -> None:
    """Head360Error for a photo of more than MAX_PIXELS (size None: one Pillow already found far larger)."""
    if size is None or size[0] * size[1] > MAX_PIXELS:
        found = "" if size is None else f" ({size[0]}x{size[1]})"
        raise Head360Error(
            f"'{name}' is too large{found}: photos can have at most {MAX_PIXELS // 1_000_000} megapixels; "
            f"scale it down (e.g. to {MAX_SIDE} pixels on its longest side)"
        )


def _from_pil(image, name: str) -> Photo:
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if mode.startswith("I;16") or arr.max() > 255 else 255.0
        return _from_array((arr / peak).astype(np.float32), name)
    if mode == "F":
        arr = np.asarray(image, dtype=np.float32)
        return _from_array(arr / max(float(arr.max()), 1e-6), name)
    has_alpha = mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in image.info)
    image = image.convert("RGBA" if has_alpha else "RGB")
    if max(image.size) >= 2 * MAX_SIDE:  # shrink by a whole factor before the array copies (memory)
        image = image.reduce(max(image.size) // MAX_SIDE)
    return _from_array(np.asarray(image), name)


def _from_array(arr: np.ndarray, name: str) -> Photo:
    arr = np.asarray(arr)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)) or arr.size == 0:
        raise Head360Error(f"'{name}' is not an RGB, RGBA or grayscale image (array shape {arr.shape})")
    if arr.dtype == np.uint8:
        img = arr
    elif arr.dtype == np.uint16:
        img = (arr.astype(np.float64) / 257.0).round().astype(np.uint8)
    elif np.issubdtype(arr.dtype, np.floating) or arr.dtype == np.bool_:
        if arr.dtype != np.bool_ and not np.isfinite(arr).all():
            raise Head360Error(f"'{name}' has NaN or infinite pixel values")
        img = (np.clip(arr.astype(np.float64), 0.0, 1.0) * 255.0).round().astype(np.uint8)
    else:
        img = np.clip(arr, 0, 255).astype(np.uint8)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    alpha = None
    if img.shape[2] == 4:
        alpha = img[..., 3].copy()
        a = alpha[..., None].astype(np.float32) / 255.0
        img = (img[..., :3].astype(np.float32) * a + 255.0 * (1.0 - a)).round().astype(np.uint8)
        if (alpha == 255).all():
            alpha = None
    h, w = img.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise Head360Error(f"'{name}' is only {w}x{h} pixels; use a photo where the face is at least 100 pixels tall")
    scale = 1.0
    if max(h, w) > MAX_SIDE:
        import cv2

        scale = MAX_SIDE / max(h, w)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
        if alpha is not None:
            alpha = cv2.resize(alpha, size, interpolation=cv2.INTER_AREA)
    return Photo(np.ascontiguousarray(img), alpha, name, scale)
