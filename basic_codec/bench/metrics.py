"""Image quality metrics on 8-bit RGB arrays, computed the way the published anchors are.

PSNR is over all three RGB channels together (CompressAI's ``psnr-rgb``): one MSE over
H*W*3 values, peak 255. MS-SSIM uses pytorch-msssim (an optional ``bench`` dependency) so that
the codec itself never needs it; when it is missing we return None instead of failing a whole
benchmark run.
"""

from __future__ import annotations

import math

import numpy as np

from ..ops.metrics import psnr_from_mse

__all__ = ["psnr", "ms_ssim", "mse"]

# pytorch-msssim's default 5-scale MS-SSIM with an 11-tap window needs the short side > 160 px.
_MS_SSIM_MIN_SIDE = 161


def _check_pair(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape:
        raise ValueError(f"image shapes differ: {a.shape} vs {b.shape}")
    if a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"expected HxWx3 RGB arrays, got shape {a.shape}")


def mse(a: np.ndarray, b: np.ndarray) -> float:
    """Mean squared error over all RGB values, on the 0..255 scale."""
    _check_pair(a, b)
    diff = a.astype(np.float64) - b.astype(np.float64)
    return float(np.mean(diff * diff))


def psnr(a: np.ndarray, b: np.ndarray, peak: float = 255.0) -> float:
    """PSNR in dB over RGB (inf for identical images)."""
    err = mse(a, b)
    return math.inf if err == 0 else float(psnr_from_mse(err, peak))


def ms_ssim(a: np.ndarray, b: np.ndarray) -> float | None:
    """MS-SSIM over RGB (0..1), or None if pytorch-msssim is not installed.

    Also None when the image is too small for 5 scales (short side <= 160 px): the metric is not
    defined there and a missing value is more honest than a silently different one.
    """
    _check_pair(a, b)
    try:
        import torch
        from pytorch_msssim import ms_ssim as _ms_ssim
    except ImportError:
        return None
    if min(a.shape[:2]) < _MS_SSIM_MIN_SIDE:
        return None

    def to_t(x: np.ndarray) -> "torch.Tensor":  # float32: 4x faster than float64, same to ~1e-7
        return torch.from_numpy(np.array(x, dtype=np.float32)).permute(2, 0, 1)[None]

    with torch.no_grad():
        return float(_ms_ssim(to_t(a), to_t(b), data_range=255.0, size_average=True))


def seam_ratio(img: np.ndarray, tile: int, period: int = 16) -> float:
    """Mean absolute jump across the tile borders (every `tile` px, rows and columns) over the
    mean jump one and two latent periods (16 px) away, at the same phase: a 16x synthesis leaves
    a faint 16-px pattern of its own, and a border must be compared with its own phase. About 1
    where borders look like anywhere else."""
    a = img.astype(np.float64)
    dx = np.abs(np.diff(a, axis=1)).mean(axis=(0, 2))  # dx[c]: jump between columns c and c + 1
    dy = np.abs(np.diff(a, axis=0)).mean(axis=(1, 2))
    at, near = [], []
    for d, n in ((dx, a.shape[1]), (dy, a.shape[0])):
        for b in range(tile, n - 2 * period, tile):
            at.append(d[b - 1])
            near += [d[b - 1 - 2 * period], d[b - 1 - period], d[b - 1 + period], d[b - 1 + 2 * period]]
    return float(np.mean(at) / np.mean(near))
