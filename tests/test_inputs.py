"""Every kind of input a user has, through the API (`tiny_codec`) and a few through the CLI.

What is decided: grayscale (L, 1-bit, 16-bit) is coded as grayscale and decodes to mode L;
palette, CMYK, YCbCr, ... are converted to RGB; anything with alpha (RGBA, LA, PA, a palette
with transparency) keeps it: the alpha plane is coded losslessly and decodes to RGBA (LA for
grayscale); arrays are HxW, HxWx3 or HxWx4, uint8 or float in [0, 1] (uint16 with a warning);
files and PIL images get their EXIF orientation applied before coding; sizes 1..65535 per side
and at most 256 MP, checked from the file header before any pixel is decoded.
"""
from __future__ import annotations

import io
import random
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, features

from tests.conftest import tiny_model

from basic_codec import format as fmt
from basic_codec.cli import main
from basic_codec.api import Codec, load
from basic_codec.bench.synthetic import png16, png_header
from basic_codec.errors import CodecError, CodecWarning, FormatError, InputError, ModelMismatchError, WeightsError
from basic_codec.imageio import from_pil, read_image


def gradient(h: int, w: int, channels: int = 3) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    planes = [(xx * 255 // max(w - 1, 1) + c * 60) % 256 if c != 1 else yy * 255 // max(h - 1, 1)
              for c in range(channels)]
    return np.stack(planes, -1).astype(np.uint8)


def roundtrip(codec, image, **kw) -> Image.Image:
    return codec.decompress(codec.compress(image, 0.5, **kw))


def code_array(codec, arr: np.ndarray, mode: str) -> Image.Image:
    """What the CLI does with a file: read_image's array and mode through compress_report."""
    return codec.decompress(codec.compress_report(arr, 0.5, mode=mode).data)


def save(img: Image.Image, path: Path, fmt_name: str | None = None, **kw) -> Path:
    img.save(path, fmt_name, **kw)
    return path


# --------------------------------------------------------------------------- PIL modes (API)

@pytest.mark.parametrize("mode", ["L", "1"])
def test_grayscale_decodes_to_L(tiny_codec, mode):
    img = Image.fromarray(gradient(40, 60)[..., 0]).convert(mode)
    arr, coded_as = from_pil(img)
    assert coded_as == "L" and arr.shape == (40, 60, 3)
    assert (arr[..., 0] == arr[..., 1]).all() and (arr[..., 0] == arr[..., 2]).all()
    if mode == "1":
        assert set(np.unique(arr)) <= {0, 255}
    out = roundtrip(tiny_codec, img)
    assert out.size == (60, 40) and out.mode == "L"


@pytest.mark.parametrize("mode, back", [("RGBA", "RGBA"), ("LA", "LA"), ("PA", "RGBA"), ("RGBa", "RGBA"),
                                        ("La", "LA")])
def test_alpha_is_kept(tiny_codec, mode, back):
    img = Image.new("RGBA", (20, 10), (10, 20, 30, 128))
    img.putpixel((3, 4), (200, 100, 50, 7))
    img = img.convert(mode) if mode not in ("PA",) else img.convert("P").convert("PA")
    out = tiny_codec.decompress(tiny_codec.compress(img))
    want = img.convert("RGBA" if back == "RGBA" else "LA").getchannel("A")
    assert out.mode == back and np.array_equal(np.asarray(out.getchannel("A")), np.asarray(want))


def test_palette_with_and_without_transparency(tiny_codec, tmp_path):
    rgb = Image.fromarray(gradient(30, 50))
    p = rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    out = roundtrip(tiny_codec, p)
    assert out.size == (50, 30) and out.mode == "RGB"
    # as a user gets it: a PNG / GIF with a transparent palette entry
    for name in ("t.png", "t.gif"):
        path = save(p, tmp_path / name, transparency=0)
        with Image.open(path) as img:
            assert img.mode == "P" and "transparency" in img.info
            out = tiny_codec.decompress(tiny_codec.compress(img))
            assert out.mode == "RGBA" and np.asarray(out.getchannel("A")).min() == 0
        with pytest.raises(InputError, match="alpha"):
            read_image(path)  # the colour-planes-only reader; read_picture keeps alpha


@pytest.mark.parametrize("mode", ["CMYK", "YCbCr", "HSV", "LAB", "RGBX"])
def test_other_colour_modes_become_rgb(tiny_codec, mode):
    img = Image.fromarray(gradient(20, 30)).convert(mode) if mode != "LAB" else Image.new("LAB", (30, 20), (128, 128, 128))
    arr, coded_as = from_pil(img)
    assert coded_as == "RGB" and arr.shape == (20, 30, 3) and arr.dtype == np.uint8
    out = roundtrip(tiny_codec, img)
    assert out.size == (30, 20) and out.mode == "RGB"


def test_float_and_32bit_pil_modes(tiny_codec):
    with pytest.raises(InputError, match="floating-point images are not supported"):
        tiny_codec.compress(Image.new("F", (8, 8)))
    img = Image.fromarray(np.full((8, 9), 70000, dtype=np.int32))  # mode "I", 16-bit-or-more data
    assert img.mode == "I"
    with pytest.warns(CodecWarning, match="coded at 8 bits"):
        assert np.asarray(roundtrip(tiny_codec, img)).shape == (8, 9)
    assert from_pil(Image.fromarray(np.full((4, 4), 200, dtype=np.int32)))[0].max() == 200  # 8-bit in "I"


# --------------------------------------------------------------------------- files (read_image)

def test_16bit_png_gray_and_rgb(tiny_codec, tmp_path):
    ramp = (np.arange(16 * 24).reshape(16, 24) * 170).astype(np.uint16)
    path = tmp_path / "g16.png"
    path.write_bytes(png16(ramp))
    with Image.open(path) as img:
        assert img.mode == "I;16"
    with pytest.warns(CodecWarning, match="coded at 8 bits"):
        arr, coded_as = read_image(path)
    assert coded_as == "L" and arr.shape == (16, 24, 3)
    assert np.abs(arr[..., 0].astype(int) - np.round(ramp / 257)).max() <= 1
    out = code_array(tiny_codec, arr, coded_as)
    assert out.size == (24, 16) and out.mode == "L"

    # a dark 16-bit image stays dark (it used to be stretched 257x when its maximum was <= 255)
    dark = tmp_path / "dark16.png"
    dark.write_bytes(png16(np.full((8, 8), 200, dtype=np.uint16)))
    with pytest.warns(CodecWarning):
        assert read_image(dark)[0].max() == 1

    rgb16 = np.stack([ramp, ramp[::-1], np.full_like(ramp, 65535)], -1)
    (tmp_path / "rgb16.png").write_bytes(png16(rgb16))
    with pytest.warns(CodecWarning, match="16-bit RGB PNG: coded at 8 bits"):
        arr, coded_as = read_image(tmp_path / "rgb16.png")
    assert coded_as == "RGB" and arr.shape == (16, 24, 3)
    assert np.abs(arr.astype(int) - (rgb16 >> 8)).max() <= 1


def test_cmyk_jpeg(tiny_codec, tmp_path):
    rgb = np.zeros((32, 48, 3), np.uint8)
    rgb[:, :16] = (220, 30, 30)
    rgb[:, 16:32] = (30, 200, 40)
    rgb[:, 32:] = (128, 128, 128)
    path = save(Image.fromarray(rgb).convert("CMYK"), tmp_path / "cmyk.jpg", quality=95)
    with Image.open(path) as img:
        assert img.mode == "CMYK"
    arr, coded_as = read_image(path)
    assert coded_as == "RGB" and arr.shape == (32, 48, 3)
    assert np.abs(arr[4:-4, 4:12].astype(int) - (220, 30, 30)).max() < 20  # still red, not inverted
    assert np.abs(arr[4:-4, 36:44].astype(int) - 128).max() < 20
    out = code_array(tiny_codec, arr, coded_as)
    assert out.size == (48, 32) and out.mode == "RGB"


def exif_jpeg(path: Path, w: int = 40, h: int = 24, orientation: int = 6) -> Path:
    arr = np.zeros((h, w, 3), np.uint8)
    arr[:8, :8] = 255  # a white block in the top-left corner of the stored pixels
    exif = Image.Exif()
    exif[0x0112] = orientation
    return save(Image.fromarray(arr), path, quality=95, exif=exif.tobytes())


def test_exif_orientation_is_applied(tiny_codec, tmp_path):
    path = exif_jpeg(tmp_path / "rot6.jpg")
    with Image.open(path) as img:
        assert img.size == (40, 24) and img.getexif()[0x0112] == 6
    arr, coded_as = read_image(path)
    # orientation 6: rotate 90 degrees clockwise to display; the top-left block goes top-right
    assert arr.shape == (40, 24, 3)
    assert arr[:8, -8:].mean() > 200 and arr[:8, :8].mean() < 50
    out = code_array(tiny_codec, arr, coded_as)
    assert out.size == (24, 40) and out.mode == "RGB"


@pytest.mark.parametrize("h, w", [(1, 1), (15, 17), (17, 15), (1, 129), (129, 1), (63, 65), (127, 129), (3, 257)])
def test_small_and_odd_sizes(tiny_codec, h, w):
    out = roundtrip(tiny_codec, gradient(h, w))
    assert out.size == (w, h) and out.mode == "RGB"
    out = roundtrip(tiny_codec, gradient(h, w)[..., 0])
    assert out.size == (w, h) and out.mode == "L"


def test_very_wide(tiny_codec):
    data = tiny_codec.compress(gradient(64, 8192), 0.5, level=0)
    f = fmt.unpack(data)
    assert (f.height, f.width) == (64, 8192) and f.grid == (1, 64)
    arr, mode = tiny_codec.decompress_array(data)
    assert arr.shape == (64, 8192, 3) and mode == "RGB"


FORMATS = [("png", "PNG", {}, "RGB"), ("jpg", "JPEG", {"quality": 90}, "RGB"), ("gif", "GIF", {}, "RGB"),
           ("bmp", "BMP", {}, "RGB"), ("tif", "TIFF", {}, "RGB"), ("ppm", "PPM", {}, "RGB"),
           ("webp", "WEBP", {"lossless": True}, "RGB")]


@pytest.mark.parametrize("ext, name, kw, mode", FORMATS)
@pytest.mark.parametrize("gray", [False, True])
def test_file_formats(tiny_codec, tmp_path, ext, name, kw, mode, gray):
    if name == "WEBP" and not features.check("webp"):
        pytest.skip("Pillow without WebP")
    img = Image.fromarray(gradient(21, 35))
    if gray:
        img = img.convert("L")
    path = save(img, tmp_path / f"x.{ext}", name, **kw)
    arr, coded_as = read_image(path)
    # GIF is a palette format and WebP has no grayscale: both come back as RGB
    expect = "L" if gray and name not in ("GIF", "WEBP") else "RGB"
    assert arr.shape == (21, 35, 3) and coded_as == expect
    out = code_array(tiny_codec, arr, coded_as)
    assert out.size == (35, 21) and out.mode == expect


def test_animated_gif_codes_the_first_frame(tmp_path):
    frames = [Image.new("RGB", (16, 12), c) for c in ((255, 0, 0), (0, 0, 255))]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100)
    with pytest.warns(CodecWarning, match="only the first frame"):
        arr, _ = read_image(path)
    assert arr.shape == (12, 16, 3) and tuple(arr[0, 0]) == (255, 0, 0)


