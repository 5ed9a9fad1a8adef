#!/usr/bin/env python
"""Issue 18's effort table: what each encoder effort buys at the bottom and top levels.

    python scripts/effort_table.py ../shared/data/kodak --limit 6 --efforts 0-9 --doc docs/RESULTS.md

For every effort, `basic-codec bench`'s own measurement (real files, the unchanged decoder) on
the first --limit images at the quality grid, bottom and top level; records are kept in
--out (resumable: an interrupted table continues where it stopped, and efforts already measured
are not measured again). The table: per level and effort, mean bpp and PSNR, BD-rate against
effort 0 over the quality grid, and the mean encode seconds. Written between
`<!-- effort:start -->` and `<!-- effort:end -->` in --doc (kept there by `bench`).
High efforts are slow on a CPU (2^(E+2) refinement steps per tile): see `effort.expected_seconds`.
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from basic_codec.api import load  # noqa: E402
from basic_codec.bench.bdrate import bd_rate  # noqa: E402
from basic_codec.bench.report import publish_block  # noqa: E402
from basic_codec.bench.run import BenchConfig, machine, run  # noqa: E402
from basic_codec.config import QUALITY_GRID  # noqa: E402
from basic_codec.effort import MAX_EFFORT  # noqa: E402

START, END = "<!-- effort:start -->", "<!-- effort:end -->"


def efforts(text: str) -> list[int]:
    """'0-9' or '0,2,4' -> a sorted list within 0..MAX_EFFORT, always with 0 (the reference)."""
    out = set()
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out.update(range(int(lo), int(hi or lo) + 1))
    if not out <= set(range(MAX_EFFORT + 1)):
        raise SystemExit(f"effort_table.py: error: efforts must be in 0..{MAX_EFFORT}")
    return sorted(out | {0})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("images", help="folder of images (the issue: Kodak)")
    ap.add_argument("--limit", type=int, default=6, help="first N images (default 6)")
    ap.add_argument("--efforts", default=f"0-{MAX_EFFORT}", help="e.g. 0-9 or 0,3,6 (default all)")
    ap.add_argument("--weights", help="weights (default: shipped)")
    ap.add_argument("--out", default="results/effort", help="records folder (resumable)")
    ap.add_argument("--doc", help="write the table into this markdown file")
    args = ap.parse_args()
    codec = load(args.weights)
    levels = (0, len(codec.levels) - 1)
    results = {}
    for e in efforts(args.efforts):
        cfg = BenchConfig(args.images, args.out, qualities=QUALITY_GRID, levels=levels, baselines=(),
                          limit=args.limit, effort=e)
        results[e] = run(cfg, codec)
        print(f"effort {e} done", flush=True)
    ref = results[0]
    lines = [f"Measured {dt.date.today()} on {machine()} by `python scripts/effort_table.py {args.images} "
             f"--limit {args.limit} --efforts {args.efforts}" + (f" --weights {args.weights}" if args.weights else "")
             + f"`: weights {ref.model_id}, the first {ref.n_images} "
             f"images, qualities {', '.join(map(str, QUALITY_GRID))}; the decoder is the same at every effort. "
             "BD-rate against effort 0 at the same level (negative: fewer bits for the same PSNR).", "",
             "| level | effort | mean bpp | mean PSNR (dB) | BD-rate vs effort 0 | mean encode s |",
             "|---|---|---|---|---|---|"]
    for lv in levels:
        base = sorted((p.bpp, p.psnr) for p in ref.ours if p.level == lv)
        for e, res in results.items():
            pts = [p for p in res.ours if p.level == lv]
            curve = sorted((p.bpp, p.psnr) for p in pts)
            try:
                bd = f"{bd_rate(base, curve):+.2f} %" if e else "0 (reference)"
            except ValueError:  # curves without enough PSNR overlap
                bd = "n/a"
            lines.append(f"| {lv} | {e} | {sum(p.bpp for p in pts) / len(pts):.4f} | "
                         f"{sum(p.psnr for p in pts) / len(pts):.2f} | {bd} | "
                         f"{sum(p.enc_s for p in pts) / len(pts):.1f} |")
    publish_block(args.doc, START, END, lines)


if __name__ == "__main__":
    main()
