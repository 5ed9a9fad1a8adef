#!/usr/bin/env python
"""Training-batch averages per 1,000 steps from a run's log.jsonl (the tables in docs/TRAINING.md),
and for a structure-stage run the controller's entropy, penalty and cost / target per 500 steps.

    python scripts/log_summary.py runs/s2/log.jsonl

A step logged twice (a run resumed from an earlier checkpoint) counts with its last record.
"""
from __future__ import annotations

import json
import statistics
import sys


def main(path: str) -> None:
    last: dict[int, dict] = {}
    for line in open(path):
        r = json.loads(line)
        if "loss" in r:
            last[r["step"]] = r
    times = sorted(r["time"] for r in last.values())
    print(f"{max(last)} steps, log spans {(times[-1] - times[0]) / 60:.1f} min; skipped at the end: "
          f"{last[max(last)]['skipped']}\n")
    # structure-stage logs carry the RD loss apart ("loss" there is what the spike guard watches)
    key = "rd" if all("rd" in r for r in last.values()) else "loss"
    print(f"| steps | PSNR (dB) | bpp | median {'RD loss' if key == 'rd' else 'loss'} |\n|---|---|---|---|")
    for a in range(0, max(last), 1000):
        w = [r for s, r in last.items() if a <= s < a + 1000]
        if w:
            print(f"| {a // 1000}k-{a // 1000 + 1}k | {statistics.mean(r['psnr'] for r in w):.1f} | "
                  f"{statistics.mean(r['bpp'] for r in w):.2f} | {statistics.median(r[key] for r in w):.1f} |")
    if key == "rd":
        print("\n| steps | controller entropy | penalty | cost / target |\n|---|---|---|---|")
        for a in range(0, max(last), 500):
            w = [r for s, r in last.items() if a <= s < a + 500]
            if w:
                print(f"| {a}-{a + 500} | {statistics.mean(r['entropy'] for r in w):.2f} | "
                      f"{statistics.mean(r['penalty'] for r in w):.3f} | "
                      f"{statistics.mean(r['kmac'] / r['target_kmac'] for r in w):.2f} |")


if __name__ == "__main__":
    main(sys.argv[1])
