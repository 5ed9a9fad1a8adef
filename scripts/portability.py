"""Code every image of a folder at every level and several qualities under one kernel setting
and decode it under another (oneDNN on/off both ways, 1/2 threads); count the failures and
write the result into docs/ROBUSTNESS.md.

    python scripts/portability.py ../shared/data/kodak      # 24 images x every level x 3 qualities

A failure is a decode that raises (the symbol checksum catches a decoder whose symbols drift)
or pixels more than one level away from the encoder-side decode.
"""
from __future__ import annotations

import argparse
import datetime as dt
import platform
import shlex
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import basic_codec  # noqa: E402
from basic_codec.bench.kernels import CROSSINGS, cross_code  # noqa: E402
from basic_codec.bench.report import replace_block  # noqa: E402
from basic_codec.progress import Progress  # noqa: E402

START, END = "<!-- portability:start -->", "<!-- portability:end -->"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("images", help="folder of images (e.g. ../shared/data/kodak)")
    ap.add_argument("--qualities", default="0,0.5,1", help="comma-separated qualities in [0, 1]")
    ap.add_argument("--out", default=str(ROOT / "docs" / "ROBUSTNESS.md"), help="markdown file to update")
    ap.add_argument("--limit", type=int, help="first N images only")
    args = ap.parse_args()
    files = sorted(p for p in Path(args.images).iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    if not files:
        print(f"portability: no images in {args.images}", file=sys.stderr)
        return 2
    files = files[: args.limit] if args.limit else files
    qualities = [float(q) for q in args.qualities.split(",")]
    codec = basic_codec.load()
    total = len(files) * len(codec.levels) * len(qualities)
    bar = Progress(total, "portability")
    per_crossing = {c: [0, 0] for c in CROSSINGS}  # codings, failures
    failures, n = [], 0
    for f in files:
        img = np.asarray(Image.open(f).convert("RGB"))
        for lv in codec.levels:
            for q in qualities:
                enc, dec = crossing = CROSSINGS[n % len(CROSSINGS)]
                n += 1
                per_crossing[crossing][0] += 1
                problem = cross_code(codec, img, q, lv.level, enc, dec)
                if problem:
                    per_crossing[crossing][1] += 1
                    failures.append(f"{f.name} level {lv.level} q {q}: {problem}")
                bar.update(1, failures=len(failures))
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else platform.processor()
    lines = [START, "## Files decoded under other kernels", "",
             f"Made by `{shlex.join(['python', 'scripts/portability.py', *sys.argv[1:]])}` on {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC "
             f"({cpu}, torch {torch.__version__}, weights {codec.model_id.hex()}).",
             "", f"{len(files)} images x {len(codec.levels)} levels x qualities {', '.join(f'{q:g}' for q in qualities)} "
             f"= **{n} codings, {len(failures)} failures**. Each file is encoded and decoded under one kernel "
             "setting, then decoded under another; a failure is a decode that raises (the symbol checksum "
             "catches any drift) or pixels more than one level from the encoder-side decode.", "",
             "| encoder | decoder | codings | failures |", "|---|---|---|---|"]
    lines += [f"| {e} | {d} | {c} | {k} |" for (e, d), (c, k) in per_crossing.items()]
    lines += [""] + [f"- {x}" for x in failures[:50]] + [END]
    out = Path(args.out)
    if not out.exists():
        out.write_text("# Robustness\n")
    replace_block(out, START, END, "\n".join(lines))
    print(f"{n} codings, {len(failures)} failures; wrote {out}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
