"""Generalized divisive normalization with separate parameters for every width option.

Slicing a GDN's gamma matrix would couple the statistics of different widths, so each
width keeps its own (beta, gamma) pair, as DESIGN.md section 1 prescribes.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..ops.bound import lower_bound

_PEDESTAL = 2.0**-18  # lets the squared reparametrisation move off exactly zero


class SlimGDN(nn.Module):
    """y = x / sqrt(beta + gamma x^2) (or x * sqrt(...) when inverse), per width option.

    beta and gamma are stored as square roots offset by a small pedestal and bounded below,
    so they stay positive without dead gradients (off-diagonal gamma starts at the bound).
    """

    beta_min = 1e-4
    # Inverse GDN grows like x*|x|: cascaded three times, one bad step of a rarely used width
    # blew the output up by 10^6 during slimmable training. Above |x| = 4 the inverse is linear.
    inverse_clip = 4.0

    def __init__(self, widths: tuple[int, ...], inverse: bool = False) -> None:
        super().__init__()
        self.inverse = inverse
        self.widths = tuple(widths)
        self.beta = nn.ParameterList([nn.Parameter(torch.full((w,), (1.0 + _PEDESTAL) ** 0.5)) for w in widths])
        self.gamma = nn.ParameterList(
            [nn.Parameter(torch.sqrt(0.1 * torch.eye(w) + _PEDESTAL)) for w in widths])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        i = self.widths.index(x.shape[1])
        beta = lower_bound(self.beta[i], (self.beta_min + _PEDESTAL) ** 0.5) ** 2 - _PEDESTAL
        gamma = lower_bound(self.gamma[i], _PEDESTAL**0.5) ** 2 - _PEDESTAL
        sq = x * x
        if self.inverse:
            sq = sq.clamp(max=self.inverse_clip**2)
        norm = torch.sqrt(F.conv2d(sq, gamma[:, :, None, None], beta))
        return x * norm if self.inverse else x / norm
