#!/usr/bin/env python
"""The two structure-learning ablations of issue 4, on the validation split (never Kodak).

    python scripts/structure_ablation.py ../shared/data/train --weights W [--doc docs/TRAINING.md]

1. Learned structure choice vs uniformly random widths at equal MACs: every distinct (structure,
   quality) the trained controller picks (`controller_choices` in the weights) is scored at its
   quality against up to --random structures drawn uniformly from all width choices with the
   same K whose encoder+decoder MACs are within --tolerance of it.
2. Learned partite tables vs fixed checkerboard / channel-group orders at equal K, for the
   widest and a middle uniform width.

Writes both tables between `<!-- ablation:start -->` and `<!-- ablation:end -->` in --doc.
"""
from __future__ import annotations

import argparse
import datetime
import itertools
from pathlib import Path

import numpy as np
import torch

from basic_codec.config import QUALITY_GRID
from basic_codec.bench.report import replace_block
from basic_codec.bench.run import machine
from basic_codec.context import default_assignment, fixed_assignment
from basic_codec.progress import Progress
from basic_codec.structure import Structure
from basic_codec.train.controller import round_trip_macs
from basic_codec.metadata import WeightsMeta
from basic_codec.train.search import DEFAULT_CROP, learned_table, score, validation_crops
from basic_codec.weights import load_weights, model_id

START, END = "<!-- ablation:start -->", "<!-- ablation:end -->"
QUALITIES = QUALITY_GRID


def controller_vs_random(model, x, choices, n_random: int, tolerance: float, rng) -> list[str]:
    cfg = model.cfg
    n = len(cfg.widths)
    pairs = list(dict.fromkeys((c.structure, c.quality) for c in choices))
    rows, wins, total = [], 0, 0
    bar = Progress(len(pairs), "controller vs random")
    for s, q in pairs:
        macs = round_trip_macs(cfg, s)
        pool = [r for w in itertools.product(range(n), repeat=4)
                if (r := Structure(*w, s.partites)) != s and abs(round_trip_macs(cfg, r) / macs - 1) <= tolerance]
        picks = [pool[i] for i in rng.choice(len(pool), size=min(n_random, len(pool)), replace=False)] if pool else []
        mine = score(model, x, s, (q,)).rd_loss
        others = [score(model, x, r, (q,)).rd_loss for r in picks]
        bar.update(1)
        if not others:
            continue
        beaten = sum(mine < o for o in others)
        wins, total = wins + beaten, total + len(others)
        rows.append(f"| {q:g} | {'/'.join(str(cfg.widths[i]) for i in s.indices)}, K={s.partites} | "
                    f"{macs / 1000:.1f} | {mine:.4f} | {len(others)} | {np.mean(others):.4f} | {min(others):.4f} | "
                    f"{100 * (mine - np.mean(others)) / np.mean(others):+.1f} % | {beaten}/{len(others)} |")
    head = ["| quality | controller's structure (g_a/h_a/h_s/g_s) | enc+dec kMAC/px | its RD loss | random "
            "structures | their mean RD loss | their best | vs mean | random ones beaten |",
            "|---|---|---|---|---|---|---|---|---|"]
    summary = (f"The controller's choice has the lower RD loss in {wins} of {total} comparisons "
               f"({100 * wins / max(total, 1):.0f} %).")
    return [summary, ""] + head + rows


def tables_vs_fixed(model, x, meta: WeightsMeta) -> list[str]:
    """`meta`: the weights' history, whose search record names the shipped table per K and
    keeps the VIMCO-learned ones."""
    cfg = model.cfg
    g = cfg.channel_groups
    picked, learned = (meta.search.tables if meta.search else {}), meta.learned_tables()
    orders = {"learned": lambda k: learned_table(model, k, learned),
              "start (checkerboard x channel groups)": lambda k: torch.tensor(default_assignment(k, g)),
              "checkerboard first": lambda k: fixed_assignment("checkerboard", k, g),
              "channel groups first": lambda k: fixed_assignment("channel", k, g)}
    widths = sorted({len(cfg.widths) - 1, (len(cfg.widths) - 1) // 2}, reverse=True)
    rows = ["| widths | K | table | val bpp | val RD loss | vs learned |", "|---|---|---|---|---|---|"]
    bar = Progress(len(widths) * 3 * len(orders), "partite tables")
    for w in widths:
        for k in (k for k in cfg.partite_options if k > 1):
            s = Structure.uniform(w, k)
            results = {}
            for name, table in orders.items():
                results[name] = score(model, x, s, QUALITIES, assign=table(k))
                bar.update(1)
            ref = results["learned"].rd_loss
            for name, r in results.items():
                if name == "learned" and k in picked:
                    name = f"learned (the search shipped: {picked[k].table})"
                rows.append(f"| {cfg.widths[w]} (all edges) | {k} | {name} | {r.bpp:.4f} | {r.rd_loss:.4f} | "
                            f"{100 * (r.rd_loss - ref) / ref:+.2f} % |")
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("data", help="the training folder (its 5%% validation split is used)")
    p.add_argument("--weights", help="weights trained with --stage structure (default: shipped)")
    p.add_argument("--doc", default="docs/TRAINING.md")
    p.add_argument("--crop", type=int, default=DEFAULT_CROP)
    p.add_argument("--random", type=int, default=6, help="random structures per controller choice")
    p.add_argument("--tolerance", type=float, default=0.1, help="relative MAC difference allowed")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    model, _, meta = load_weights(a.weights)
    if not meta.controller_choices:
        raise SystemExit("these weights hold no controller choices: train them with --stage structure")
    x = validation_crops(a.data, a.crop)
    rng = np.random.default_rng(a.seed)
    part1 = controller_vs_random(model, x, meta.controller_choices, a.random, a.tolerance, rng)
    part2 = tables_vs_fixed(model, x, meta)
    block = "\n".join([
        START,
        f"Written by `python scripts/structure_ablation.py` on {datetime.date.today()} ({machine()}), "
        f"weights {model_id(model).hex()}, {x.shape[0]} validation images, centre {a.crop}-px crops, "
        f"RD loss = bpp + lambda(q) 255^2 MSE with rounded latents.",
        "",
        f"**Learned structure choice vs uniformly random widths at equal MACs** (within "
        f"{100 * a.tolerance:.0f} % of encoder+decoder kMAC/px, same K, scored at the controller's quality):",
        "", *part1, "",
        f"**Learned partite tables vs fixed orders at equal K** (mean over q = "
        f"{', '.join(f'{q:.2f}' for q in QUALITIES)}):",
        "", *part2, END])
    replace_block(Path(a.doc), START, END, block)
    print(block)


if __name__ == "__main__":
    main()
