"""The structure controller: (compute target c, quality q) -> one structure of the BayesNet.

DESIGN.md section 2, step 2. A small MLP gives logits over each edge's width options and over
K; Gumbel-softmax with straight-through hard samples picks one option per choice. The cost of
the picked structure is a dot product of the hard one-hot vectors with per-option MAC tables,
so it is the exact MAC count in the forward pass and differentiable in the backward pass:
the complexity penalty lambda_C * max(C - c, 0) / c teaches the controller to fit budgets.

The RD loss reaches the logits through the score function (`log_prob`), not through the
straight-through path: only the sampled width of a slimmable layer is computed, so a
straight-through gate on its output would only measure how the loss changes with the output's
scale, not which width is better. structure_stage.py compares the sampled structure with a
uniformly random one on the same batch instead.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..metadata import ControllerChoice
from ..config import ModelConfig
from ..structure import EDGES, Structure, cost, edge_costs


@dataclass(frozen=True)
class Choice:
    """One sampled structure with what the loss needs from it."""

    structure: Structure
    macs: torch.Tensor  # scalar: encoder + decoder MACs per pixel, differentiable (straight-through)
    log_prob: torch.Tensor  # log p(structure | c, q): the score-function path for the RD loss
    entropy: torch.Tensor  # of the five categorical distributions, summed (exploration bonus)


def round_trip_macs(cfg: ModelConfig, s: Structure) -> float:
    """What the controller's budget counts: encoder plus decoder MACs per pixel."""
    c = cost(cfg, s)
    return c.encoder + c.decoder


class Controller(nn.Module):
    def __init__(self, cfg: ModelConfig, hidden: int = 64) -> None:
        super().__init__()
        self.cfg = cfg
        self.n = len(cfg.widths)
        self.k_options = tuple(cfg.partite_options)
        self.net = nn.Sequential(nn.Linear(2, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, len(EDGES) * self.n + len(self.k_options)))
        table = edge_costs(cfg)  # MACs per option: 4 edges x n widths, and one row for K
        self.register_buffer("width_macs", torch.tensor([table[e] for e in EDGES], dtype=torch.float32))
        self.register_buffer("k_macs", torch.tensor(table["partites"], dtype=torch.float32))
        lo = round_trip_macs(cfg, Structure.uniform(0, min(self.k_options)))
        hi = round_trip_macs(cfg, Structure.uniform(self.n - 1, max(self.k_options)))
        self.log_range = (math.log(lo), math.log(hi))

    @property
    def n_uniforms(self) -> int:
        """How many uniform numbers one `sample` consumes."""
        return len(EDGES) * self.n + len(self.k_options)

    def target(self, u: float) -> float:
        """u in [0, 1] -> a compute target, log-uniform between the cheapest and dearest structure."""
        lo, hi = self.log_range
        return math.exp(lo + u * (hi - lo))

    def logits(self, c: float, q: float) -> tuple[torch.Tensor, torch.Tensor]:
        lo, hi = self.log_range
        feat = torch.tensor([[2 * (math.log(c) - lo) / (hi - lo) - 1, 2 * q - 1]], dtype=torch.float32)
        out = self.net(feat)[0]
        return out[: len(EDGES) * self.n].reshape(len(EDGES), self.n), out[len(EDGES) * self.n :]

    def sample(self, c: float, q: float, tau: float, uniforms: np.ndarray) -> Choice:
        """Gumbel-softmax, hard in the forward pass. `uniforms`: len(EDGES) * n + len(K) numbers
        in (0, 1) from the caller's RNG, so a resumed run samples the same structures."""
        if len(uniforms) != self.n_uniforms:
            raise ValueError(f"sample needs {self.n_uniforms} uniforms, got {len(uniforms)}")
        w_logits, k_logits = self.logits(c, q)
        u = torch.from_numpy(np.clip(uniforms, 1e-10, 1 - 1e-7)).float()
        gumbel = -torch.log(-torch.log(u))
        w_hard, w_idx = _straight_through(w_logits, gumbel[: w_logits.numel()].reshape(w_logits.shape), tau)
        k_hard, k_idx = _straight_through(k_logits[None], gumbel[w_logits.numel() :][None], tau)
        s = Structure(*(int(i) for i in w_idx), self.k_options[int(k_idx[0])])
        macs = (w_hard * self.width_macs).sum() + (k_hard[0] * self.k_macs).sum()
        w_logp, k_logp = torch.log_softmax(w_logits, -1), torch.log_softmax(k_logits, -1)
        log_prob = w_logp.gather(1, w_idx[:, None]).sum() + k_logp[k_idx[0]]
        entropy = -(w_logp.exp() * w_logp).sum() - (k_logp.exp() * k_logp).sum()
        return Choice(s, macs, log_prob, entropy)

    @torch.no_grad()
    def greedy(self, c: float, q: float) -> Structure:
        """The most likely structure for (c, q): what `search` evaluates as the controller's choice."""
        w_logits, k_logits = self.logits(c, q)
        return Structure(*(int(i) for i in w_logits.argmax(-1)), self.k_options[int(k_logits.argmax())])

    def choices(self, targets: int = 12, qualities: tuple[float, ...] = (0.0, 0.5, 1.0)) -> list[ControllerChoice]:
        """Greedy structures over a grid of targets and qualities (stored with the weights)."""
        out = []
        for u in np.linspace(0, 1, targets):
            c = self.target(float(u))
            for q in qualities:
                s = self.greedy(c, q)
                out.append(ControllerChoice(round(c / 1000, 3), q, s, round(round_trip_macs(self.cfg, s) / 1000, 3)))
        return out


def _straight_through(logits: torch.Tensor, gumbel: torch.Tensor, tau: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows of hard one-hots whose gradient is that of the tempered softmax."""
    soft = torch.softmax((logits + gumbel) / tau, dim=-1)
    idx = soft.argmax(-1)
    hard = F.one_hot(idx, logits.shape[-1]).float()
    return hard - soft.detach() + soft, idx


def temperature(t: float, start: float = 1.0, end: float = 0.1) -> float:
    """Exponential annealing over the run's progress t in [0, 1]."""
    return start * (end / start) ** min(1.0, max(0.0, t))
