#!/usr/bin/env python
"""Validation RD loss of every level of a weights file, to compare two weight sets on the same crops.

    python scripts/level_losses.py ../shared/data/train --weights old.safetensors --crop 320

Scores each level's structure as `basic-codec search` does (rounded latents, the search's
qualities, centre crops of the 5 % validation split) and prints one line per level.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from basic_codec.train.search import DEFAULT_CROP, SearchConfig, score, validation_crops
from basic_codec.weights import load_weights


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data", help="the training folder (its 5%% validation split is used)")
    ap.add_argument("--weights", help="weights to score (default: shipped)")
    ap.add_argument("--crop", type=int, default=DEFAULT_CROP,
                    help=f"centre crop of each validation image (default {DEFAULT_CROP}, the search's)")
    args = ap.parse_args()
    if not Path(args.data).is_dir():
        sys.exit(f"level_losses.py: error: not a folder of images: {args.data}")
    try:
        sc = SearchConfig(args.data, crop=args.crop)  # the search's qualities and crop limits
    except ValueError as e:
        sys.exit(f"level_losses.py: error: {e}")
    model, levels, _ = load_weights(args.weights)
    x = validation_crops(args.data, sc.crop)
    for lv in levels:
        s = score(model, x, lv.structure, sc.qualities)
        print(f"level {lv.level}: dec {s.dec_kmac:.1f} kMAC/px, RD loss {s.rd_loss:.4f}, "
              f"bpp {s.bpp:.4f}, PSNR {s.psnr:.2f} dB")


if __name__ == "__main__":
    main()
