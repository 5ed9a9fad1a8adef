"""The measures everything shares: PSNR from an MSE and the RD objective, for floats, numpy
arrays and torch tensors alike (training: torch, images in [0, 1]; benchmarks: numpy, 0..255)."""
from __future__ import annotations

import math

FLOOR = 1e-10  # an MSE of 0 reads as 100 dB (peak 1), not as infinity, where a mean is taken


def psnr_from_mse(mse, peak: float = 1.0):
    """10 log10(peak^2 / mse), elementwise; mse on the same scale as peak."""
    if hasattr(mse, "clamp_min"):  # torch tensor
        import torch

        return 10 * torch.log10(peak * peak / mse.clamp_min(FLOOR * peak * peak))
    if hasattr(mse, "dtype"):  # numpy array or scalar
        import numpy as np

        return 10 * np.log10(peak * peak / np.maximum(mse, FLOOR * peak * peak))
    return 10 * math.log10(peak * peak / max(float(mse), FLOOR * peak * peak))


def rd_loss(bpp, mse, lmbda):
    """The objective everything trains, searches and reports: bpp + lambda 255^2 MSE, with the
    MSE of images in [0, 1] (so lambda is on CompressAI's scale). Floats, arrays or tensors."""
    return bpp + lmbda * 255**2 * mse


def rate_and_mse(out: dict, x, clamp: bool = False):
    """Per-image (bpp, MSE) of a model output (`bits_y`, `bits_z`, `x_hat`) against x (N, 3, H, W);
    clamp=True scores the picture the decoder shows (clamped to [0, 1])."""
    import torch.nn.functional as F

    bpp = (out["bits_y"] + out["bits_z"]) / (x.shape[2] * x.shape[3])
    x_hat = out["x_hat"].clamp(0, 1) if clamp else out["x_hat"]
    return bpp, F.mse_loss(x_hat, x, reduction="none").mean(dim=(1, 2, 3))
