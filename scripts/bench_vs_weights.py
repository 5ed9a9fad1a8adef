#!/usr/bin/env python
"""BD-rate of one weight set's levels against another's, from `basic-codec bench` records.

    python scripts/bench_vs_weights.py results/bench/ours.jsonl OLD_ID NEW_ID 0:0 9:7 9:9

Each OLD:NEW pair compares level NEW of the new weights with level OLD of the old ones over
their shared PSNR range (mean bpp and PSNR over the images at each quality, effort 0): both were
benched on the same images, so this is a like-for-like comparison, where each one's BD-rate
against VTM depends on the range its curve spans.
"""
from __future__ import annotations

import json
import sys

from basic_codec.bench.bdrate import bd_rate
from basic_codec.bench.run import aggregate


def curves(path: str) -> dict:
    """(model, level) -> [(bpp, PSNR)] per quality, means over the images (bench's own aggregate)."""
    rows = [r for r in map(json.loads, open(path)) if r.get("effort", 0) == 0]
    out: dict = {}
    for a in aggregate(rows, ("model", "level", "quality")):
        out.setdefault((a["model"], a["level"]), []).append((a["bpp"], a["psnr"]))
    return out


def main(path: str, old: str, new: str, *pairs: str) -> None:
    c = curves(path)
    for pair in pairs:
        lo, ln = (int(v) for v in pair.split(":"))
        if (old, lo) not in c or (new, ln) not in c:
            sys.exit(f"bench_vs_weights.py: error: no records for {old} level {lo} or {new} level {ln}")
        print(f"{new} level {ln} vs {old} level {lo}: BD-rate {bd_rate(c[(old, lo)], c[(new, ln)]):+.1f} %")


if __name__ == "__main__":
    if len(sys.argv) < 5:
        sys.exit(__doc__.strip().splitlines()[2].strip())
    main(*sys.argv[1:])
