#!/usr/bin/env python
"""How much of the quality loss is the transforms', how much the rounding's.

    python scripts/transform_ceiling.py ../shared/data/train [--weights W ...] [--crop 256]

For each weights file, on the centre crops of the 5 % validation split (never Kodak), at q = 0,
0.5 and 1 for every uniform width of the model (partites K = 1; K changes the rate, not these
PSNRs): the PSNR of g_s(g_a(x)) with y not rounded at all (the transforms' ceiling at that
quality) and with y rounded (what the coder can reach before any rate is spent on it). If the
unrounded PSNR is barely above the rounded one, a higher quality needs better transforms, not
a higher lambda.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from basic_codec.ops.metrics import psnr_from_mse
from basic_codec.structure import Structure
from basic_codec.train.search import validation_crops
from basic_codec.weights import load_weights, model_id

QUALITIES = (0.0, 0.5, 1.0)


@torch.inference_mode()
def ceiling(model, x: torch.Tensor, width_index: int, q: float) -> tuple[float, float]:
    """(PSNR with unrounded y, PSNR with rounded y) over the batch, mean of per-image PSNRs."""
    s = Structure.uniform(width_index, 1)
    y = model.analyse(x, q, s)

    def psnr(y_hat: torch.Tensor) -> float:
        mse = (model.synthesise(y_hat, q, s) - x).pow(2).mean(dim=(1, 2, 3))
        return float(psnr_from_mse(mse).mean())

    return psnr(y), psnr(torch.round(y))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data", help="the training folder (its 5%% validation split is used)")
    ap.add_argument("--weights", action="append", help="weights to measure (several allowed; default: shipped)")
    ap.add_argument("--crop", type=int, default=256, help="centre crop of each validation image (default 256)")
    args = ap.parse_args()
    if not Path(args.data).is_dir():
        sys.exit(f"transform_ceiling.py: error: not a folder of images: {args.data}")
    x = validation_crops(args.data, args.crop)
    print(f"{x.shape[0]} validation crops of {args.crop} px; PSNR in dB, y unrounded / y rounded")
    print("| weights | width | lambda range | q = 0 | q = 0.5 | q = 1 |")
    print("|---|---|---|---|---|---|")
    for path in args.weights or [None]:
        model, _, _ = load_weights(path)
        model.eval()
        cfg, name = model.cfg, model_id(model).hex()
        for i, width in enumerate(cfg.widths):
            cells = [" / ".join(f"{p:.2f}" for p in ceiling(model, x, i, q)) for q in QUALITIES]
            print(f"| {name} | {width} | {cfg.lmbda(0):.4f}..{cfg.lmbda(1):.4f} | " + " | ".join(cells) + " |",
                  flush=True)


if __name__ == "__main__":
    main()
