"""How much a model leans on crop borders: the ideal bytes of held-out training images (never
Kodak) coded in one pass, and cut into independent tiles of 256 and 128 px whose entropy models
see zeros beyond their borders (format version 2's rule). A model trained on small crops has
seen mostly latents near a border: if small tiles cost *fewer* bytes than one pass, its
predictions inside an image are worse than at a border, and large images (and the tiles of
format version 3, which read their neighbours) pay for it.

    python scripts/border_bias.py ../shared/data/train [--weights W] [--images 6]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    import numpy as np
    import torch
    from PIL import Image

    import basic_codec
    from basic_codec import tile_coding as tc
    from basic_codec import tiling
    from basic_codec.files import IMAGE_EXTENSIONS
    from basic_codec.train.data import is_validation

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", help="the training folder (its validation split is used)")
    ap.add_argument("--weights", help="weights to measure (default: the shipped ones)")
    ap.add_argument("--images", type=int, default=6)
    ap.add_argument("--quality", type=float, default=0.5)
    args = ap.parse_args()
    root = Path(args.data)
    val = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and is_validation(p, root))
    val = val[:args.images]
    codec = basic_codec.load(args.weights)
    model = codec.model
    print(f"weights {codec.model_id.hex()}, {len(val)} validation images (768 x 512 crops), q {args.quality}")
    for lv in (codec.levels[-1], codec.levels[0]):
        s = lv.structure
        total = {1024: 0.0, 256: 0.0, 128: 0.0}
        for p in val:
            img = np.asarray(Image.open(p).convert("RGB"))[:512, :768]
            x = tiling.pad_to_stride(torch.from_numpy(img.copy()).permute(2, 0, 1)[None].float() / 255)
            y = tiling.analyse(model, x, args.quality, s, 1024)
            for tile in total:
                wins = tiling.windows(*x.shape[2:], tile)
                z = torch.zeros(1, model.cfg.hyper_channels, y.shape[2] // 4, y.shape[3] // 4)
                for win in wins:  # each tile's z from its own y, as version 2 coded it
                    cy, cx, ch, cw = win.core
                    zy, zx, zh, zw = tc.z_core(win)
                    z[:, :, zy:zy + zh, zx:zx + zw] = tc.hyper_analyse(
                        model, y[:, :, cy:cy + ch, cx:cx + cw].contiguous(), s, [tc.alone(ch, cw)], 1)
                codes = tc.encode(model, y, z, s, wins, torch.get_num_threads(), reach=tc.ALONE)
                total[tile] += sum(bits for _, bits in codes) / 8
        one = total[1024]
        print(f"level {lv.level}: one pass {one:.0f} bytes; tiles of 256 px alone {total[256] / one - 1:+.1%}, "
              f"of 128 px alone {total[128] / one - 1:+.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
