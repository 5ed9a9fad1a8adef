"""y's entropy model: one object owns the scale table, the index computation, the training
likelihood and the coding of y (the role of CompressAI's `GaussianConditional`).

Training: the parameter head's raw scale goes through softplus to a continuous scale, and
`likelihood` is the mass of the unit bin around the residual under N(0, scale^2).

Coding: the raw scale is an int64 on the fixed-point grid (exact integer network). Its
scale-table index is the number of integer thresholds it reaches (softplus is monotone, so
comparing raw values is comparing scales; no log, no exp at coding time). Each of the
`levels` table entries has a fixed-point pmf over the symbols -bound..bound. Thresholds and
pmfs are computed once by `freeze` and stored with the weights, so encoder and decoder use
the very same integers on every machine.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..ops import fixed_point as fx
from ..ops.bound import lower_bound
from . import ans

PMF_BITS = 24  # pmf entries are integers summing to 2^24 (constriction's default precision)


def gaussian_likelihood(v: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Mass of the unit bin around v under N(0, scale^2)."""
    v = v.abs()
    inv = 1.0 / (scale * math.sqrt(2.0))
    p = 0.5 * (torch.erfc((v - 0.5) * inv) - torch.erfc((v + 0.5) * inv))
    return p.clamp_min(1e-9)


class GaussianConditional(nn.Module):
    """Zero-mean quantized Gaussians over y - mean, indexed by a log-spaced scale table."""

    def __init__(self, scale_min: float, scale_max: float, levels: int, bound: int) -> None:
        super().__init__()
        self.scale_min, self.scale_max, self.levels, self.bound = scale_min, scale_max, levels, bound
        self.register_buffer("thresholds", torch.zeros(levels - 1, dtype=torch.int64))
        self.register_buffer("pmf", torch.zeros(levels, 2 * bound + 1, dtype=torch.int32))
        self._models: tuple | None = None

    # ------------------------------------------------------------------ training
    def scale(self, raw: torch.Tensor) -> torch.Tensor:
        return lower_bound(F.softplus(raw), self.scale_min)

    def likelihood(self, residual: torch.Tensor, raw: torch.Tensor) -> torch.Tensor:
        return gaussian_likelihood(residual, self.scale(raw))

    # ------------------------------------------------------------------ tables
    def table_scales(self) -> np.ndarray:
        lo, hi = math.log(self.scale_min), math.log(self.scale_max)
        return np.exp(np.linspace(lo, hi, self.levels))

    @torch.no_grad()
    def freeze(self) -> None:
        """Compute the integer thresholds and pmfs (float64 math, once, at export)."""
        lo, hi = math.log(self.scale_min), math.log(self.scale_max)
        step = (hi - lo) / (self.levels - 1)
        # Index i covers scales in [exp(lo + (i - 0.5) step), exp(lo + (i + 0.5) step)).
        edges = [math.exp(lo + (i + 0.5) * step) for i in range(self.levels - 1)]
        raw = [math.log(math.expm1(b)) for b in edges]  # softplus^-1
        self.thresholds.copy_(torch.tensor([math.ceil(r * 2**fx.ACT_BITS) for r in raw], dtype=torch.int64))
        k = torch.arange(-self.bound, self.bound + 1, dtype=torch.float64).abs()
        rows = []
        for s in self.table_scales():
            inv = 1.0 / (float(s) * math.sqrt(2.0))
            p = 0.5 * (torch.erfc((k - 0.5) * inv) - torch.erfc((k + 0.5) * inv))
            p = p / p.sum()
            n = p.numel()
            counts = torch.floor(p * (2**PMF_BITS - n)).long() + 1  # every symbol codable
            counts[self.bound] += 2**PMF_BITS - int(counts.sum())  # the rest to the centre
            rows.append(counts)
        self.pmf.copy_(torch.stack(rows).to(torch.int32))
        self._models = None

    def index(self, raw: torch.Tensor) -> torch.Tensor:
        """Scale-table index of int64 raw scales: integer comparisons only."""
        return torch.searchsorted(self.thresholds, raw.contiguous(), right=True)

    def models(self) -> tuple:
        if self._models is None:
            if int(self.pmf[0].sum()) != 2**PMF_BITS:
                raise RuntimeError("y's coding tables are not frozen (GaussianConditional.freeze)")
            table = self.pmf.cpu().numpy().astype(np.float64) / 2.0**PMF_BITS
            self._models = tuple(ans.categorical_model(row) for row in table)
        return self._models

    def _apply(self, fn, *args, **kwargs):  # .to()/load_state_dict keep buffers; drop the coders
        self._models = None
        return super()._apply(fn, *args, **kwargs)

    def _load_from_state_dict(self, *args, **kwargs):
        self._models = None
        super()._load_from_state_dict(*args, **kwargs)

    # ------------------------------------------------------------------ coding
    def code_length(self, symbols: np.ndarray, index: np.ndarray) -> float:
        """Ideal code length (bits) of symbols under their coding pmfs."""
        counts = self.pmf.cpu().numpy()[index, symbols + self.bound].astype(np.float64)
        return float(PMF_BITS * len(symbols) - np.log2(counts).sum())

    def encode(self, chunks: list[tuple[np.ndarray, np.ndarray]]) -> bytes:
        """chunks: (int32 symbols, int64 table indices) per partite step, in decoding order."""
        return ans.encode_indexed([(s + self.bound, i) for s, i in chunks], self.models())

    def reader(self, data: bytes) -> "YReader":
        return YReader(ans.IndexedReader(data, self.models()), self.bound)


class YReader:
    """Decodes a y stream one partite step at a time."""

    def __init__(self, reader: "ans.IndexedReader", bound: int) -> None:
        self.inner, self.bound = reader, bound

    def read(self, index: np.ndarray) -> np.ndarray:
        return self.inner.read(index) - self.bound

    def finish(self) -> None:
        """After the last step: a valid stream is used up exactly."""
        self.inner.finish()
