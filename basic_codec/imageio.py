"""Turning what users hand us (PIL images of any mode, arrays, files) into HxWx3 uint8, or a clear error."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import FormatError, InputError
from .format import MAX_PIXELS, check_size

Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # larger inputs are refused, not decoded


def from_pil(img: Image.Image) -> tuple[np.ndarray, str]:
    """-> (H x W x 3 uint8 RGB, mode to decode to: "RGB" or "L")."""
    mode = img.mode
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode == "P" and "transparency" in img.info):
        raise InputError(f"image has an alpha channel ({mode}); basic-codec codes RGB or grayscale "
                         "only: flatten it first (e.g. onto white)")
    if mode in ("1", "L"):
        return np.asarray(img.convert("L").convert("RGB")), "L"
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit grayscale: scale 0..65535 to 0..255. A 16-bit mode says its range, so a dark
        # image stays dark; only "I" (32-bit, range unknown) guesses 8-bit data from its maximum.
        arr = np.asarray(img, dtype=np.uint32 if mode == "I" else np.uint16).astype(np.float64)
        top = 65535.0 if mode != "I" or arr.max() > 255 else 255.0
        gray = np.clip(np.round(arr * 255.0 / top), 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2), "L"
    if mode == "F":
        raise InputError("floating-point images are not supported")
    return np.asarray(img.convert("RGB")), "RGB"


def from_array(arr: np.ndarray) -> tuple[np.ndarray, str]:
    arr = np.asarray(arr)
    if arr.dtype != np.uint8:
        raise InputError(f"array images must be uint8, got {arr.dtype}")
    if arr.ndim == 2:
        return np.repeat(arr[..., None], 3, axis=2), "L"
    if arr.ndim == 3 and arr.shape[2] == 3:
        return np.ascontiguousarray(arr), "RGB"
    if arr.ndim == 3 and arr.shape[2] == 4:
        raise InputError("array has 4 channels (alpha); basic-codec codes RGB or grayscale only")
    raise InputError(f"array images must be HxWx3 or HxW, got shape {arr.shape}")


def to_rgb(image) -> tuple[np.ndarray, str]:
    if isinstance(image, Image.Image):
        return from_pil(image)
    if isinstance(image, np.ndarray):
        return from_array(image)
    raise InputError(f"expected a PIL image or a numpy array, got {type(image).__name__}")


def read_image(path: str | Path) -> tuple[np.ndarray, str]:
    """Open an image file, apply its EXIF orientation, -> (HxWx3 uint8, decode mode)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"no such file: {path}")
    if path.is_dir():
        raise InputError(f"is a directory: {path}")
    if path.stat().st_size == 0:
        raise InputError(f"empty file: {path}")
    try:
        with warnings.catch_warnings():
            # Pillow only warns between MAX_IMAGE_PIXELS and twice that, and then decodes: refuse.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                check_size(img.height, img.width)  # from the header, before any pixel is decoded
                img = ImageOps.exif_transpose(img)
                img.load()
                return from_pil(img)
    except FormatError as e:
        raise InputError(f"cannot code {path}: {e}") from None
    except UnidentifiedImageError:
        raise InputError(f"not an image file Pillow can read: {path}") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InputError(f"image too large: {path} (over {MAX_PIXELS // 2**20} MP)") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise InputError(f"cannot read image {path}: {e}") from None
