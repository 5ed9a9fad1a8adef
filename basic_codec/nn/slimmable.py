"""Slimmable convolutions: a narrower layer is the first C channels of the full weight.

The input width is read from the input tensor; the output width is an argument, so one
parameter set serves every structure of the BayesNet edge it belongs to.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _sliced(module: nn.Module, key: tuple[int, int], make) -> tuple[torch.Tensor, torch.Tensor]:
    """(weight, bias) for one width pair. At inference the contiguous slices are kept per width
    pair (a structure's weights are cut once, not in every forward); `_version` changes whenever
    the parameters are loaded or edited in place, which drops the stale copies."""
    if module.training or torch.is_grad_enabled():
        return make()
    version = (module.weight._version, module.bias._version)
    if module._slice_version != version:
        module._slices, module._slice_version = {}, version
    if key not in module._slices:
        w, b = make()
        module._slices[key] = (w.contiguous(), b.contiguous())
    return module._slices[key]


def _init(weight: torch.Tensor, fan_in: int) -> None:
    """PyTorch's default conv init (uniform, std 1/sqrt(3 fan_in)): keeps the deep GDN stacks tame."""
    bound = 1.0 / fan_in**0.5
    nn.init.uniform_(weight, -bound, bound)


class SlimConv2d(nn.Module):
    def __init__(self, in_max: int, out_max: int, kernel: int, stride: int = 1) -> None:
        super().__init__()
        self.stride, self.kernel = stride, kernel
        self.weight = nn.Parameter(torch.empty(out_max, in_max, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(out_max))
        _init(self.weight, in_max * kernel * kernel)
        self._slices: dict = {}
        self._slice_version = None

    def forward(self, x: torch.Tensor, out_ch: int | None = None) -> torch.Tensor:
        out_ch, in_ch = out_ch or self.weight.shape[0], x.shape[1]
        w, b = _sliced(self, (out_ch, in_ch), lambda: (self.weight[:out_ch, :in_ch], self.bias[:out_ch]))
        return F.conv2d(x, w, b, self.stride, self.kernel // 2)


class SlimConvTranspose2d(nn.Module):
    """Stride-2 transposed conv that exactly doubles the spatial size."""

    def __init__(self, in_max: int, out_max: int, kernel: int = 5, stride: int = 2) -> None:
        super().__init__()
        self.stride, self.kernel = stride, kernel
        self.weight = nn.Parameter(torch.empty(in_max, out_max, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(out_max))
        _init(self.weight, in_max * kernel * kernel // (stride * stride))
        self._slices: dict = {}
        self._slice_version = None

    def forward(self, x: torch.Tensor, out_ch: int | None = None) -> torch.Tensor:
        out_ch, in_ch = out_ch or self.weight.shape[1], x.shape[1]
        w, b = _sliced(self, (out_ch, in_ch), lambda: (self.weight[:in_ch, :out_ch], self.bias[:out_ch]))
        return F.conv_transpose2d(x, w, b, self.stride, self.kernel // 2, output_padding=self.stride - 1)
