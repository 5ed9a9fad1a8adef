"""Fuzzing the decoder: every damaged .bsic file ends in a CodecError or a valid image, fast, in bounded memory.

Two real files from `tiny_codec` (70x90 grayscale, one tile; 150x200 RGB, a 2x2 tile grid) are
damaged in ~700 ways with a fixed seed: truncations, bit flips, overwritten bytes, oversize
fields, zero-length streams, and damage with the trailing CRC32 recomputed so that the field
checks, the structure checks, the ANS decoder and the symbol checksum are what must catch it.
Run with `pytest -s` to see the counts.
"""
from __future__ import annotations

import collections
import random
import resource
import signal
import time
import tracemalloc
import zlib

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from basic_codec import format as fmt
from basic_codec.errors import CodecError, FormatError

SEED = 20240917
CASE_CPU_S = 2.0  # CPU seconds per case (process time: robust to a busy, niced machine)
CASE_WALL_S = 60.0  # a case still running after this is a hang: SIGALRM turns it into a failure
MEM_MB = 256  # per-case traced allocations beyond the decoded image the header declares
RSS_GROWTH_MB = 300  # growth of the process's peak RSS over the whole run
MIN_CASES = 500

# Byte offsets of the fixed header fields (see format._FIXED: >4sB8sIIBBHB5BHHHH).
OFF = {"magic": 0, "version": 4, "model_id": 5, "height": 13, "width": 17, "mode": 21, "depth": 22,
       "quality": 23, "level": 25, "g_a": 26, "h_a": 27, "h_s": 28, "g_s": 29, "partites": 30,
       "tile": 31, "rows": 33, "cols": 35, "chunks": 37}
SIZE = {"magic": 4, "version": 1, "model_id": 8, "height": 4, "width": 4, "mode": 1, "depth": 1,
        "quality": 2, "level": 1, "g_a": 1, "h_a": 1, "h_s": 1, "g_s": 1, "partites": 1,
        "tile": 2, "rows": 2, "cols": 2, "chunks": 2}
assert fmt.HEADER_FIXED_BYTES == 39 == OFF["chunks"] + SIZE["chunks"]
TILE_ENTRY = 12
# Header fields that do not change the decoded symbols (so the checksum cannot see them): the
# quality only scales y before g_s, the level is informational, the mode picks RGB or L output,
# g_a/h_a are encoder-only widths and g_s is the synthesis width after the symbols are decoded;
# a height or width that keeps the tile grid only crops the decoded tiles differently. The
# checksum covers the symbols, not the means: an h_s width that leaves every scale index alone
# decodes too (with the random-weight tiny model, h_s 0 and 1 give the very same image).
DECODE_ANYWAY = {"quality", "level", "mode", "g_a", "h_a", "g_s", "height", "width", "h_s"}


def recrc(body: bytes | bytearray) -> bytes:
    """Replace the trailing CRC32 so that the damage gets past the CRC check."""
    body = bytes(body[:-4])
    return body + zlib.crc32(body).to_bytes(4, "big")


def set_field(data: bytes, name: str, value: int) -> bytes:
    b = bytearray(data)
    n = SIZE[name]
    b[OFF[name]:OFF[name] + n] = (value % (1 << (8 * n))).to_bytes(n, "big")
    return recrc(b)


