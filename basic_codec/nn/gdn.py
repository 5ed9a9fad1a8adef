"""Generalized divisive normalization with separate parameters for every width option.

Slicing a GDN's gamma matrix would couple the statistics of different widths, so each
width keeps its own (beta, gamma) pair, as DESIGN.md section 1 prescribes.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SlimGDN(nn.Module):
    def __init__(self, widths: tuple[int, ...], inverse: bool = False) -> None:
        super().__init__()
        self.inverse = inverse
        self.widths = tuple(widths)
        # Square reparametrisation keeps beta > 0 and gamma >= 0 without clamping gradients.
        self.beta = nn.ParameterList([nn.Parameter(torch.ones(w)) for w in widths])
        self.gamma = nn.ParameterList(
            [nn.Parameter(torch.eye(w) * 0.1**0.5) for w in widths]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        i = self.widths.index(x.shape[1])
        beta = self.beta[i] ** 2 + 1e-6
        gamma = (self.gamma[i] ** 2)[:, :, None, None]
        norm = torch.sqrt(F.conv2d(x * x, gamma, beta))
        return x * norm if self.inverse else x / norm
