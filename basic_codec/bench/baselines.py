"""Classical codecs measured on this machine through imagecodecs.

Published classical anchors (CompressAI's JPEG/WebP/JPEG 2000 files) were produced years ago with
other library versions and settings; measuring the current libraries here, with the same PSNR code
as our codec, gives an apples-to-apples baseline and honest timings. imagecodecs is an optional
``bench`` dependency and is imported lazily.

Settings (``SETTINGS[codec]``) are each encoder's own quality knob, chosen so the list spans about
0.1 to 2+ bpp averaged over Kodak:

- ``jpeg``: libjpeg-turbo quality 1..100 (``jpeg8_encode(level=q, optimize=True)``, default
  4:2:0 chroma subsampling, optimised Huffman tables). JPEG cannot go much below ~0.15 bpp.
- ``webp``: libwebp lossy quality 0..100 (``webp_encode(level=q, lossless=False)``; without
  ``lossless=False`` imagecodecs writes lossless WebP whatever the level).
- ``jpeg2000``: OpenJPEG target PSNR in dB (``jpeg2k_encode(level=dB)`` sets OpenJPEG's
  fixed-quality ``tcp_distoratio``; irreversible 9/7 wavelet, colour transform, 6 resolutions,
  raw J2K codestream).
- ``avif``: libavif/AOM quality 0..100 (``avif_encode(level=q, speed=6, pixelformat='444')``;
  speed 6 is avifenc's default; the library default speed is ~20-50x slower to encode).
- ``jpegxl``: libjxl quality 0..100 (``jpegxl_encode(level=q)``, mapped by libjxl to a
  butteraugli distance, q=90 -> distance 1; effort 7 default).

All encoders and decoders run single-threaded (``numthreads=1`` where the API has it) so times
are comparable between codecs and with a single-core decoder.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .metrics import ms_ssim as _ms_ssim
from .metrics import psnr as _psnr

__all__ = [
    "SETTINGS", "CODECS", "CodecUnavailableError", "available_codecs", "measure_baseline",
]


class CodecUnavailableError(RuntimeError):
    """The installed imagecodecs lacks a codec (or imagecodecs is not installed at all)."""


@dataclass(frozen=True)
class _Spec:
    label: str
    flag: str  # imagecodecs.<FLAG>.available tells whether the wheel was built with it
    encoders: tuple[str, ...]  # first function that exists wins
    decoders: tuple[str, ...]
    setting_kw: str
    setting_meaning: str
    options: dict[str, Any] = field(default_factory=dict)


CODECS: dict[str, _Spec] = {
    "jpeg": _Spec("JPEG (libjpeg-turbo)", "JPEG8", ("jpeg8_encode", "jpeg_encode"),
                  ("jpeg8_decode", "jpeg_decode"), "level", "quality 1..100",
                  {"optimize": True}),
    "webp": _Spec("WebP (libwebp)", "WEBP", ("webp_encode",), ("webp_decode",), "level",
                  "quality 0..100", {"lossless": False, "numthreads": 1}),
    "jpeg2000": _Spec("JPEG 2000 (OpenJPEG)", "JPEG2K", ("jpeg2k_encode",), ("jpeg2k_decode",),
                      "level", "target PSNR in dB", {"codecformat": "J2K", "numthreads": 1}),
    "avif": _Spec("AVIF (libavif/aom)", "AVIF", ("avif_encode",), ("avif_decode",), "level",
                  "quality 0..100", {"speed": 6, "pixelformat": "444", "numthreads": 1}),
    "jpegxl": _Spec("JPEG XL (libjxl)", "JPEGXL", ("jpegxl_encode",), ("jpegxl_decode",),
                    "level", "quality 0..100", {"numthreads": 1}),
}

_DECODE_OPTIONS: dict[str, dict[str, Any]] = {
    "jpeg2000": {"numthreads": 1}, "avif": {"numthreads": 1}, "jpegxl": {"numthreads": 1},
}

SETTINGS: dict[str, list[float]] = {
    "jpeg": [3, 5, 10, 15, 20, 30, 40, 50, 60, 70, 80, 90, 95],
    "webp": [0, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95],
    "jpeg2000": [24, 25, 26, 27, 28, 30, 32, 34, 36, 38, 40, 42, 44],
    "avif": [5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95],
    "jpegxl": [0, 10, 15, 20, 30, 40, 50, 60, 70, 80, 90, 95],
}


def _imagecodecs() -> Any:
    try:
        import imagecodecs
    except ImportError as e:
        raise CodecUnavailableError(
            "imagecodecs is not installed; install the bench extra: "
            "pip install 'basic-codec[bench]'"
        ) from e
    return imagecodecs


def _functions(codec_name: str) -> tuple[_Spec, Any, Any]:
    if codec_name not in CODECS:
        raise ValueError(f"unknown baseline codec {codec_name!r}; choose from {sorted(CODECS)}")
    spec = CODECS[codec_name]
    ic = _imagecodecs()
    flag = getattr(ic, spec.flag, None)
    enc = next((getattr(ic, n) for n in spec.encoders if hasattr(ic, n)), None)
    dec = next((getattr(ic, n) for n in spec.decoders if hasattr(ic, n)), None)
    if enc is None or dec is None or (flag is not None and not getattr(flag, "available", True)):
        raise CodecUnavailableError(
            f"{spec.label} is not available in imagecodecs {getattr(ic, '__version__', '?')} "
            f"(needs {spec.encoders[0]}/{spec.decoders[0]} built with {spec.flag})"
        )
    return spec, enc, dec


def available_codecs() -> list[str]:
    """Names from :data:`CODECS` that the installed imagecodecs can encode and decode."""
    names = []
    for name in CODECS:
        try:
            _functions(name)
        except CodecUnavailableError:
            continue
        names.append(name)
    return names


def _check_image(image: np.ndarray) -> np.ndarray:
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an HxWx3 uint8 RGB array, got {image.shape} {image.dtype}")
    return np.ascontiguousarray(image)






def measure_baseline(codec_name: str, image: np.ndarray, setting: float) -> dict[str, Any]:
    """Encode, decode and score one image at one setting.

    Returns ``bpp`` (from the encoded byte size, container headers included), ``psnr`` (RGB, dB),
    ``ms_ssim`` (None without pytorch-msssim or for images under 161 px), ``enc_s`` and ``dec_s``
    (wall-clock seconds, one single-threaded run), plus ``codec``, ``setting`` and ``nbytes``.
    """
    spec, enc, dec = _functions(codec_name)
    img = _check_image(image)
    t0 = time.perf_counter()
    data = enc(img, **{spec.setting_kw: setting}, **spec.options)
    t1 = time.perf_counter()
    rec = np.asarray(dec(data, **_DECODE_OPTIONS.get(codec_name, {})))
    t2 = time.perf_counter()
    if rec.shape != img.shape or rec.dtype != np.uint8:
        raise RuntimeError(
            f"{spec.label} decoded {rec.shape} {rec.dtype}, expected {img.shape} uint8"
        )
    h, w = img.shape[:2]
    return {
        "codec": codec_name, "setting": setting, "nbytes": len(data),
        "bpp": len(data) * 8.0 / (h * w), "psnr": _psnr(img, rec), "ms_ssim": _ms_ssim(img, rec),
        "enc_s": t1 - t0, "dec_s": t2 - t1,
    }
