"""Photos are size-checked from their header before decoding; large ones come in shrunk."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from head360.errors import Head360Error
from head360.fit.image import MAX_SIDE, load_photo


def _png_header(path, width: int, height: int) -> None:
    """A PNG whose header claims width x height (no pixel data: nothing should ever decode it)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))


@pytest.mark.parametrize("side", [30000, 10000])
def test_huge_photos_are_refused_from_the_header(tmp_path, side):
    path = tmp_path / "huge.png"
    _png_header(path, side, side)
    with pytest.raises(Head360Error, match="too large.*megapixels; scale it down") as e:
        load_photo(path)
    assert "\n" not in str(e.value)


def test_a_large_jpeg_comes_in_at_most_max_side(tmp_path):
    path = tmp_path / "big.jpg"
    Image.fromarray(np.full((2 * MAX_SIDE + 8, 600, 3), 128, np.uint8)).save(path, quality=80)
    photo = load_photo(path)
    assert max(photo.width, photo.height) <= MAX_SIDE
    assert photo.scale == pytest.approx(photo.height / (2 * MAX_SIDE + 8))
