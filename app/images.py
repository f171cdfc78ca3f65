"""Small image helpers for the panels: fit a picture into a fixed-size texture without stretching."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from head360.errors import Head360Error

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")


def letterbox_rgba(image: np.ndarray, size: int, background: float = 0.12, height: int | None = None) -> np.ndarray:
    """uint8 [H, W] / [H, W, 3|4] -> float32 [height * size * 4] (height defaults to size): scaled to fit
    inside the size x height box with its aspect ratio kept (never stretched), centred on a dark
    background."""
    from PIL import Image

    box_w, box_h = size, size if height is None else height
    img = np.asarray(image)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    img = img[..., :3]
    h, w = img.shape[:2]
    scale = min(box_w / w, box_h / h)
    nw, nh = max(1, min(box_w, round(w * scale))), max(1, min(box_h, round(h * scale)))
    small = np.asarray(Image.fromarray(np.ascontiguousarray(img)).resize((nw, nh), Image.BILINEAR))
    out = np.full((box_h, box_w, 4), background, np.float32)
    out[..., 3] = 1.0
    y0, x0 = (box_h - nh) // 2, (box_w - nw) // 2
    out[y0 : y0 + nh, x0 : x0 + nw, :3] = small.astype(np.float32) / 255.0
    return out.reshape(-1)


def read_image(path: str | Path) -> np.ndarray:
    """An image file -> uint8 [H, W, 3] (EXIF orientation applied). Head360Error if it is not an image."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as im:
            im = ImageOps.exif_transpose(im)
            return np.asarray(im.convert("RGB"))
    except FileNotFoundError:
        raise Head360Error(f"'{path}' does not exist") from None
    except (UnidentifiedImageError, OSError) as e:
        raise Head360Error(f"'{path.name}' is not an image this studio can read ({e})") from e
