"""max(x, bound) with a gradient that can still lift x off the bound (used by GDN and y's entropy model)."""
from __future__ import annotations

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