class Layout:
    """Where things are in one valid file."""

    def __init__(self, data: bytes) -> None:
        f = fmt.unpack(data)
        self.data, self.file = data, f
        self.n = len(f.tiles)
        self.table = fmt.HEADER_FIXED_BYTES
        self.payload = self.table + TILE_ENTRY * self.n
        self.streams = []  # (start, end) of z then y of every tile
        pos = self.payload
        for t in f.tiles:
            self.streams += [(pos, pos + len(t.z)), (pos + len(t.z), pos + len(t.z) + len(t.y))]
            pos += len(t.z) + len(t.y)
        self.crc = pos
        assert self.crc + 4 == len(data)

    def entry(self, i: int) -> int:
        return self.table + TILE_ENTRY * i

    def boundaries(self) -> list[int]:
        cuts = set(OFF.values()) | {fmt.HEADER_FIXED_BYTES, self.payload, self.crc, len(self.data)}
        for i in range(self.n):
            cuts |= {self.entry(i), self.entry(i) + 4, self.entry(i) + 8}
        cuts |= {a for a, _ in self.streams} | {b for _, b in self.streams}
        return sorted(cuts)

    def with_streams(self, streams: list[tuple[bytes, bytes]], checksums=None) -> bytes:
        """A consistent file (right lengths, right CRC) with the header of this one and other streams."""
        f = self.file
        tiles = [fmt.TileCode(z, y, (checksums or [t.checksum for t in f.tiles])[i])
                 for i, ((z, y), t) in enumerate(zip(streams, f.tiles))]
        g = fmt.BsicFile(f.model_id, f.height, f.width, f.mode, f.quality16, f.level, f.structure,
                         f.tile_size, tiles, f.bit_depth, f.version)
        return fmt.pack(g)


