#!/usr/bin/env python
"""The controller alone on a toy RD loss: how lr, lambda_C and the entropy bonus shape what it
learns (docs/DESIGN_NOTES.md, "How the controller learns"). No backbone, ~10 s per setting.

    python scripts/controller_sim.py

Toy RD loss: each width step of g_a or g_s is worth 4 %, of h_a or h_s 0.5 %, each doubling of
K 1.5 %, times a random factor per step shared with the baseline (the batch's content). Prints,
per setting, the greedy structure and its encoder+decoder kMAC/px at five targets.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from basic_codec.config import preset
from basic_codec.train.controller import Controller, round_trip_macs, temperature
from basic_codec.structure import Structure
from basic_codec.train.structure_stage import controller_terms


def toy_rd(s, content: float) -> float:
    return (1 - 0.04 * (s.g_a + s.g_s) - 0.005 * (s.h_a + s.h_s) - 0.015 * math.log2(s.partites)) * content


def run(lr: float, lambda_c: float, entropy: float, steps: int = 3000) -> str:
    cfg = preset("basic-s")
    torch.manual_seed(0)
    ctrl = Controller(cfg)
    opt = torch.optim.Adam(ctrl.parameters(), lr=lr)
    rng = np.random.default_rng(0)
    for t in range(steps):
        for g in opt.param_groups:
            g["lr"] = lr * min(1.0, (t + 1) / 300)
        c, q = ctrl.target(rng.random()), rng.random()
        ch = ctrl.sample(c, q, temperature(t / steps), rng.random(ctrl.n_uniforms))
        baseline = Structure.random(cfg, rng)
        content = float(np.exp(rng.normal(0, 0.3)))
        reinforce, penalty, _ = controller_terms(ch, toy_rd(ch.structure, content * (1 + 0.05 * rng.normal())),
                                                 toy_rd(baseline, content * (1 + 0.03 * rng.normal())),
                                                 c, lambda_c, entropy)
        opt.zero_grad()
        (reinforce + penalty).backward()
        opt.step()
    cells = []
    for u in (0, 0.25, 0.5, 0.75, 1):
        target = ctrl.target(u)
        s = ctrl.greedy(target, 0.5)
        cells.append(f"{target / 1000:.0f} -> {'/'.join(map(str, s.indices))} K={s.partites} "
                     f"({round_trip_macs(cfg, s) / 1000:.0f})")
    return f"| {lr:g} | {lambda_c:g} | {entropy:g} | " + " | ".join(cells) + " |"


def main() -> None:
    print("| controller lr | lambda_C | entropy bonus | target kMAC/px -> greedy structure (its kMAC/px), 5 targets |||||")
    print("|---|---|---|---|---|---|---|---|")
    for lr, lambda_c, entropy in [(1e-3, 1.0, 0.01), (1e-3, 0.2, 0.01), (3e-4, 1.0, 0.01), (1e-3, 1.0, 0.0)]:
        print(run(lr, lambda_c, entropy), flush=True)


if __name__ == "__main__":
    main()
