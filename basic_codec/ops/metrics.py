"""PSNR from an MSE, for floats, numpy arrays and torch tensors alike: the one formula that
training (torch, images in [0, 1]) and benchmarks (numpy, 0..255) share."""
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
