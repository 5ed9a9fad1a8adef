"""The four learned edges of the BayesNet: g_a, h_a, h_s, g_s.

Each edge takes its hidden width as an argument (one of `config.widths`): this is the
inter-node structure of BaSIC. Input and output widths of every edge are fixed.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import ModelConfig
from .nn import SlimConv2d, SlimConvTranspose2d, SlimGDN
from .ops import fixed_point as fx

Y_STRIDE = 16  # g_a: four stride-2 convs, so one latent position of y covers 16 x 16 pixels
Z_STRIDE = 64  # h_a: two more, so one position of z covers 64 x 64 (images are padded to it)


class AnalysisTransform(nn.Module):
    """g_a: image x (3 channels) -> latent y (M channels at 1/16 resolution)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        n = cfg.max_width
        self.convs = nn.ModuleList(
            [SlimConv2d(3, n, 5, 2), SlimConv2d(n, n, 5, 2), SlimConv2d(n, n, 5, 2),
             SlimConv2d(n, cfg.latent_channels, 5, 2)]
        )
        self.gdns = nn.ModuleList([SlimGDN(cfg.widths) for _ in range(3)])

    def forward(self, x: torch.Tensor, width: int) -> torch.Tensor:
        for conv, gdn in zip(self.convs[:3], self.gdns):
            x = gdn(conv(x, width))
        return self.convs[3](x)


class SynthesisTransform(nn.Module):
    """g_s: y_hat -> reconstruction x_hat (3 channels, full resolution)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        n = cfg.max_width
        self.convs = nn.ModuleList(
            [SlimConvTranspose2d(cfg.latent_channels, n), SlimConvTranspose2d(n, n),
             SlimConvTranspose2d(n, n), SlimConvTranspose2d(n, 3)]
        )
        self.gdns = nn.ModuleList([SlimGDN(cfg.widths, inverse=True) for _ in range(3)])

    def forward(self, y: torch.Tensor, width: int) -> torch.Tensor:
        for conv, gdn in zip(self.convs[:3], self.gdns):
            y = gdn(conv(y, width))
        return self.convs[3](y)


class HyperAnalysis(nn.Module):
    """h_a: y -> z (1/4 of y's resolution)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        n = cfg.max_width
        self.convs = nn.ModuleList(
            [SlimConv2d(cfg.latent_channels, n, 3, 1), SlimConv2d(n, n, 5, 2),
             SlimConv2d(n, cfg.hyper_channels, 5, 2)]
        )

    def forward(self, y: torch.Tensor, width: int) -> torch.Tensor:
        x = F.leaky_relu(self.convs[0](y, width))
        x = F.leaky_relu(self.convs[1](x, width))
        return self.convs[2](x)


class HyperSynthesis(nn.Module):
    """h_s: z_hat -> hyper features for the parameter head (at y's resolution).

    A fixed-point network: it decides the coding distributions, so its coding form is exact
    integer arithmetic (z_hat as int64 from `fixed_point.to_fixed` -> int64 features)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        n = cfg.max_width
        self.convs = nn.ModuleList(
            [SlimConvTranspose2d(cfg.hyper_channels, n, fixed_point=True),
             SlimConvTranspose2d(n, n, fixed_point=True),
             SlimConv2d(n, cfg.hyper_features, 3, 1, fixed_point=True)]
        )

    def forward(self, z: torch.Tensor, width: int) -> torch.Tensor:
        x = fx.leaky_relu(self.convs[0](z, width))
        x = fx.leaky_relu(self.convs[1](x, width))
        return self.convs[2](x)
