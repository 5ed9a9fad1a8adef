"""The model: one network definition for training (`forward`) and for coding (`encode_tile`/`decode_tile`).

p(x, y, z) = p(x|y) p(y|z) p(z). `structure` picks a width per edge and the number of
partites K; `q` in [0, 1] picks the rate through interpolated gain vectors on y.
"""
from __future__ import annotations

import contextlib

import zlib
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from .config import ModelConfig
from .context import ContextModel, PartiteTables, decode_steps, partite_map
from .entropy import FactorizedPrior, ScaleTable, gaussian_likelihood
from .entropy import ans
from .entropy.gaussian import lower_bound
from .errors import FormatError
from .structure import Structure
from .transforms import AnalysisTransform, HyperAnalysis, HyperSynthesis, SynthesisTransform


@contextlib.contextmanager
def one_thread():
    """Run the coding networks on one thread. Float32 sums are ordered by how a kernel splits
    work over threads, and a scale index or a rounded symbol that moves by one ulp desyncs the
    decoder (a file encoded with 1 thread failed its checksum when decoded with 2). With one
    thread on both sides, encoder and decoder compute the same numbers whatever --threads says."""
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


@dataclass
class TileCode:
    z: bytes
    y: bytes
    checksum: int  # CRC32 of every coded symbol, in coding order
    est_bits: float  # ideal code length under the coding distributions


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
        self.scales = ScaleTable(cfg.scale_min, cfg.scale_max, cfg.scale_levels)
        # Frozen coding table of z (computed by `freeze`, stored with the weights).
        self.register_buffer("z_pmf", torch.zeros(cfg.hyper_channels, 2 * cfg.z_bound + 1, dtype=torch.float64))

    # ------------------------------------------------------------------ shared pieces
    def _partites(self, s: Structure, h: int, w: int, assign: torch.Tensor | None = None) -> torch.Tensor:
        assign = self.tables.assignment(s.partites) if assign is None else assign
        return partite_map(assign, self.cfg.latent_channels, h, w).to(self.z_pmf.device)

    def _context_loop(self, hyper: torch.Tensor, pmap: torch.Tensor, emit: Callable,
                      net: Callable | None = None) -> torch.Tensor:
        """Visit the partites in order; `emit(mask, mean, scale, y_hat)` returns the new y_hat.
        `net` wraps the context network's call (training's `_net`)."""
        y_hat = None
        for k in decode_steps(pmap):
            def params(h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
                return self.context.params(h, self.context.context(y_hat, h))
            mean, scale = params(hyper) if net is None else net(params, hyper)
            y_hat = emit(pmap == k, mean, scale, y_hat)
        return y_hat

    def steps(self, s: Structure) -> int:
        """Non-empty partites of structure s (what the decoder executes)."""
        return len(decode_steps(self.tables.assignment(s.partites)))

    # ------------------------------------------------------------------ training
    batch_share: tuple[int, int] = (0, 1)  # (this process, processes) when the batch is split
    # Training only: run the networks' convolutions in bfloat16 (2x faster on CPUs with AMX).
    # Their outputs come back as float32, so noise, likelihoods and the MSE stay in float32:
    # bfloat16 keeps 8 bits of mantissa, too few for y + U(-0.5, 0.5) when |y| is in the tens.
    train_bf16: bool = False

    def _net(self, module: Callable, *args):
        """One network call of `forward`, in bfloat16 when `train_bf16` is set."""
        device = args[0].device.type
        with torch.autocast(device, dtype=torch.bfloat16, enabled=self.train_bf16 and self.training):
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
                assigns: list[torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        """Differentiable pass: x_hat and per-image bits of y and z.

        noise=True: uniform-noise rate proxy (training). noise=False: rounded latents, i.e. the
        rate the coder would spend up to the table quantization of scales (evaluation, search).
        assigns: several partite tables to rate y under (VIMCO samples): `bits_y_samples` is
        (S, batch) and `bits_y` their mean; x_hat uses the first table.
        """
        wa, wha, whs, ws = s.widths(self.cfg)
        gain, inv_gain = self.gains(q)
        y = self._net(self.g_a, x, wa) * gain
        z = self._net(self.h_a, y, wha)
        z_lik = self.prior.likelihood(z + self._noise(z) if noise else torch.round(z))
        hyper = self._net(self.h_s, ste_round(z), whs)
        y_noise = self._noise(y)
        tables = [assign] if assigns is None else assigns
        y_hat, samples = None, []
        for table in tables:
            bits_y = torch.zeros(x.shape[0], device=x.device)

            def emit(mask, mean, scale, prev):
                nonlocal bits_y
                r = y + y_noise - mean if noise else torch.round(y - mean)
                lik = gaussian_likelihood(r, lower_bound(scale, self.cfg.scale_min))
                bits_y = bits_y + (-torch.log2(lik) * mask).sum(dim=(1, 2, 3))
                values = ste_round(y - mean) + mean
                return torch.where(mask, values, torch.zeros_like(y) if prev is None else prev)

            y_sample = self._context_loop(hyper, self._partites(s, *y.shape[2:], table), emit, self._net)
            y_hat = y_sample if y_hat is None else y_hat
            samples.append(bits_y)
        x_hat = self._net(self.g_s, y_hat * inv_gain, ws)
        bits_z = -torch.log2(z_lik).sum(dim=(1, 2, 3))
        stacked = torch.stack(samples)
        return {"x_hat": x_hat, "bits_y": stacked.mean(0), "bits_z": bits_z, "bits_y_samples": stacked}

    @torch.no_grad()
    def freeze(self) -> None:
        """Turn the learned z density into the fixed coding table."""
        self.z_pmf.copy_(self.prior.pmf_table(self.cfg.z_bound))

    # ------------------------------------------------------------------ coding
    def _z_rows(self, c: int, h: int, w: int) -> np.ndarray:
        ch = np.repeat(np.arange(c), h * w)
        return self.z_pmf.cpu().numpy()[ch]

    @one_thread()
    @torch.inference_mode()
    def tile_symbols(self, x: torch.Tensor, q: float, s: Structure) -> tuple[np.ndarray, np.ndarray, list, int]:
        """The network half of encoding: x (1, 3, H, W), H and W multiples of 64 ->
        (z symbols, their probability rows, y chunks (symbols, stds) per partite step, CRC32)."""
        cfg = self.cfg
        wa, wha, whs, _ = s.widths(cfg)
        gain, _ = self.gains(torch.tensor([q]))
        y = self.g_a(x, wa) * gain
        z = self.h_a(y, wha)
        zc = torch.round(z).clamp_(-cfg.z_bound, cfg.z_bound)
        z_sym = (zc[0].reshape(-1) + cfg.z_bound).to(torch.int32).numpy()
        crc = zlib.crc32(z_sym.tobytes())
        hyper = self.h_s(zc, whs)
        chunks: list[tuple[np.ndarray, np.ndarray]] = []

        def emit(mask, mean, scale, y_hat):
            nonlocal crc
            m = mean[0][mask]
            idx = self.scales.index(scale[0][mask]).numpy()
            sym = torch.round(y[0][mask] - m).clamp_(-cfg.symbol_bound, cfg.symbol_bound)
            sym_np = sym.to(torch.int32).numpy()
            chunks.append((sym_np, self.scales.values[idx]))
            crc = zlib.crc32(sym_np.tobytes(), crc)
            y_hat = torch.zeros_like(y) if y_hat is None else y_hat
            y_hat[0][mask] = sym + m
            return y_hat

        self._context_loop(hyper, self._partites(s, *y.shape[2:]), emit)
        return z_sym, self._z_rows(*zc.shape[1:]), chunks, crc

    def encode_tile(self, x: torch.Tensor, q: float, s: Structure) -> TileCode:
        """x: (1, 3, H, W) in [0, 1] with H, W multiples of 64."""
        cfg = self.cfg
        z_sym, rows, chunks, crc = self.tile_symbols(x, q, s)
        z_bytes = ans.encode_categorical(z_sym, rows)
        y_bytes = ans.encode_gaussian_chunks(chunks, cfg.symbol_bound)
        est = float(-np.log2(rows[np.arange(len(z_sym)), z_sym] / rows.sum(1)).sum())
        for sym_np, stds in chunks:
            idx = np.round((np.log(stds) - self.scales.log_min) / self.scales.step).astype(np.int64)
            est += self.scales.neg_log2_prob(sym_np, idx, cfg.symbol_bound)
        return TileCode(z_bytes, y_bytes, crc, est)

    @one_thread()
    @torch.inference_mode()
    def decode_tile(self, code: TileCode, q: float, s: Structure, h: int, w: int) -> torch.Tensor:
        """Inverse of `encode_tile` for a padded tile of h x w pixels -> (1, 3, h, w) in [0, 1]."""
        cfg = self.cfg
        _, _, whs, ws = s.widths(cfg)
        _, inv_gain = self.gains(torch.tensor([q]))
        zh, zw = h // 64, w // 64
        rows = self._z_rows(cfg.hyper_channels, zh, zw)
        z_sym = ans.decode_categorical(code.z, rows).astype(np.int32)
        crc = zlib.crc32(z_sym.tobytes())
        zc = torch.from_numpy(z_sym.astype(np.float32) - cfg.z_bound).reshape(1, cfg.hyper_channels, zh, zw)
        hyper = self.h_s(zc, whs)
        reader = ans.GaussianReader(code.y, cfg.symbol_bound)

        def emit(mask, mean, scale, y_hat):
            nonlocal crc
            m = mean[0][mask]
            idx = self.scales.index(scale[0][mask]).numpy()
            sym_np = reader.read(self.scales.values[idx]).astype(np.int32)
            crc = zlib.crc32(sym_np.tobytes(), crc)
            if y_hat is None:
                y_hat = torch.zeros(1, cfg.latent_channels, h // 16, w // 16)
            y_hat[0][mask] = torch.from_numpy(sym_np).float() + m
            return y_hat

        y_hat = self._context_loop(hyper, self._partites(s, h // 16, w // 16), emit)
        if crc != code.checksum:
            raise FormatError("decoded symbols do not match the file's checksum "
                              "(corrupt data, or this machine computes the model differently)")
        return self.g_s(y_hat * inv_gain, ws).clamp_(0, 1)
