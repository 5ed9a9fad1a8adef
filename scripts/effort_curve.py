"""What encoder effort buys per refinement step, on held-out training images (never Kodak).

For each level and step count: the RD loss (bpp + lambda 255^2 MSE, latents rounded as the
decoder rounds, the training likelihood) of `effort.refine`'s latents against g_a's one pass,
and the seconds per step on one thread (the encoder refines each tile on one thread). It
sizes `--effort` before a Kodak table is affordable: `bench --effort` codes whole files at
every quality, this measures the refinement alone on a few crops.

    python scripts/effort_curve.py ../shared/data/train [--levels 0,9] [--steps 32,128,512]
        [--images 2] [--crop 512x384] [--quality 0.5] [--lr 5e-3] [--weights W]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",")]


def main() -> int:
    import numpy as np
    import torch

    import basic_codec
    from basic_codec import effort, tiling
    from basic_codec.imageio import load_rgb
    from basic_codec.train.data import split

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", help="the training folder (its validation split is used)")
    ap.add_argument("--weights", help="weights to measure (default: the shipped ones)")
    ap.add_argument("--levels", type=_ints, help="levels (default: the bottom and the top)")
    ap.add_argument("--steps", type=_ints, default=[32, 128, 512], help="refinement steps to try")
    ap.add_argument("--images", type=int, default=2)
    ap.add_argument("--crop", default="512x384", help="WIDTHxHEIGHT from each image's top left corner")
    ap.add_argument("--quality", type=float, default=0.5)
    ap.add_argument("--lr", type=float, default=effort.EffortPlan(1).lr)
    args = ap.parse_args()
    cw, ch = (int(v) for v in args.crop.split("x"))
    torch.set_num_threads(1)
    codec = basic_codec.load(args.weights)
    model = codec.model
    levels = args.levels or [0, len(codec.levels) - 1]
    _, val = split(args.data)
    xs = [tiling.pad_to_stride(torch.from_numpy(load_rgb(f)[:ch, :cw].copy())
                               .permute(2, 0, 1)[None].float().div(255.0)) for f in val[:args.images]]
    q = args.quality
    lam = model.cfg.lmbda(q)
    _, inv_gain = model.gains(torch.tensor([q]))
    print(f"weights {codec.model_id.hex()}, {len(xs)} validation images, crop {args.crop}, q = {q}, "
          f"lr {args.lr}, torch {torch.__version__}, 1 thread")
    print("| level | steps | RD loss before | after | change | s per step |")
    print("|---|---|---|---|---|---|")
    for lv in levels:
        s = codec.levels[lv].structure
        _, wha, whs, ws = s.widths(model.cfg)

        def hard(x, y, z):
            with torch.no_grad():
                return float(effort._objective(model, x, y, z, s, lam, inv_gain.detach(), torch.round,
                                               whs, ws, tuple(x.shape[2:])))
        firsts = []
        for x in xs:
            y = model.analyse(x, q, s).clone()
            with torch.no_grad():
                firsts.append((x, y, hard(x, y, model.h_a(y, wha))))
        before = float(np.mean([b for _, _, b in firsts]))
        for n in args.steps:
            plan = effort.EffortPlan(iterations=n, lr=args.lr)
            after, seconds = [], 0.0
            for x, y, _ in firsts:
                t0 = time.perf_counter()
                y2, z2 = effort.refine(model, x, y.clone(), q, s, plan)
                seconds += time.perf_counter() - t0
                after.append(hard(x, y2, z2))
            a = float(np.mean(after))
            print(f"| {lv} | {n} | {before:.4f} | {a:.4f} | {100 * (a / before - 1):+.2f} % | "
                  f"{seconds / (n * len(xs)):.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
