"""The model: one network definition for training (`forward`) and for coding (`analyse`,
`synthesise`, and the exact entropy path in `tile_coding`).

p(x, y, z) = p(x|y) p(y|z) p(z). `structure` picks a width per edge and the number of
partites K; `q` in [0, 1] picks the rate through interpolated gain vectors on y.
"""
from __future__ import annotations

import contextlib
from typing import Callable

import numpy as np
import torch
from torch import nn

from .config import ModelConfig
from .context import ContextModel, PartiteTables, decode_steps, partite_map
from .entropy import FactorizedPrior, GaussianConditional
from .format import TileCode
from .ops import fixed_point as fx
from . import tile_coding
from .structure import Structure
from .transforms import Y_STRIDE, AnalysisTransform, HyperAnalysis, HyperSynthesis, SynthesisTransform


@contextlib.contextmanager
def one_thread():
    """Run the analysis transforms on one thread. g_a and h_a decide the symbols (round(y - mean),
    round(z)), and float32 sums are ordered by how a kernel splits work over threads: on one
    thread, the same input gives the same bytes whatever --threads says. The decoder needs no
    such rule: what decides its symbols is exact integer arithmetic (see ops/fixed_point.py)."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def ste_round(x: torch.Tensor) -> torch.Tensor:
    """Round in the forward pass, identity in the backward pass."""
    return x + (torch.round(x) - x).detach()


class QualityGains(nn.Module):
    """Per-channel gains on y (and inverse gains before g_s) at anchor qualities, interpolated
    log-linearly in between: one model, a continuous rate dial (Cui et al., CVPR 2021)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        q = torch.linspace(0, 1, cfg.quality_anchors)[:, None]
        init = ((q - 0.5) * np.log(4.0)).expand(-1, cfg.latent_channels).clone()
        self.log_gain = nn.Parameter(init)
        self.log_inv_gain = nn.Parameter(-init.clone())

    def forward(self, q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pos = q.clamp(0, 1) * (self.log_gain.shape[0] - 1)
        i0 = pos.floor().long().clamp(max=self.log_gain.shape[0] - 2)
        t = (pos - i0)[:, None]
        lg = (1 - t) * self.log_gain[i0] + t * self.log_gain[i0 + 1]
        li = (1 - t) * self.log_inv_gain[i0] + t * self.log_inv_gain[i0 + 1]
        return lg.exp()[:, :, None, None], li.exp()[:, :, None, None]


class BasicModel(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.g_a = AnalysisTransform(cfg)
        self.h_a = HyperAnalysis(cfg)
        self.h_s = HyperSynthesis(cfg)
        self.g_s = SynthesisTransform(cfg)
        self.prior = FactorizedPrior(cfg.hyper_channels)
        self.context = ContextModel(cfg)
        self.tables = PartiteTables(cfg)
        self.gains = QualityGains(cfg)
        self.y_entropy = GaussianConditional(cfg.scale_min, cfg.scale_max, cfg.scale_levels, cfg.symbol_bound)
        # Frozen coding table of z (computed by `freeze`, stored with the weights).
        self.register_buffer("z_pmf", torch.zeros(cfg.hyper_channels, 2 * cfg.z_bound + 1, dtype=torch.float64))

    # ------------------------------------------------------------------ shared pieces
    def _partites(self, s: Structure, h: int, w: int, assign: torch.Tensor | None = None) -> torch.Tensor:
        assign = self.tables.assignment(s.partites) if assign is None else assign
        return partite_map(assign, self.cfg.latent_channels, h, w).to(self.z_pmf.device)

    def _params(self, hyper: torch.Tensor, y_hat: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, raw scale) of every element of y given what is decoded so far."""
        return self.context.params(hyper, self.context.context(y_hat, hyper))

    def steps(self, s: Structure) -> int:
        """Non-empty partites of structure s (what the decoder executes)."""
        return len(decode_steps(self.tables.assignment(s.partites)))

    # ------------------------------------------------------------------ training
    batch_share: tuple[int, int] = (0, 1)  # (this process, processes) when the batch is split
    # Training only: run g_a, h_a and g_s in bfloat16 (2x faster on CPUs with AMX). Their
    # outputs come back as float32, so noise, likelihoods and the MSE stay in float32:
    # bfloat16 keeps 8 bits of mantissa, too few for y + U(-0.5, 0.5) when |y| is in the tens.
    # The fixed-point networks (h_s, context, head) always run in float32, so their rounding to
    # the 2^-10 grid is the rounding the exact coding path does.
    train_bf16: bool = False

    def set_training(self, bf16: bool = False, batch_share: tuple[int, int] = (0, 1)) -> "BasicModel":
        """How the training loop runs this model: bfloat16 networks, and which share of a batch
        split over processes is this one's (for the noise draw)."""
        self.train_bf16, self.batch_share = bf16, batch_share
        return self

    def _net(self, module: Callable, *args, bf16: bool = True):
        """One network call of `forward`, in bfloat16 when `train_bf16` (and `bf16`) is set."""
        device = args[0].device.type
        enabled = bf16 and self.train_bf16 and self.training
        with torch.autocast(device, dtype=torch.bfloat16, enabled=enabled):
            out = module(*args)
        return tuple(o.float() for o in out) if isinstance(out, tuple) else out.float()

    def _noise(self, like: torch.Tensor) -> torch.Tensor:
        """Uniform noise in [-0.5, 0.5). With the batch split over processes, each one draws
        the whole batch's noise and keeps its share, so N processes see what one would."""
        rank, world = self.batch_share
        n = like.shape[0]
        full = torch.empty((n * world, *like.shape[1:]), device=like.device).uniform_(-0.5, 0.5)
        return full[rank * n : (rank + 1) * n]

    def forward(self, x: torch.Tensor, q: torch.Tensor, s: Structure,
                assign: torch.Tensor | None = None, noise: bool = True,
                assigns: list[torch.Tensor] | None = None, y: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Differentiable pass: x_hat and per-image bits of y and z.

        noise=True: uniform-noise rate proxy (training). noise=False: rounded latents, i.e. the
        rate the coder would spend up to the table quantization of scales (evaluation, search).
        assigns: several partite tables to rate y under (VIMCO samples): `bits_y_samples` is
        (S, batch) and `bits_y` their mean; x_hat uses the first table.
        y: `analysis(x, q, s)` when the caller has it already (the search scores many
        structures that share one g_a).
        """
        _, wha, whs, ws = s.widths(self.cfg)
        _, inv_gain = self.gains(q)
        if y is None:
            y = self.analysis(x, q, s)
        z = self._net(self.h_a, y, wha)
        z_lik = self.prior.likelihood(z + self._noise(z) if noise else torch.round(z))
        hyper = self._net(self.h_s, ste_round(z), whs, bf16=False)
        y_noise = self._noise(y)
        tables = [assign] if assigns is None else assigns
        def quantize(y, mean):  # rate the noisy (or rounded) residual, feed back the rounded value
            r = y + y_noise - mean if noise else torch.round(y - mean)
            return r, ste_round(y - mean) + mean

        y_hat, samples = None, []
        for table in tables:
            bits_y, y_sample = self.partite_pass(y, hyper, self._partites(s, *y.shape[2:], table), quantize)
            y_hat = y_sample if y_hat is None else y_hat
            samples.append(bits_y)
        x_hat = self._net(self.g_s, y_hat * inv_gain, ws)
        bits_z = -torch.log2(z_lik).sum(dim=(1, 2, 3))
        stacked = torch.stack(samples)
        return {"x_hat": x_hat, "bits_y": stacked.mean(0), "bits_z": bits_z, "bits_y_samples": stacked}

    def analysis(self, x: torch.Tensor, q: torch.Tensor, s: Structure) -> torch.Tensor:
        """g_a with the qualities' gains, batched and differentiable: x -> y."""
        gain, _ = self.gains(q)
        return self._net(self.g_a, x, s.widths(self.cfg)[0]) * gain

    def partite_pass(self, y: torch.Tensor, hyper: torch.Tensor, pmap: torch.Tensor,
                     quantize: Callable) -> tuple[torch.Tensor, torch.Tensor]:
        """The decoder's partite loop, differentiable (training, search, encoder effort): each
        step's means come from what earlier steps decoded. quantize(y, mean) -> (the residual to
        rate, the value fed back). -> (bits of y per image, y_hat)."""
        bits = torch.zeros(y.shape[0], device=y.device)
        y_hat = None
        for k in decode_steps(pmap):
            mask = pmap == k
            mean, raw = self._net(self._params, hyper, y_hat, bf16=False)
            r, value = quantize(y, mean)
            bits = bits + (-torch.log2(self.y_entropy.likelihood(r, raw)) * mask).sum(dim=(1, 2, 3))
            y_hat = torch.where(mask, value, torch.zeros_like(y) if y_hat is None else y_hat)
        return bits, y_hat

    @torch.no_grad()
    def freeze(self) -> None:
        """Turn the learned z density and y's scale table into the fixed coding tables."""
        self.z_pmf.copy_(self.prior.pmf_table(self.cfg.z_bound))
        self.y_entropy.freeze()

    # ------------------------------------------------------------------ coding
    @torch.inference_mode()
    def analyse(self, x: torch.Tensor, q: float, s: Structure) -> torch.Tensor:
        """g_a with the quality's gains: x (1, 3, H, W) in [0, 1] -> y (1, M, H/16, W/16). On one
        thread: y decides the symbols, and the same input must give the same bytes."""
        with one_thread():
            return self.analysis(x, torch.tensor([q]), s)

    @torch.inference_mode()
    def synthesise(self, y_hat: torch.Tensor, q: float, s: Structure) -> torch.Tensor:
        """g_s after the inverse gains: y_hat (float, 1, M, h, w) -> x_hat (1, 3, 16h, 16w) in [0, 1].
        Float on every core: it changes pixels (by at most a level), never symbols."""
        _, inv_gain = self.gains(torch.tensor([q]))
        return self.g_s(y_hat * inv_gain, s.widths(self.cfg)[3]).clamp_(0, 1)

    def encode_tile(self, y: torch.Tensor, s: Structure, z: torch.Tensor | None = None) -> tuple[TileCode, float]:
        """One tile alone: its latent y (1, M, h, w), h and w multiples of 4 (and optionally its
        hyper-latent z, default h_a(y)) -> (coded tile, ideal bits). Images go through
        `tile_coding`, whose tiles read their neighbours."""
        win = tile_coding.alone(*y.shape[2:])
        if z is None:
            z = tile_coding.hyper_analyse(self, y, s, [win], 1)
        return tile_coding.encode(self, y, z, s, [win], 1)[0]

    def decode_tile(self, code: TileCode, q: float, s: Structure, h: int, w: int) -> torch.Tensor:
        """One tile alone (no neighbours): a padded tile of h x w pixels -> (1, 3, h, w)."""
        win = tile_coding.alone(h // Y_STRIDE, w // Y_STRIDE)
        y_hat = tile_coding.decode(self, [code], s, [win], tile_coding.ALONE, 1)[0]
        return self.synthesise(fx.to_float(y_hat), q, s)
