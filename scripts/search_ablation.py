#!/usr/bin/env python
"""Searched levels vs uniform-width structures at equal decoder MACs (the table in docs/TRAINING.md).

    python scripts/search_ablation.py [docs/search_scores.json] [weights.safetensors]

Reads every candidate's validation score written by `basic-codec search --scores` and the level
table of the weights; prints a markdown table.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from basic_codec.weights import load_weights


def main(scores_path: str = "docs/search_scores.json", weights: str | None = None) -> None:
    rows = json.load(open(scores_path))
    model, levels, _ = load_weights(weights)
    widths = model.cfg.widths
    def idx(r):  # older score files call the width indices "widths"
        return tuple(r.get("width_indices", r.get("widths")))

    name = lambda r: "/".join(str(widths[i]) for i in idx(r)) + f", K={r['partites']}"  # noqa: E731
    by_key = {(idx(r), r["partites"]): r for r in rows}
    uniform = [r for r in rows if len(set(idx(r))) == 1]
    print("| level | searched structure | dec kMAC/px | val RD loss | best uniform-width structure at <= MACs "
          "| its dec kMAC/px | its RD loss | RD loss change |")
    print("|---|---|---|---|---|---|---|---|")
    for lv in levels:
        r = by_key[(lv.structure.indices, lv.structure.partites)]
        u = min((x for x in uniform if x["dec_kmac_per_px"] <= r["dec_kmac_per_px"] + 1e-9), key=lambda x: x["rd_loss"])
        print(f"| {lv.level} | {name(r)} | {r['dec_kmac_per_px']:.1f} | {r['rd_loss']:.3f} | {name(u)} | "
              f"{u['dec_kmac_per_px']:.1f} | {u['rd_loss']:.3f} | {100 * (r['rd_loss'] - u['rd_loss']) / u['rd_loss']:+.1f} % |")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("scores", nargs="?", default="docs/search_scores.json",
                    help="candidate scores written by `basic-codec search --scores`")
    ap.add_argument("weights", nargs="?", help="searched weights (default: shipped)")
    args = ap.parse_args()
    if not Path(args.scores).is_file():
        sys.exit(f"search_ablation.py: error: no scores file {args.scores} (write one with `basic-codec search --scores`)")
    main(args.scores, args.weights)
