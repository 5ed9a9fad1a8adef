"""Encoder effort: spend encode time to save bits, with the decoder unchanged.

g_a's latents are an amortised guess. At effort E > 0 the encoder refines y and z of the image
at hand for the chosen structure and quality, minimising that quality's R + lambda D through
the very h_s, context model and g_s that will decode it, with stochastic Gumbel annealing
(Yang, Bamler, Mandt, NeurIPS 2020): each latent is rounded to floor or ceil at random, with
probabilities that sharpen from soft (temperature 0.5) to the decoder's hard rounding as the
iterations go. Then the refined latents are coded as usual: the file and the decoder do not
know it happened.

Effort E runs 2^(E+2) Adam steps (8 at E = 1, 2,048 at E = 9): each step up doubles the
refinement time. The refinement is seeded and runs on one thread, so the same input and
effort give the same bytes.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .ops.metrics import rd_loss

MAX_EFFORT = 9


@dataclass(frozen=True)
class EffortPlan:
    iterations: int
    lr: float = 5e-3
    tau_start: float = 0.5
    tau_end: float = 0.02
    seed: int = 0


def plan(effort: int) -> EffortPlan | None:
    """None for effort 0 (one pass of g_a)."""
    if not (isinstance(effort, int) and 0 <= effort <= MAX_EFFORT):
        raise ValueError(f"effort must be an integer in 0..{MAX_EFFORT}, got {effort!r}")
    return None if effort == 0 else EffortPlan(iterations=2 ** (effort + 2))


def sga_round(v: torch.Tensor, tau: float, gen: torch.Generator) -> torch.Tensor:
    """Stochastic Gumbel annealing: floor or ceil of v, soft in between, differentiable in v.
    The closer v is to an integer, the likelier it goes there; tau -> 0 is plain rounding."""
    lo = torch.floor(v)
    frac = v - lo
    eps = 1e-5
    logits = torch.stack([-torch.atanh(frac.clamp(eps, 1 - eps)), -torch.atanh((1 - frac).clamp(eps, 1 - eps))], -1)
    u = torch.rand(logits.shape, generator=gen).clamp_(1e-10, 1 - 1e-10)
    w = F.softmax((logits / tau - torch.log(-torch.log(u))) / tau, dim=-1)
    return lo + w[..., 1]


def refine(model, x: torch.Tensor, y: torch.Tensor, q: float, s, effort_plan: EffortPlan,
           progress=None, valid: tuple[int, int] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """x (1, 3, H, W) in [0, 1] and its latent y (1, M, H/16, W/16) -> refined (y, z), z not
    rounded. One tile at a time; the caller codes z = round(z) and y as usual. valid: the
    image's own (height, width) inside x; the padding beyond it does not count as distortion."""
    cfg = model.cfg
    _, wha, whs, ws = s.widths(cfg)
    lam = cfg.lmbda(q)
    _, inv_gain = model.gains(torch.tensor([q]))
    inv_gain = inv_gain.detach()
    gen = torch.Generator().manual_seed(effort_plan.seed)
    frozen = [p for p in model.parameters() if p.requires_grad]
    for p in frozen:  # gradients for the latents only
        p.requires_grad_(False)
    try:
        return _descend(model, x, y, s, effort_plan, lam, inv_gain, gen, wha, whs, ws, progress,
                        valid or tuple(x.shape[2:]))
    finally:
        for p in frozen:
            p.requires_grad_(True)


def _objective(model, x, y, z, s, lam, inv_gain, rounder, whs, ws, valid) -> torch.Tensor:
    """bits/pixel + lambda 255^2 MSE of latents (y, z) under the decoder's own networks, with
    `rounder` standing in for the rounding (soft while refining, hard to judge the result)."""
    def quantize(y, mean):
        r = rounder(y - mean)
        return r, r + mean

    z_t = rounder(z)
    bits_y, y_hat = model.partite_pass(y, model.h_s(z_t, whs), model._partites(s, *y.shape[2:]), quantize)
    bits = bits_y.sum() - torch.log2(model.prior.likelihood(z_t)).sum()
    x_hat = model.g_s(y_hat * inv_gain, ws).clamp(0, 1)  # as the decoder clamps
    h, w = valid
    return rd_loss(bits / (h * w), F.mse_loss(x_hat[..., :h, :w], x[..., :h, :w]), lam)


def _descend(model, x, y, s, effort_plan, lam, inv_gain, gen, wha, whs, ws, progress, valid):
    with torch.inference_mode(False), torch.enable_grad():
        y0 = y.detach().clone()
        with torch.no_grad():
            z0 = model.h_a(y0, wha)
        y = y0.clone().requires_grad_(True)
        z = z0.clone().requires_grad_(True)
        opt = torch.optim.Adam([y, z], lr=effort_plan.lr)
        n = effort_plan.iterations
        for it in range(n):
            tau = effort_plan.tau_start * (effort_plan.tau_end / effort_plan.tau_start) ** (it / max(1, n - 1))
            loss = _objective(model, x, y, z, s, lam, inv_gain, lambda v: sga_round(v, tau, gen), whs, ws, valid)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if progress is not None:
                progress.update(1)
        # Keep the refinement only if, rounded as the decoder rounds, it beats g_a's own guess:
        # more effort never costs RD.
        with torch.no_grad():
            hard = lambda v: torch.round(v)  # noqa: E731
            before = _objective(model, x, y0, z0, s, lam, inv_gain, hard, whs, ws, valid)
            after = _objective(model, x, y.detach(), z.detach(), s, lam, inv_gain, hard, whs, ws, valid)
    if after < before:
        return y.detach(), z.detach()
    return y0, z0


def expected_seconds(effort: int, pixels: int) -> float:
    """A rough guess used only to decide whether a progress bar is worth showing."""
    return 0.0 if effort == 0 else 2 ** (effort + 2) * pixels / 2e5

