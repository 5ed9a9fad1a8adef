"""Turning what users hand us (PIL images of any mode, arrays, files) into HxWx3 uint8, or a clear error.

`picture(...)` keeps everything else the input carries (alpha plane, ICC profile, EXIF, XMP)
for the container's metadata chunks; what cannot be kept (bits beyond 8, frames after the
first) is said with a `CodecWarning`.
"""
from __future__ import annotations

import io
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import CodecWarning, FormatError, InputError
from .format import MAX_PIXELS, check_size

Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # larger inputs are refused, not decoded


@dataclass
class Picture:
    """An image as the codec takes it: 8-bit RGB planes plus what else the input carries."""

    rgb: np.ndarray  # H x W x 3 uint8
    mode: str  # what decoding returns: "RGB", "L", "RGBA" or "LA"
    alpha: np.ndarray | None = None  # H x W uint8, coded losslessly beside the RGB planes
    icc: bytes | None = None
    exif: bytes | None = None
    xmp: bytes | None = None


ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")


def load_rgb(path: str | Path) -> np.ndarray:
    """A file's pixels as stored, as HxWx3 uint8: how training and benchmark sets are read (no
    EXIF rotation, no warnings; the user-facing readers are `read_image`/`read_picture`)."""
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def _has_alpha(img: Image.Image) -> bool:
    return img.mode in ALPHA_MODES or (img.mode == "P" and "transparency" in img.info)


def picture_from_pil(img: Image.Image) -> Picture:
    """A PIL image -> Picture: EXIF orientation applied (as for files), alpha and metadata kept."""
    if getattr(img, "n_frames", 1) > 1:
        warnings.warn(f"animated image ({img.n_frames} frames): only the first frame is coded", CodecWarning)
    oriented = ImageOps.exif_transpose(img) if img.getexif().get(0x0112, 1) != 1 else img
    alpha = None
    if _has_alpha(oriented):
        rgba = oriented.convert("RGBA") if oriented.mode not in ("LA", "La") else oriented.convert("LA")
        alpha = np.asarray(rgba.getchannel("A"))
        gray = rgba.mode == "LA"
        base = rgba.convert("L" if gray else "RGB")
        rgb, mode = _pixels(base)
        mode = "LA" if gray else "RGBA"
    else:
        rgb, mode = _pixels(oriented)
    info = oriented.info
    exif = info.get("exif") if isinstance(info.get("exif"), bytes) and info.get("exif") else None
    xmp = info.get("xmp") or info.get("XML:com.adobe.xmp")
    xmp = xmp.encode() if isinstance(xmp, str) else (xmp or None)
    return Picture(rgb, mode, alpha, info.get("icc_profile") or None, exif, xmp)


def from_pil(img: Image.Image) -> tuple[np.ndarray, str]:
    """-> (H x W x 3 uint8 RGB, mode to decode to: "RGB" or "L"); images with alpha are refused
    here (what callers that want the pixels only need; `picture_from_pil` keeps alpha)."""
    if _has_alpha(img):
        raise InputError(f"image has an alpha channel ({img.mode}); this function takes the colour "
                         "planes only (the codec's compress keeps alpha)")
    return _pixels(img)


def _pixels(img: Image.Image) -> tuple[np.ndarray, str]:
    mode = img.mode
    if mode in ("1", "L"):
        return np.asarray(img.convert("L").convert("RGB")), "L"
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit grayscale: scale 0..65535 to 0..255. A 16-bit mode says its range, so a dark
        # image stays dark; only "I" (32-bit, range unknown) guesses 8-bit data from its maximum.
        arr = np.asarray(img, dtype=np.uint32 if mode == "I" else np.uint16).astype(np.float64)
        top = 65535.0 if mode != "I" or arr.max() > 255 else 255.0
        if top > 255:
            warnings.warn(f"{mode} image: coded at 8 bits (basic-codec codes 8-bit planes)", CodecWarning)
        gray = np.clip(np.round(arr * 255.0 / top), 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2), "L"
    if mode == "F":
        raise InputError("floating-point images are not supported")
    return np.asarray(img.convert("RGB")), "RGB"