def test_oversize_files_are_refused_before_decoding(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no DecompressionBombWarning may leak to the user either
        for (w, h), msg in [((20000, 14000), "too large"), ((40000, 40000), "too large"),
                            ((70000, 1), "outside 1..65535 per side")]:
            path = tmp_path / f"big{w}x{h}.png"
            path.write_bytes(png_header(w, h))
            with pytest.raises(InputError, match=msg):
                read_image(path)


def test_damaged_image_files_give_input_error(tmp_path):
    """Mutated PNG/JPEG/GIF/TIFF/BMP/WebP/PPM files (EXIF included): InputError or an image, nothing else."""
    rng = random.Random(7)
    img = Image.fromarray(gradient(24, 40))
    exif = Image.Exif()
    exif[0x0112] = 6
    blobs = []
    for _, name, kw, _ in FORMATS:
        if name == "WEBP" and not features.check("webp"):
            continue
        buf = io.BytesIO()
        img.save(buf, name, **kw)
        blobs.append(buf.getvalue())
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif.tobytes())
    blobs.append(buf.getvalue())
    path, outcomes = tmp_path / "fuzz.img", {"ok": 0, "InputError": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for blob in blobs:
            for _ in range(40):
                b = bytearray(blob)
                head = rng.random() < 0.5  # half the damage in the first 128 bytes: headers, EXIF
                for _ in range(rng.randint(1, 4)):
                    b[rng.randrange(min(128, len(b)) if head else len(b))] = rng.randrange(256)
                if rng.random() < 0.2:
                    b = b[:rng.randrange(1, len(b))]
                path.write_bytes(bytes(b))
                try:
                    arr, _ = read_image(path)
                    assert arr.dtype == np.uint8 and arr.ndim == 3 and arr.shape[2] == 3
                    outcomes["ok"] += 1
                except InputError as e:
                    assert str(e) and "\n" not in str(e)
                    outcomes["InputError"] += 1
    assert sum(outcomes.values()) == 40 * len(blobs) and outcomes["InputError"] > 0


# --------------------------------------------------------------------------- numpy arrays (API)

@pytest.mark.parametrize("dtype", [np.int16, np.int64, np.bool_])
def test_other_array_types_refused(tiny_codec, dtype):
    with pytest.raises(InputError, match=f"uint8, uint16 or float in \\[0, 1\\], got {np.dtype(dtype)}"):
        tiny_codec.compress(np.zeros((8, 8, 3), dtype))


@pytest.mark.parametrize("shape, msg", [((8, 8, 1), "HxW, HxWx3 or HxWx4"),
                                        ((8, 8, 2), "HxW, HxWx3 or HxWx4"), ((64,), "HxW, HxWx3 or HxWx4"),
                                        ((1, 8, 8, 3), "HxW, HxWx3 or HxWx4"), ((0, 5, 3), "outside 1..65535"),
                                        ((1, 65536, 3), "outside 1..65535")])
def test_bad_array_shapes(tiny_codec, shape, msg):
    with pytest.raises(InputError, match=msg):
        tiny_codec.compress(np.zeros(shape, np.uint8))


def test_array_layouts_and_other_types(tiny_codec):
    base = gradient(20, 30)
    ref = tiny_codec.compress(base, 0.5)
    assert tiny_codec.compress(np.asfortranarray(base), 0.5) == ref
    flipped = np.ascontiguousarray(base[::-1, ::-1])
    assert tiny_codec.compress(base[::-1, ::-1], 0.5) == tiny_codec.compress(flipped, 0.5)
    assert tiny_codec.decompress(tiny_codec.compress(base[::2, ::3], 0.5)).size == (10, 10)
    for bad in ([[1, 2], [3, 4]], None, 3.5):
        with pytest.raises(InputError, match="expected a PIL image, a numpy array, a path or image-file bytes"):
            tiny_codec.compress(bad)
    with pytest.raises(InputError, match="not an image file"):
        tiny_codec.compress(b"\x89PNG")  # bytes are taken as an image file
    with pytest.raises(InputError, match="no such file"):
        tiny_codec.compress("image.png")  # a str is a path


def test_every_error_a_user_meets_is_a_codec_error(tiny_codec, crop, tmp_path):
    """`except CodecError` catches what bad images, bad files, other weights and bad weights
    raise; a caller needs no other except clause."""
    data = tiny_codec.compress(crop, 0.5)
    other = Codec(tiny_model(seed=1), tiny_codec.levels)
    (tmp_path / "w.safetensors").write_bytes(b"not weights")
    attempts = {
        "bad image": lambda: tiny_codec.compress(np.zeros((0, 4, 3), np.uint8)),
        "corrupt file": lambda: tiny_codec.decompress(data[:-5] + bytes(5)),
        "not a file": lambda: tiny_codec.decompress(b"hello"),
        "other weights": lambda: other.decompress(data),
        "bad weights": lambda: load(tmp_path / "w.safetensors"),
    }
    caught = {}
    for name, attempt in attempts.items():
        with pytest.raises(CodecError) as e:
            attempt()
        caught[name] = type(e.value)
    assert caught["other weights"] is ModelMismatchError and caught["bad weights"] is WeightsError
    assert caught["bad image"] is InputError and issubclass(caught["corrupt file"], FormatError)


# --------------------------------------------------------------------------- the CLI

def cli(args, capsys):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_rotated_jpeg_16bit_png_and_cmyk(tmp_path, tiny_weights, capsys):
    w = ["--weights", tiny_weights, "--level", "0"]
    cmyk = np.zeros((20, 30, 3), np.uint8)
    cmyk[..., 0] = 200
    ramp = (np.arange(12 * 18).reshape(12, 18) * 300).astype(np.uint16)
    (tmp_path / "g16.png").write_bytes(png16(ramp))
    cases = [(exif_jpeg(tmp_path / "rot6.jpg"), (24, 40), "RGB"),
             (tmp_path / "g16.png", (18, 12), "L"),
             (save(Image.fromarray(cmyk).convert("CMYK"), tmp_path / "cmyk.jpg"), (30, 20), "RGB")]
    for src, size, mode in cases:
        bsic, png = tmp_path / f"{src.stem}.bsic", tmp_path / f"{src.stem}.out.png"
        code, _, err = cli(["compress", src, bsic, *w], capsys)
        assert code == 0, err
        code, text, err = cli(["decompress", bsic, png, "--weights", tiny_weights], capsys)
        assert code == 0, err
        assert f"{size[0]}x{size[1]} {mode}" in text
        with Image.open(png) as out:
            assert out.size == size and out.mode == mode


def test_cli_refuses_floats_with_one_line(tmp_path, tiny_weights, capsys):
    out = tmp_path / "x.bsic"
    for name, img, msg in [("f.tif", Image.new("F", (9, 9)), "floating-point images are not supported")]:
        path = save(img, tmp_path / name, **({"transparency": 0} if name.endswith(".gif") else {}))
        code, _, err = cli(["compress", path, out, "--weights", tiny_weights], capsys)
        assert code == 2 and err.count("\n") == 1 and msg in err, err
        assert not out.exists()
    path = tmp_path / "big.png"
    path.write_bytes(png_header(20000, 14000))
    code, _, err = cli(["compress", path, out, "--weights", tiny_weights], capsys)
    assert code == 2 and err.count("\n") == 1 and "too large" in err, err