def forged(lay: Layout, height: int, width: int, stream: tuple[bytes, bytes] = (b"", b"")) -> bytes:
    """A header declaring height x width with a consistent tile grid, every tile given `stream`,
    and a valid CRC: raw bytes, so that sizes the writer would refuse can be forged too."""
    f = lay.file
    rows, cols = -(-height // f.tile_size), -(-width // f.tile_size)
    head = bytearray(lay.data[:fmt.HEADER_FIXED_BYTES])
    head[13:17], head[17:21] = height.to_bytes(4, "big"), width.to_bytes(4, "big")
    head[33:35], head[35:37] = (rows % 65536).to_bytes(2, "big"), (cols % 65536).to_bytes(2, "big")
    n = (rows % 65536) * (cols % 65536)
    z, y = stream
    body = bytes(head) + fmt._TILE.pack(len(z), len(y), 0) * n + (z + y) * n
    return body + zlib.crc32(body).to_bytes(4, "big")


def mutations(lay: Layout, rng: random.Random):
    """Yield (category, bytes) for one valid file."""
    data, n_bytes = lay.data, len(lay.data)

    # 1. truncations: at and around every header/table/stream boundary, plus a sample of others
    cuts = {c + d for c in lay.boundaries() for d in (-1, 0, 1) if 0 <= c + d < n_bytes}
    cuts |= {rng.randrange(n_bytes) for _ in range(25)}
    for c in sorted(cuts):
        yield "truncate", data[:c]
    yield "truncate", data + b"\x00"  # and one byte too many

    # 2. random bit flips (1 to 3 bits), anywhere
    for _ in range(60):
        b = bytearray(data)
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            i = rng.randrange(n_bytes)
            b[i] ^= 1 << rng.randrange(8)
        yield "bitflip", bytes(b)

    # 3. random bytes overwritten, anywhere
    for _ in range(40):
        b = bytearray(data)
        i = rng.randrange(n_bytes)
        k = rng.randint(1, 8)
        b[i:i + k] = bytes(rng.randrange(256) for _ in range(len(b[i:i + k])))
        yield "overwrite", bytes(b)

    # 4. oversize / nonsense header fields, CRC recomputed (the field checks must catch them)
    huge = [0, 1, 63, 65, 2**15, 65535, 65536, 2**31, 2**32 - 1]
    for name in ("height", "width"):
        for v in huge + [rng.randrange(2**32)]:
            yield "field+crc", set_field(data, name, v), name
    for name in ("tile", "rows", "cols"):
        for v in [0, 1, 2, 63, 64, 192, 1024, 32768, 65535, rng.randrange(65536)]:
            yield "field+crc", set_field(data, name, v), name
    #    ... and oversize stream lengths in the tile table
    for i in range(lay.n):
        for k in (0, 4):
            for v in (2**32 - 4, 2**31, 2**24, n_bytes * 4, rng.randrange(2**32)):
                b = bytearray(data)
                b[lay.entry(i) + k:lay.entry(i) + k + 4] = v.to_bytes(4, "big")
                yield "field+crc", recrc(b)

    # 5. the other header fields with a valid CRC: version, mode, depth, structure, K, model id, ...
    #    (labelled with the field: a few of these legitimately decode, see DECODE_ANYWAY)
    for v in (0, 1, 3, 255):
        yield "header+crc", set_field(data, "version", v), "version"
    for v in (0, 1, 2, 3, 255):
        yield "header+crc", set_field(data, "mode", v), "mode"
    for v in (1, 2, 65535):
        yield "header+crc", set_field(data, "chunks", v), "chunks"
    for v in (0, 7, 16, 255):
        yield "header+crc", set_field(data, "depth", v), "depth"
    for name in ("g_a", "h_a", "h_s", "g_s"):
        for v in (0, 1, 2, 255):
            yield "header+crc", set_field(data, name, v), name
    for v in (0, 1, 2, 3, 4, 8, 16, 255):
        yield "header+crc", set_field(data, "partites", v), "partites"
    for v in (0, 1, 65535, rng.randrange(65536)):
        yield "header+crc", set_field(data, "quality", v), "quality"
    for v in (0, 200, 255):
        yield "header+crc", set_field(data, "level", v), "level"
    yield "header+crc", set_field(data, "model_id", 0), "model_id"
    yield "header+crc", set_field(data, "magic", int.from_bytes(b"BSIc", "big")), "magic"

    # 6. stream boundaries moved inside a consistent file (sum of lengths kept, CRC recomputed)
    for i in range(lay.n):
        for dz in (-4, 4, -1, 1, 8):
            z, y = lay.file.tiles[i].z, lay.file.tiles[i].y
            if 0 <= len(z) + dz and 0 <= len(y) - dz:
                b = bytearray(data)
                e = lay.entry(i)
                b[e:e + 4] = (len(z) + dz).to_bytes(4, "big")
                b[e + 4:e + 8] = (len(y) - dz).to_bytes(4, "big")
                yield "moved+crc", recrc(b)

    # 7. zero-length streams (consistent file, valid CRC)
    orig = [(t.z, t.y) for t in lay.file.tiles]
    for i in range(lay.n):
        for which in ("z", "y", "zy"):
            s = list(orig)
            s[i] = (b"" if "z" in which else s[i][0], b"" if "y" in which else s[i][1])
            yield "empty+crc", lay.with_streams(s)
    yield "empty+crc", lay.with_streams([(b"", b"")] * lay.n)

    # 8. damaged payload with a valid CRC: only the ANS decoder / symbol checksum can catch these
    for _ in range(45):
        b = bytearray(data)
        a, e = lay.streams[rng.randrange(len(lay.streams))]
        if e == a:
            continue
        kind = rng.randrange(4)
        if kind == 0:  # one bit
            i = rng.randrange(a, e)
            b[i] ^= 1 << rng.randrange(8)
        elif kind == 1:  # a few bytes
            i = rng.randrange(a, e)
            b[i:min(e, i + 4)] = bytes(rng.randrange(256) for _ in range(min(e, i + 4) - i))
        elif kind == 2:  # a whole 32-bit word zeroed (the last one is special to ANS)
            w = rng.choice([e - 4, a + 4 * rng.randrange((e - a) // 4)])
            b[w:w + 4] = b"\x00\x00\x00\x00"
        else:  # random tail from a random word on
            w = a + 4 * rng.randrange((e - a) // 4)
            b[w:e] = bytes(rng.randrange(256) for _ in range(e - w))
        yield "payload+crc", recrc(b)
    for i in range(lay.n):  # the per-tile symbol checksum itself
        b = bytearray(data)
        b[lay.entry(i) + 8 + rng.randrange(4)] ^= 1 << rng.randrange(8)
        yield "payload+crc", recrc(b)
    if lay.n > 1:  # streams of two tiles swapped; one tile's streams everywhere
        s = list(orig)
        s[0], s[-1] = s[-1], s[0]
        yield "payload+crc", lay.with_streams(s)
        yield "payload+crc", lay.with_streams([orig[0]] * lay.n)
    for i in range(lay.n):  # z and y of one tile exchanged
        s = list(orig)
        s[i] = (orig[i][1], orig[i][0])
        yield "payload+crc", lay.with_streams(s)


def big_forgeries(lay: Layout):
    """Huge sizes with a consistent tile grid and valid CRC: the size checks or the first tile must stop them."""
    for h, w in [(70000, 64), (64, 70000), (20000, 20000), (fmt.MAX_SIDE, 4200), (2**32 - 1, 1)]:
        yield "forged-size", forged(lay, h, w)
    # within the limits (64 MP) but the tiles hold nothing useful: the decoder must give up on tile 0
    yield "forged-size", forged(lay, 8192, 8192)
    yield "forged-size", forged(lay, 8192, 8192, (lay.file.tiles[-1].z, lay.file.tiles[-1].y))


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang(f"case still running after {CASE_WALL_S} s")


def _smooth(h: int, w: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.stack([128 + 100 * np.sin(xx / (9 + 5 * c) + yy / (13 - 3 * c) + c) for c in range(3)], -1)
    return np.clip(img + rng.normal(0, 8, img.shape), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def valid_files(tiny_codec):
    gray = _smooth(70, 90, 1)[..., 0]  # HxW uint8 -> coded as grayscale, one tile
    rgb = _smooth(150, 200, 2)  # 2x2 tiles of 128
    files = [tiny_codec.compress(gray, 0.3, level=0), tiny_codec.compress(rgb, 0.7, level=3)]
    assert [len(fmt.unpack(d).tiles) for d in files] == [1, 4]
    return files


def test_fuzz_decoder(tiny_codec, valid_files):
    rng = random.Random(SEED)
    cases = []
    for d in valid_files:
        lay = Layout(d)
        cases += [("valid", d)] + [c for c in mutations(lay, rng) if c[1] != d] + list(big_forgeries(lay))

    counts: collections.Counter = collections.Counter()
    per_cat: dict = collections.defaultdict(collections.Counter)
    failures, slowest, decoded_fields = [], (0.0, ""), set()
    old_handler = signal.signal(signal.SIGALRM, _alarm)
    tracemalloc.start()
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    t_start = time.perf_counter()
    try:
        for n, (cat, blob, *label) in enumerate(cases):
            try:
                header = fmt.unpack(blob)
                declared = header.height * header.width * 3
            except FormatError:
                header, declared = None, 0
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
            c0 = time.process_time()
            signal.setitimer(signal.ITIMER_REAL, CASE_WALL_S)
            try:
                img = tiny_codec.decompress(blob)
                outcome = "decoded"
                if header is None or img.size != (header.width, header.height) or img.mode != header.mode:
                    failures.append(f"#{n} {cat}: decoded {img.size} {img.mode}, header says "
                                    f"{header and (header.width, header.height, header.mode)}")
            except CodecError as e:
                outcome = type(e).__name__
                msg = str(e)
                if not msg or "\n" in msg:
                    failures.append(f"#{n} {cat}: {outcome} message is not one line: {msg!r}")
            except Hang as e:
                outcome = "HANG"
                failures.append(f"#{n} {cat}: {e}")
            except Exception as e:  # noqa: BLE001 - exactly what this test is looking for
                outcome = f"BUG:{type(e).__name__}"
                failures.append(f"#{n} {cat}: {type(e).__name__}: {e}")
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            cpu = time.process_time() - c0
            peak_mb = (tracemalloc.get_traced_memory()[1] - base) / 2**20
            counts[outcome] += 1
            if outcome == "decoded" and label:
                decoded_fields.add(label[0])
            per_cat[cat][outcome] += 1
            slowest = max(slowest, (cpu, f"#{n} {cat} -> {outcome}"))
            if cpu > CASE_CPU_S:
                failures.append(f"#{n} {cat}: {cpu:.2f} CPU s")
            if peak_mb > MEM_MB + declared / 2**20:
                failures.append(f"#{n} {cat}: {peak_mb:.0f} MB traced")
    finally:
        tracemalloc.stop()
        signal.signal(signal.SIGALRM, old_handler)
    rss_growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024
    wall = time.perf_counter() - t_start

    total = sum(counts.values())
    from tests.conftest import SUMMARY

    SUMMARY.append(f"fuzz: {total} mutated files (seed {SEED}) in {wall:.1f} s: "
                   + ", ".join(f"{k} {v}" for k, v in counts.most_common()))
    print(f"\nfuzz: {total} cases in {wall:.1f} s (seed {SEED}); slowest {slowest[0]:.3f} CPU s ({slowest[1]}); "
          f"peak RSS growth {rss_growth_mb:.0f} MB")
    print("fuzz outcomes: " + ", ".join(f"{k} {v}" for k, v in counts.most_common()))
    for cat, c in per_cat.items():
        print(f"  {cat:>12}: " + ", ".join(f"{k} {v}" for k, v in c.most_common()))

    assert not failures, f"{len(failures)} bad cases:\n" + "\n".join(failures[:30])
    assert total >= MIN_CASES
    assert per_cat["valid"] == {"decoded": 2}
    assert rss_growth_mb < RSS_GROWTH_MB
    # damage that gets past the CRC must still be caught; a valid image of the header's size is
    # expected only where the changed field takes no part in decoding the symbols
    for cat in ("moved+crc", "empty+crc", "payload+crc", "forged-size"):
        assert per_cat[cat]["decoded"] == 0, (cat, per_cat[cat])
    assert decoded_fields <= DECODE_ANYWAY, decoded_fields


# --------------------------------------------------------------------------- container property
# tests/test_format.py checks pack -> unpack. This checks the other direction on damaged input:
# whatever unpack accepts (CRC recomputed, so the field checks decide) is canonical: it packs back
# to the very same bytes, and nothing but FormatError ever comes out of unpack.

@st.composite
def damaged_files(draw):
    h, w = draw(st.integers(1, 400)), draw(st.integers(1, 400))
    tile = draw(st.sampled_from([64, 128, 256]))
    rows, cols = -(-h // tile), -(-w // tile)
    words = st.binary(max_size=16).map(lambda b: b[: len(b) // 4 * 4])
    tiles = [fmt.TileCode(draw(words), draw(words), draw(st.integers(0, 2**32 - 1)))
             for _ in range(rows * cols)]
    f = fmt.BsicFile(draw(st.binary(min_size=8, max_size=8)), h, w, draw(st.sampled_from(["RGB", "L"])),
                     draw(st.integers(0, 65535)), draw(st.integers(0, 255)),
                     tuple(draw(st.integers(0, 255)) for _ in range(5)), tile, tiles)
    data = bytearray(fmt.pack(f))
    for _ in range(draw(st.integers(0, 4))):
        i = draw(st.integers(0, len(data) - 5))
        data[i] = draw(st.integers(0, 255))
    cut = draw(st.one_of(st.none(), st.integers(0, len(data))))
    data = bytes(data[:cut]) if cut is not None else bytes(data)
    return recrc(data) if len(data) >= 4 and draw(st.booleans()) else data


@given(damaged_files())
@settings(max_examples=300, deadline=None)
def test_property_unpack_is_canonical(data):
    from tests.conftest import EXAMPLES

    name = "property: damaged files are refused or re-pack identically"
    EXAMPLES[name] = EXAMPLES.get(name, 0) + 1
    try:
        f = fmt.unpack(data)
    except FormatError as e:
        assert str(e) and "\n" not in str(e)
        return
    assert fmt.pack(f) == data


def test_stream_ending_in_a_zero_word_is_a_format_error(tiny_codec, valid_files):
    """constriction refuses such a stream with a bare ValueError; the API must turn it into a FormatError."""
    lay = Layout(valid_files[1])
    for a, e in lay.streams[:2]:
        b = bytearray(lay.data)
        b[e - 4:e] = bytes(4)
        with pytest.raises(FormatError, match="never ends in a zero word"):
            tiny_codec.decompress(recrc(b))