def _uint8(arr: np.ndarray) -> np.ndarray:
    """uint8 as is; floats taken as [0, 1]; uint16 scaled to 8 bits with a warning."""
    if arr.dtype == np.uint8:
        return arr
    if np.issubdtype(arr.dtype, np.floating):
        if arr.size and not (np.isfinite(arr).all() and arr.min() >= 0.0 and arr.max() <= 1.0):
            raise InputError("float arrays must hold values in [0, 1]")
        return np.round(arr.astype(np.float64) * 255.0).astype(np.uint8)
    if arr.dtype == np.uint16:
        warnings.warn("uint16 array: coded at 8 bits (basic-codec codes 8-bit planes)", CodecWarning)
        return np.round(arr.astype(np.float64) * 255.0 / 65535.0).astype(np.uint8)
    raise InputError(f"array images must be uint8, uint16 or float in [0, 1], got {arr.dtype}")


def picture_from_array(arr: np.ndarray) -> Picture:
    arr = np.asarray(arr)
    if arr.ndim == 2:
        return Picture(np.repeat(_uint8(arr)[..., None], 3, axis=2), "L")
    if arr.ndim == 3 and arr.shape[2] in (3, 4):
        a = _uint8(arr)
        alpha = np.ascontiguousarray(a[..., 3]) if arr.shape[2] == 4 else None
        return Picture(np.ascontiguousarray(a[..., :3]), "RGBA" if alpha is not None else "RGB", alpha)
    raise InputError(f"array images must be HxW, HxWx3 or HxWx4, got shape {arr.shape}")


def from_array(arr: np.ndarray) -> tuple[np.ndarray, str]:
    pic = picture_from_array(arr)
    if pic.alpha is not None:
        raise InputError("array has 4 channels (alpha); this function takes the colour planes only")
    return pic.rgb, pic.mode


def picture(image) -> Picture:
    """What `Codec.compress` takes: a PIL image, an array, a path (str or pathlib.Path) or the
    bytes of an image file."""
    if isinstance(image, Image.Image):
        return picture_from_pil(image)
    if isinstance(image, np.ndarray):
        return picture_from_array(image)
    if isinstance(image, (str, Path)):
        return read_picture(image)
    if isinstance(image, (bytes, bytearray, memoryview)):
        return _open_picture(io.BytesIO(bytes(image)), "image bytes")
    raise InputError(f"expected a PIL image, a numpy array, a path or image-file bytes, got {type(image).__name__}")


def to_rgb(image) -> tuple[np.ndarray, str]:
    pic = picture(image)
    return pic.rgb, pic.mode


def read_image(path: str | Path) -> tuple[np.ndarray, str]:
    """Open an image file without alpha ('-': standard input), apply its EXIF orientation,
    -> (HxWx3 uint8, decode mode)."""
    pic = read_picture(path)
    if pic.alpha is not None:
        raise InputError(f"image has an alpha channel ({pic.mode}): use read_picture")
    return pic.rgb, pic.mode


def read_picture(path: str | Path) -> Picture:
    """Open an image file ('-': standard input) -> Picture (EXIF orientation applied)."""
    source: Path | io.BytesIO
    if str(path) == "-":
        data = sys.stdin.buffer.read()
        if not data:
            raise InputError("nothing on standard input")
        source, path = io.BytesIO(data), "standard input"
    else:
        path = source = Path(path)
        if not path.exists():
            raise InputError(f"no such file: {path}")
        if path.is_dir():
            raise InputError(f"is a directory: {path}")
        if path.stat().st_size == 0:
            raise InputError(f"empty file: {path}")
    return _open_picture(source, str(path))


def _png_bit_depth(head: bytes) -> int:
    return head[24] if head[:8] == b"\x89PNG\r\n\x1a\n" and len(head) > 24 else 8


def _open_picture(source, path: str) -> Picture:
    try:
        with warnings.catch_warnings():
            # Pillow only warns between MAX_IMAGE_PIXELS and twice that, and then decodes: refuse.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as img:
                check_size(img.height, img.width)  # from the header, before any pixel is decoded
                if img.format == "PNG" and img.mode in ("RGB", "RGBA"):
                    fp = img.fp
                    pos = fp.tell()
                    fp.seek(0)
                    if _png_bit_depth(fp.read(32)) == 16:  # Pillow reads 48/64-bit PNG as 8-bit
                        warnings.warn(f"16-bit {img.mode} PNG: coded at 8 bits", CodecWarning)
                    fp.seek(pos)
                img.load()
                return picture_from_pil(img)
    except FormatError as e:
        raise InputError(f"cannot code {path}: {e}") from None
    except UnidentifiedImageError:
        raise InputError(f"not an image file Pillow can read: {path}") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InputError(f"image too large: {path} (over {MAX_PIXELS // 2**20} MP)") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise InputError(f"cannot read image {path}: {e}") from None
