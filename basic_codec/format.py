"""The `.bsic` container (DESIGN.md section 5), read and written without touching the model.

Layout (big-endian):
    fixed header  magic "BSIC", version, model id (8 bytes), height, width, colour mode,
                  bit depth, quality (u16, q * 65535), level (255 = explicit structure),
                  width index of g_a, h_a, h_s, g_s, partites K, tile size, tile rows, tile cols,
                  number of metadata chunks
    tile table    per tile: z stream length, y stream length, CRC32 of the tile's coded symbols
    payload       per tile: z stream, then y stream (32-bit ANS words)
    chunks        per chunk: 4-byte tag, u32 length, data (ICC profile, EXIF, XMP, alpha plane)
    trailer       CRC32 of everything before it

Every field is checked against the file size and documented limits before anything is
allocated; errors are `FormatError` with a one-line message.
"""
from __future__ import annotations

import math
import numbers
import struct
import zlib
from dataclasses import dataclass, field

from .errors import FormatError

MAGIC = b"BSIC"
# Version 3: each tile's entropy model reads its neighbours' z and decoded y (tile_coding.py).
# Version 2: symbols decided by exact integer arithmetic, each tile's entropy model on its own
# (still read). Version 1 (basic-codec 0.1) used float entropy parameters and is refused with a
# clear line.
VERSION = 3
READABLE = (2, 3)
MAX_SIDE = 65535  # pixels per side
MAX_PIXELS = 1 << 28  # 268 megapixels: the decoder's output buffer stays under ~1 GiB
MODES = {0: "RGB", 1: "L", 2: "RGBA", 3: "LA"}  # with alpha: an ALPH chunk holds the alpha plane
_FIXED = struct.Struct(">4sB8sIIBBHB5BHHHH")
_TILE = struct.Struct(">III")
_CHUNK = struct.Struct(">4sI")
# Optional chunks. ICCP: ICC profile; EXIF: EXIF block (as Pillow's `exif`); XMP: XMP packet;
# ALPH: the alpha plane, a lossless 8-bit grayscale PNG of the image's size.
ICC, EXIF, XMP, ALPHA = b"ICCP", b"EXIF", b"XMP ", b"ALPH"
_CRC = struct.Struct(">I")
HEADER_FIXED_BYTES = _FIXED.size
CUSTOM_LEVEL = 255


@dataclass
class TileCode:
    """One entropy-coded tile: what the model writes and reads, and what the file stores."""

    z: bytes
    y: bytes
    checksum: int  # CRC32 of every coded symbol (int32, coding order)


@dataclass
class BsicFile:
    model_id: bytes
    height: int
    width: int
    mode: str  # "RGB" or "L": what decoding returns
    quality16: int  # quality * 65535, the exact value both sides use
    level: int  # index in the writer's level table, or CUSTOM_LEVEL
    structure: tuple[int, int, int, int, int]  # g_a, h_a, h_s, g_s width indices, partites
    tile_size: int
    tiles: list[TileCode] = field(default_factory=list)
    bit_depth: int = 8
    version: int = VERSION
    chunks: dict[bytes, bytes] = field(default_factory=dict)  # tag -> data, in file order

    @property
    def quality(self) -> float:
        return self.quality16 / 65535

    @property
    def grid(self) -> tuple[int, int]:
        return math.ceil(self.height / self.tile_size), math.ceil(self.width / self.tile_size)

    def header_bytes(self) -> int:
        """Everything but the entropy-coded streams (metadata chunks included)."""
        chunks = sum(_CHUNK.size + len(d) for d in self.chunks.values())
        return _FIXED.size + _TILE.size * len(self.tiles) + chunks + _CRC.size

    def payload_bytes(self) -> int:
        return sum(len(t.z) + len(t.y) for t in self.tiles)


def quantize_quality(q: float) -> int:
    """q in [0, 1] (any real number type: int, float, numpy scalars) -> the u16 the file stores."""
    if not (isinstance(q, numbers.Real) and not isinstance(q, bool) and 0.0 <= float(q) <= 1.0):
        raise ValueError(f"quality must be a number in [0, 1], got {q!r}")
    return int(round(float(q) * 65535))


def check_size(height: int, width: int) -> None:
    if not (1 <= height <= MAX_SIDE and 1 <= width <= MAX_SIDE):
        raise FormatError(f"image size {width}x{height} outside 1..{MAX_SIDE} per side")
    if height * width > MAX_PIXELS:
        raise FormatError(f"image of {width}x{height} exceeds the {MAX_PIXELS // 2**20} MP limit")


