"""Hand-written image files for tests and robustness runs (scripts/input_kinds.py): what Pillow
will not write for us — 16-bit PNGs as cameras and scanners make them, and PNG headers that
declare a huge image while holding almost no data (a decompression-bomb stand-in)."""
from __future__ import annotations

import struct
import zlib

import numpy as np

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png16(arr: np.ndarray) -> bytes:
    """A 16-bit PNG of a gray (HxW) or RGB (HxWx3) integer array."""
    h, w = arr.shape[:2]
    raw = b"".join(b"\x00" + row.astype(">u2").tobytes() for row in arr.reshape(h, -1))
    ihdr = struct.pack(">IIBBBBB", w, h, 16, 0 if arr.ndim == 2 else 2, 0, 0, 0)
    return PNG_SIGNATURE + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b"")


def png_header(w: int, h: int) -> bytes:
    """An 8-bit RGB PNG that declares w x h pixels but holds almost none."""
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (PNG_SIGNATURE + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + png_chunk(b"IEND", b""))
