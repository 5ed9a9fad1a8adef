"""The .bsic container: exact round trip, and a clean FormatError for every kind of damage."""
import zlib

import pytest
from hypothesis import given, settings, strategies as st

from basic_codec import format as fmt
from basic_codec.errors import FormatError, ModelMismatchError


def make(h=100, w=70, tile=64, payload=b"\x01\x02\x03\x04"):
    rows, cols = -(-h // tile), -(-w // tile)
    tiles = [fmt.TileCode(payload, payload * 2, i) for i in range(rows * cols)]
    return fmt.BsicFile(b"12345678", h, w, "RGB", 40000, 3, (1, 2, 3, 0, 4), tile, tiles)


def test_round_trip():
    f = make()
    data = fmt.pack(f)
    g = fmt.unpack(data)
    assert g == f
    assert len(data) == f.header_bytes() + f.payload_bytes()


@given(h=st.integers(1, 700), w=st.integers(1, 700), tile=st.sampled_from([64, 128, 512]),
       q=st.integers(0, 65535), level=st.integers(0, 255), mode=st.sampled_from(["RGB", "L"]),
       streams=st.lists(st.binary(max_size=12).map(lambda b: b[: len(b) // 4 * 4]), min_size=2, max_size=2))
@settings(max_examples=200, deadline=None)
def test_property_round_trip(h, w, tile, q, level, mode, streams):
    from tests.conftest import EXAMPLES

    name = "property: container write/read round trip"
    EXAMPLES[name] = EXAMPLES.get(name, 0) + 1
    rows, cols = -(-h // tile), -(-w // tile)
    tiles = [fmt.TileCode(streams[0], streams[1], i * 7) for i in range(rows * cols)]
    f = fmt.BsicFile(b"abcdefgh", h, w, mode, q, level, (0, 1, 2, 3, 8), tile, tiles)
    assert fmt.unpack(fmt.pack(f)) == f


def test_metadata_chunks_round_trip_and_damage():
    f = make()
    f.chunks = {fmt.ICC: b"icc" * 5, fmt.EXIF: b"Exif\0\0", b"ZZZZ": b"", fmt.XMP: b"<x/>"}
    data = fmt.pack(f)
    g = fmt.unpack(data)
    assert g == f and list(g.chunks) == list(f.chunks)
    assert len(data) == f.header_bytes() + f.payload_bytes()
    for n in range(len(data) - 4, len(data) - 40, -1):  # cut anywhere in the chunks: refused
        with pytest.raises(FormatError):
            fmt.unpack(data[:n])
    f.mode = "RGBA"  # alpha mode without its plane
    with pytest.raises(FormatError, match="without an alpha chunk"):
        fmt.unpack(fmt.pack(f))
    f.chunks[fmt.ALPHA] = b"png"
    assert fmt.unpack(fmt.pack(f)).mode == "RGBA"


def test_version_1_files_get_one_clear_line():
    data = bytearray(fmt.pack(make()))
    data[4] = 1
    with pytest.raises(FormatError, match="version-1 .bsic file .*re-encode"):
        fmt.unpack(bytes(data))


def test_every_truncation_is_refused():
    data = fmt.pack(make())
    for n in range(len(data)):
        with pytest.raises(FormatError):
            fmt.unpack(data[:n])


def test_wrong_version_and_magic():
    data = bytearray(fmt.pack(make()))
    data[4] = 9
    with pytest.raises(FormatError, match="version 9"):
        fmt.unpack(bytes(data))
    with pytest.raises(FormatError, match="magic"):
        fmt.unpack(b"PNG\x00" + bytes(data[4:]))


def test_bit_flip_is_caught_by_crc():
    data = bytearray(fmt.pack(make()))
    data[30] ^= 0x10
    with pytest.raises(FormatError, match="CRC"):
        fmt.unpack(bytes(data))


def test_trailing_garbage():
    with pytest.raises(FormatError, match="trailing"):
        fmt.unpack(fmt.pack(make()) + b"xx")


def test_oversize_dimensions_refused_even_with_valid_crc():
    data = bytearray(fmt.pack(make()))
    data[13:17] = (70000).to_bytes(4, "big")
    body = bytes(data[:-4])
    forged = body + zlib.crc32(body).to_bytes(4, "big")
    with pytest.raises(FormatError):
        fmt.unpack(forged)


def test_other_models_file_is_refused(tiny_codec, crop):
    data = bytearray(tiny_codec.compress(crop, 0.5))
    data[5:13] = b"\x00" * 8
    body = bytes(data[:-4])
    with pytest.raises(ModelMismatchError):
        tiny_codec.decompress(body + zlib.crc32(body).to_bytes(4, "big"))


def test_corrupt_stream_with_valid_crc_is_caught(tiny_codec, crop):
    """A damaged y stream whose CRC was recomputed must still fail (symbol checksum), not print garbage."""
    data = bytearray(tiny_codec.compress(crop, 0.5))
    f = fmt.unpack(bytes(data))
    start = f.header_bytes() - 4 + len(f.tiles[0].z)
    for i in range(start, start + len(f.tiles[0].y)):
        data[i] ^= 0xA5
    body = bytes(data[:-4])
    with pytest.raises(FormatError):
        tiny_codec.decompress(body + zlib.crc32(body).to_bytes(4, "big"))