def pack(f: BsicFile) -> bytes:
    check_size(f.height, f.width)
    rows, cols = f.grid
    if len(f.tiles) != rows * cols:
        raise ValueError("tile count does not match the tile grid")
    mode = {v: k for k, v in MODES.items()}[f.mode]
    if len(f.chunks) > 0xFFFF or any(len(tag) != 4 for tag in f.chunks):
        raise ValueError("chunk tags are 4 bytes, at most 65535 chunks")
    parts = [_FIXED.pack(MAGIC, f.version, f.model_id, f.height, f.width, mode, f.bit_depth,
                         f.quality16, f.level, *f.structure, f.tile_size, rows, cols, len(f.chunks))]
    parts += [_TILE.pack(len(t.z), len(t.y), t.checksum) for t in f.tiles]
    for t in f.tiles:
        parts += [t.z, t.y]
    for tag, chunk in f.chunks.items():
        parts += [_CHUNK.pack(tag, len(chunk)), chunk]
    body = b"".join(parts)
    return body + _CRC.pack(zlib.crc32(body))


def unpack(data: bytes) -> BsicFile:
    """Parse and validate a whole file; the streams are returned as views of `data`."""
    if len(data) < 5 or data[:4] != MAGIC:
        raise FormatError("not a .bsic file (bad magic)" if len(data) >= 4 else "file is empty or truncated")
    if data[4] == 1:
        raise FormatError("this is a version-1 .bsic file (basic-codec 0.1, float entropy path); this build "
                          f"reads versions {READABLE[0]}-{READABLE[-1]}: decode it with basic-codec 0.1 on the machine that wrote it, "
                          "or re-encode the original image")
    if data[4] not in READABLE:
        raise FormatError(f"unsupported .bsic version {data[4]} (this build reads versions "
                          f"{READABLE[0]}-{READABLE[-1]})")
    if len(data) < _FIXED.size + _CRC.size:
        raise FormatError("file is truncated (incomplete header)")
    (_, version, model_id, height, width, mode, depth, q16, level, ga, ha, hs, gs, k,
     tile, rows, cols, n_chunks) = _FIXED.unpack_from(data, 0)
    table_end = _FIXED.size + _TILE.size * rows * cols
    if table_end + _CRC.size > len(data):
        raise FormatError("file is truncated (tile table)")
    lengths = [_TILE.unpack_from(data, _FIXED.size + _TILE.size * i) for i in range(rows * cols)]
    pos = table_end + sum(z + y for z, y, _ in lengths)
    chunks: dict[bytes, bytes] = {}
    for _ in range(n_chunks):
        if pos + _CHUNK.size + _CRC.size > len(data):
            raise FormatError("file is truncated (metadata chunks)")
        tag, n = _CHUNK.unpack_from(data, pos)
        if tag in chunks:
            raise FormatError(f"chunk {tag!r} appears twice")
        chunks[tag] = data[pos + _CHUNK.size : pos + _CHUNK.size + n]
        pos += _CHUNK.size + n
    expected = pos + _CRC.size
    if expected > len(data):
        raise FormatError(f"file is truncated ({len(data)} of {expected} bytes)")
    if expected < len(data):
        raise FormatError(f"file has {len(data) - expected} unexpected trailing bytes")
    (crc,) = _CRC.unpack_from(data, len(data) - _CRC.size)
    if zlib.crc32(memoryview(data)[: len(data) - _CRC.size]) != crc:
        raise FormatError("CRC mismatch: the file is corrupt")
    # The CRC matched, so what follows catches writers that were wrong, not transmission errors.
    check_size(height, width)
    if mode not in MODES:
        raise FormatError(f"unknown colour mode {mode}")
    if depth != 8:
        raise FormatError(f"unsupported bit depth {depth}")
    if tile < 64 or tile % 64:
        raise FormatError(f"invalid tile size {tile}")
    if (rows, cols) != (math.ceil(height / tile), math.ceil(width / tile)):
        raise FormatError("tile grid does not match the image size")
    tiles, pos = [], table_end
    view = memoryview(data)
    for zl, yl, sym_crc in lengths:
        if zl % 4 or yl % 4:
            raise FormatError("stream length is not a whole number of 32-bit words")
        tiles.append(TileCode(bytes(view[pos : pos + zl]), bytes(view[pos + zl : pos + zl + yl]), sym_crc))
        pos += zl + yl
    if MODES[mode] in ("RGBA", "LA") and ALPHA not in chunks:
        raise FormatError(f"colour mode {MODES[mode]} without an alpha chunk")
    return BsicFile(model_id, height, width, MODES[mode], q16, level, (ga, ha, hs, gs, k), tile,
                    tiles, depth, version, chunks)
