"""Gaussian conditional for y: continuous likelihood for training, a discrete scale table for coding.

The coder never sees a float scale: the scale is snapped to one of `levels` log-spaced
values, so the coding distribution depends only on a small integer index.
"""
from __future__ import annotations

import math

import numpy as np
import torch


class _LowerBound(torch.autograd.Function):
    """max(x, bound) whose gradient still flows when it pushes x upward."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, bound: float) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(x)
        ctx.bound = bound
        return x.clamp_min(bound)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        (x,) = ctx.saved_tensors
        keep = (x >= ctx.bound) | (grad < 0)
        return grad * keep, None


def lower_bound(x: torch.Tensor, bound: float) -> torch.Tensor:
    return _LowerBound.apply(x, bound)


def gaussian_likelihood(v: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Mass of the unit bin around v under N(0, scale^2)."""
    v = v.abs()
    inv = 1.0 / (scale * math.sqrt(2.0))
    p = 0.5 * (torch.erfc((v - 0.5) * inv) - torch.erfc((v + 0.5) * inv))
    return p.clamp_min(1e-9)


class ScaleTable:
    """`levels` scales, log-spaced from smin to smax."""

    def __init__(self, smin: float, smax: float, levels: int) -> None:
        self.log_min = math.log(smin)
        self.step = (math.log(smax) - self.log_min) / (levels - 1)
        self.levels = levels
        self.values = np.exp(self.log_min + self.step * np.arange(levels, dtype=np.float64))

    def index(self, scale: torch.Tensor) -> torch.Tensor:
        """Nearest table entry (in log space) for each scale: int64 tensor."""
        i = torch.round((torch.log(scale.clamp_min(1e-6)) - self.log_min) / self.step)
        return i.clamp_(0, self.levels - 1).long()

    def neg_log2_prob(self, symbols: np.ndarray, index: np.ndarray, bound: int) -> float:
        """Ideal code length (bits) of integer symbols under the quantized, clipped Gaussians."""
        std = self.values[index]
        s = symbols.astype(np.float64)
        cdf = lambda t: 0.5 * _erfc_np(-t / (std * math.sqrt(2.0)))
        lo, hi = cdf(s - 0.5), cdf(s + 0.5)
        total = cdf(bound + 0.5) - cdf(-bound - 0.5)
        p = np.maximum((hi - lo) / total, 2.0**-24)
        return float(-np.log2(p).sum())


def _erfc_np(x: np.ndarray) -> np.ndarray:
    return torch.erfc(torch.from_numpy(np.asarray(x, dtype=np.float64))).numpy()
