"""Stage `structure` of training (DESIGN.md section 2, steps 1-3): the controller picks the
structure for a sampled (compute target, quality), partite tables are sampled and learned with
VIMCO, and the backbone is fine-tuned on whatever was picked.

Loss = RD loss + lambda_C * max(C - c, 0) / c (straight-through Gumbel-softmax)
     + score-function term for the controller (a random structure on the same batch as baseline)
     - entropy bonus (keeps the controller exploring until the target conditions it)
     + VIMCO surrogate for the table logits (S tables per structure, rate as the reward).
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch

from ..ops.metrics import psnr_from_mse, rate_and_mse, rd_loss
from ..codec import BasicModel
from ..structure import Structure
from .controller import Choice, Controller, temperature


def vimco_signals(f: torch.Tensor) -> torch.Tensor:
    """Per-sample learning signals of VIMCO (Mnih & Rezende, 2016) for the multi-sample
    objective log mean_i exp f_i. f: (S, batch), higher is better -> (S,), averaged over images.

    Sample i's signal is the objective minus the objective with f_i replaced by the mean of the
    other samples: a baseline built from the other samples, so no learned critic is needed.
    """
    s = f.shape[0]
    if s < 2:
        raise ValueError("VIMCO needs at least 2 samples")
    f = f.detach().double()
    full = torch.logsumexp(f, 0) - math.log(s)
    signals = []
    for i in range(s):
        others = torch.cat([f[:i], f[i + 1 :]])
        held_out = torch.cat([others, others.mean(0, keepdim=True)])
        signals.append((full - (torch.logsumexp(held_out, 0) - math.log(s))).mean())
    return torch.stack(signals).float()


def controller_terms(choice: Choice, rd: float, baseline: float, c: float, lambda_c: float,
                     entropy_bonus: float) -> tuple[torch.Tensor, torch.Tensor, float]:
    """The controller's loss for a structure drawn for target c, with its RD loss and the RD loss
    of a structure drawn independently of the controller on the same batch (the baseline: it
    cancels the batch's content and, being independent of the choice, leaves the gradient
    unbiased). -> (score-function term - entropy bonus, complexity penalty, relative RD difference)."""
    a = (rd - baseline) / (0.5 * (rd + baseline))
    reinforce = a * choice.log_prob - entropy_bonus * choice.entropy
    penalty = lambda_c * torch.relu(choice.macs - c) / c
    return reinforce, penalty, a


def _rd(model: BasicModel, x: torch.Tensor, q: torch.Tensor, lmbda: float, s, assigns) -> tuple[torch.Tensor, dict]:
    out = model(x, q, s, assigns=assigns)
    bpp, mse = rate_and_mse(out, x)
    return rd_loss(bpp, mse, lmbda).mean(), {"bpp": bpp.detach().mean(), "mse": mse.detach().mean(),
                                             "bits_y_samples": out["bits_y_samples"] / (x.shape[2] * x.shape[3])}


def structure_loss(model: BasicModel, controller: Controller, x: torch.Tensor, progress: float,
                   rng: np.random.Generator, lambda_c: float, samples: int, entropy_bonus: float = 0.01,
                   mean: Callable[[list[float]], list[float]] = lambda v: v) -> tuple[torch.Tensor, float, dict]:
    """One step's loss. x: this process's slice of the batch; every process draws the same
    target, quality, structures and tables from `rng`; `mean` averages floats over processes,
    so the controller sees the whole batch's RD losses. -> (loss, value for the spike guard, metrics).

    The controller's structure and a uniformly random one are trained on the same batch; the
    random one's RD loss is the controller's score-function baseline (the batch's content
    cancels out), and training it keeps every width of the backbone in use, whatever the
    controller prefers. The penalty's gradient takes the straight-through path.
    """
    cfg = model.cfg
    c = controller.target(float(rng.random()))
    qv = float(rng.random())
    q = torch.full((x.shape[0],), qv)
    tau = temperature(progress)
    choice = controller.sample(c, qv, tau, rng.random(controller.n_uniforms))
    structures = [choice.structure, Structure.random(cfg, rng)]
    rds, parts, surrogate = [], [], torch.zeros(())
    for i, s in enumerate(structures):
        k = s.partites
        uniforms = torch.from_numpy(rng.random((samples, cfg.channel_groups, 4, k)))
        if i == 1 and s == structures[0]:
            rds.append(rds[0])  # the same structure twice: no second pass, no signal
            continue
        assigns = [model.tables.sample(k, u) for u in uniforms] if k > 1 else None
        rd, part = _rd(model, x, q, cfg.lmbda(qv), s, assigns)
        if assigns is not None:
            signals = vimco_signals(-part["bits_y_samples"])
            surrogate = surrogate - sum(sig * model.tables.log_prob(k, a) for sig, a in zip(signals, assigns))
        rds.append(rd)
        parts.append(part)
    rd = torch.stack(rds).mean()
    scale = float(rd.detach())
    rd_mine, rd_random = mean([float(r.detach()) for r in rds])
    reinforce, penalty, advantage = controller_terms(choice, rd_mine, rd_random, c, lambda_c, entropy_bonus)
    # One quality per step makes the RD loss swing several-fold between q = 0 and q = 1 (lambda
    # spans 27x); the spike guard watches it scaled by sqrt(lambda(0.5) / lambda(q)).
    guard = scale * math.sqrt(cfg.lmbda(0.5) / cfg.lmbda(qv))
    mse = torch.stack([p["mse"] for p in parts]).mean()
    metrics = {"rd": scale, "bpp": float(torch.stack([p["bpp"] for p in parts]).mean()), "mse": float(mse),
               "psnr": float(psnr_from_mse(mse)),
               "penalty": float(penalty.detach()), "vimco": float(surrogate.detach()),
               "advantage": advantage, "entropy": float(choice.entropy.detach()), "tau": tau,
               "target_kmac": c / 1000, "kmac": float(choice.macs.detach()) / 1000, "quality": qv,
               "random_widths": list(structures[1].indices), "random_partites": structures[1].partites}
    return rd + penalty + reinforce + surrogate, guard, {"structure": choice.structure, **metrics}
