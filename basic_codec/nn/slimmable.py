"""Slimmable convolutions: a narrower layer is the first C channels of the full weight.

The input width is read from the input tensor; the output width is an argument, so one
parameter set serves every structure of the BayesNet edge it belongs to.

Layers built with `fixed_point=True` belong to the networks that decide the coding
distributions (h_s, context conv, parameter head): their float forward rounds weights and
outputs to the fixed-point grids (quantization-aware training), and an int64 input runs
the exact integer form of the same layer (see `fixed_point.py`).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..ops import fixed_point as fx


def _cached(module: nn.Module, key: tuple, make) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-key tensors derived from (weight, bias), computed once. `_version` changes whenever
    the parameters are loaded or edited in place, which drops the stale copies."""
    version = (module.weight._version, module.bias._version)
    if module._slice_version != version:
        module._slices, module._slice_version = {}, version
    if key not in module._slices:
        w, b = make()
        module._slices[key] = (w.contiguous(), b.contiguous())
    return module._slices[key]


def _sliced(module: nn.Module, key: tuple[int, int], make) -> tuple[torch.Tensor, torch.Tensor]:
    """(weight, bias) for one width pair. At inference the contiguous slices are kept per width
    pair (a structure's weights are cut once, not in every forward)."""
    if module.training or torch.is_grad_enabled():
        return make()
    return _cached(module, ("float", *key), make)


def _exact(module: nn.Module, key: tuple[int, int], make) -> tuple[torch.Tensor, torch.Tensor]:
    """(integer float64 weight, int64 bias) for one width pair of a fixed-point layer."""
    if not module.fixed_point:
        raise TypeError("integer input to a layer that is not a fixed-point layer")

    def convert():
        w, b = make()
        if w[0].numel() > fx.MAX_FAN_IN:
            raise ValueError(f"fan-in {w[0].numel()} exceeds {fx.MAX_FAN_IN}: integer sums could pass 2^53")
        return fx.int_weight(w), fx.int_bias(b)

    return _cached(module, ("exact", *key), convert)


def _init(weight: torch.Tensor, fan_in: int) -> None:
    """PyTorch's default conv init (uniform, std 1/sqrt(3 fan_in)): keeps the deep GDN stacks tame."""
    bound = 1.0 / fan_in**0.5
    nn.init.uniform_(weight, -bound, bound)


class _Slim(nn.Module):
    def __init__(self, fixed_point: bool) -> None:
        super().__init__()
        self.fixed_point = fixed_point
        self._slices: dict = {}
        self._slice_version = None

    def _float_params(self, w: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.fixed_point:
            return fx.quantize_weight(w), b
        return w, b

    def _float_out(self, out: torch.Tensor) -> torch.Tensor:
        return fx.quantize_act(out) if self.fixed_point else out

    def bias_output(self, like: torch.Tensor, out_ch: int | None = None) -> torch.Tensor:
        """The layer's output on an all-zero input of like's batch and size (just the bias)."""
        out_ch = out_ch or self.bias.shape[0]
        b, _, h, w = like.shape
        if like.dtype == torch.int64:
            out = fx.round_shift(fx.int_bias(self.bias[:out_ch]), fx.WEIGHT_BITS).clamp_(-fx.ACT_LIMIT, fx.ACT_LIMIT)
        else:
            out = self._float_out(self.bias[:out_ch])
        return out.reshape(1, -1, 1, 1).expand(b, -1, h, w)


class SlimConv2d(_Slim):
    def __init__(self, in_max: int, out_max: int, kernel: int, stride: int = 1, fixed_point: bool = False) -> None:
        super().__init__(fixed_point)
        self.stride, self.kernel = stride, kernel
        self.weight = nn.Parameter(torch.empty(out_max, in_max, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(out_max))
        _init(self.weight, in_max * kernel * kernel)

    def forward(self, x: torch.Tensor, out_ch: int | None = None) -> torch.Tensor:
        out_ch, in_ch = out_ch or self.weight.shape[0], x.shape[1]
        make = lambda: (self.weight[:out_ch, :in_ch], self.bias[:out_ch])
        if x.dtype == torch.int64:
            w, b = _exact(self, (out_ch, in_ch), make)
            return fx.exact_conv2d(x, w, b, self.stride, self.kernel // 2)
        w, b = self._float_params(*_sliced(self, (out_ch, in_ch), make))
        return self._float_out(F.conv2d(x, w, b, self.stride, self.kernel // 2))


class SlimConvTranspose2d(_Slim):
    """Stride-2 transposed conv that exactly doubles the spatial size."""

    def __init__(self, in_max: int, out_max: int, kernel: int = 5, stride: int = 2, fixed_point: bool = False) -> None:
        super().__init__(fixed_point)
        self.stride, self.kernel = stride, kernel
        self.weight = nn.Parameter(torch.empty(in_max, out_max, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(out_max))
        _init(self.weight, in_max * kernel * kernel // (stride * stride))

    def forward(self, x: torch.Tensor, out_ch: int | None = None) -> torch.Tensor:
        out_ch, in_ch = out_ch or self.weight.shape[1], x.shape[1]
        make = lambda: (self.weight[:in_ch, :out_ch], self.bias[:out_ch])
        pad, out_pad = self.kernel // 2, self.stride - 1
        if x.dtype == torch.int64:
            w, b = _exact(self, (out_ch, in_ch), make)
            return fx.exact_conv_transpose2d(x, w, b, self.stride, pad, out_pad)
        w, b = self._float_params(*_sliced(self, (out_ch, in_ch), make))
        return self._float_out(F.conv_transpose2d(x, w, b, self.stride, pad, output_padding=out_pad))
