"""Fixed-point arithmetic for the networks that decide the coding distributions.

h_s, the context conv and the parameter head run in two forms from one set of weights:

- float (training, evaluation): weights and activations are rounded to the fixed-point grids
  below with straight-through gradients ("fake quantization"), so training sees the numbers
  that coding will use (quantization-aware training);
- exact (coding): int64 activations on the same grids, integer weights, integer sums.

The exact form must give the same bits on every machine (Ballé, Johnston, Minnen, "Integer
networks for data compression with latent-variable models", ICLR 2019). A convolution of
integer-valued float64 tensors is exact in any summation order as long as every partial sum
stays below 2^53: activations are clipped to |a| < 2^22, weights to |w| < 2^17 and fan-in is
at most 2^13 (basic-s: 3,200; basic-paper: 4,800), so |sum| < 2^52. The float64 result is still passed through `round`, which
would also undo any tiny error of a kernel that does not sum plainly (Winograd, FFT).
Everything after the sum (bias, rescaling, LeakyReLU) is int64 arithmetic with shifts.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

ACT_BITS = 10  # activations are multiples of 2^-10
WEIGHT_BITS = 14  # weights are multiples of 2^-14
ACT_LIMIT = 2**22 - 1  # |activation| * 2^10 stays below this (|a| < 4096)
WEIGHT_LIMIT = 2**17 - 1  # |weight| * 2^14 stays below this (|w| < 8)
MAX_FAN_IN = 2**13  # inputs per output; with the limits above every sum stays below 2^52
LEAKY_NUM, LEAKY_SHIFT = 41, 12  # LeakyReLU slope 41/4096 = 0.0100098 (PyTorch's default is 0.01)
LEAKY_SLOPE = LEAKY_NUM / 2**LEAKY_SHIFT


def _ste(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """y in the forward pass, the gradient of x in the backward pass."""
    return x + (y - x).detach()


def quantize_act(x: torch.Tensor) -> torch.Tensor:
    """Float activations onto the fixed-point grid (what the exact path computes)."""
    step = 2.0**ACT_BITS
    lim = ACT_LIMIT / step
    return _ste(x, torch.round(x.clamp(-lim, lim) * step) / step)


def quantize_weight(w: torch.Tensor) -> torch.Tensor:
    step = 2.0**WEIGHT_BITS
    lim = WEIGHT_LIMIT / step
    return _ste(w, torch.round(w.clamp(-lim, lim) * step) / step)


def int_weight(w: torch.Tensor) -> torch.Tensor:
    """Integer weights (as float64, the dtype the exact convolution sums in). Multiplying a
    float32 by 2^14 is exact, and round() is correctly rounded everywhere."""
    return torch.round(w.detach().double() * 2.0**WEIGHT_BITS).clamp_(-WEIGHT_LIMIT, WEIGHT_LIMIT)


def int_bias(b: torch.Tensor) -> torch.Tensor:
    """Bias on the accumulator's grid 2^-(ACT_BITS + WEIGHT_BITS), int64."""
    return torch.round(b.detach().double() * 2.0 ** (ACT_BITS + WEIGHT_BITS)).long()


def round_shift(x: torch.Tensor, shift: int) -> torch.Tensor:
    """round(x / 2^shift) for int64 x, halves rounded up: exact integer arithmetic."""
    return (x + (1 << (shift - 1))) >> shift


def finish(acc: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """Exact sums (float64 holding integers) plus the integer bias, rescaled to activations."""
    total = torch.round(acc).long() + bias.reshape(1, -1, 1, 1)
    return round_shift(total, WEIGHT_BITS).clamp_(-ACT_LIMIT, ACT_LIMIT)


def exact_conv2d(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, stride: int, padding: int) -> torch.Tensor:
    """x: int64 activations, w: integer float64 weights, b: int64 bias -> int64 activations."""
    return finish(F.conv2d(x.double(), w, None, stride, padding), b)


def exact_conv_transpose2d(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, stride: int, padding: int,
                           output_padding: int) -> torch.Tensor:
    return finish(F.conv_transpose2d(x.double(), w, None, stride, padding, output_padding), b)


def leaky_relu(x: torch.Tensor) -> torch.Tensor:
    """LeakyReLU of the fixed-point networks, on int64 (exact) or float (fake-quantized) input."""
    if x.dtype == torch.int64:
        return torch.where(x >= 0, x, round_shift(x * LEAKY_NUM, LEAKY_SHIFT))
    return quantize_act(F.leaky_relu(x, LEAKY_SLOPE))


def to_fixed(x: torch.Tensor) -> torch.Tensor:
    """Integer-valued float tensor (z symbols) -> int64 activations on the 2^-10 grid."""
    return (x.long() << ACT_BITS).clamp_(-ACT_LIMIT, ACT_LIMIT)


def to_float(x: torch.Tensor) -> torch.Tensor:
    """int64 activations -> float32 values (exact: |x| < 2^22 < 2^24)."""
    return x.float() / 2.0**ACT_BITS
