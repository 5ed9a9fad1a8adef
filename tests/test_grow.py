"""Warm start of a larger model: at the old structures it computes what the small model did
(at the same lambda), and its new widest structure starts as the old widest one (a fresh
model of the big config would be nowhere near: checked below)."""
import math
from dataclasses import replace

import numpy as np
import torch

from basic_codec.config import preset
from basic_codec.structure import Structure
from basic_codec.train.grow import grow

from .conftest import tiny_model


@torch.no_grad()
def test_grown_model_starts_where_the_small_one_was(crop):
    small = tiny_model()
    big_cfg = replace(preset("tiny"), name="tiny-m", widths=(8, 16, 24), latent_channels=24,
                      quality_anchors=8, lambda_min=0.001, lambda_max=0.18)
    big = grow(small, big_cfg)
    x = torch.from_numpy(np.ascontiguousarray(crop[:128, :128])).permute(2, 0, 1)[None].float() / 255

    def q_big(q_small: float) -> float:  # the big model's q of the small model's lambda
        lo, hi = math.log(big_cfg.lambda_min), math.log(big_cfg.lambda_max)
        return (math.log(small.cfg.lmbda(q_small)) - lo) / (hi - lo)

    for q in (0.0, 1.0):
        ref = small(x, torch.tensor([q]), Structure.uniform(1, 4), noise=False)
        for s in (Structure.uniform(1, 4), Structure.uniform(2, 4)):
            out = big(x, torch.tensor([q_big(q)]), s, noise=False)
            # not bit-equal: y's channel groups (hence partites) are re-tiled over the wider latent
            mse, ref_mse = float(((out["x_hat"] - x) ** 2).mean()), float(((ref["x_hat"] - x) ** 2).mean())
            assert abs(mse / ref_mse - 1) < 0.05, (q, s, mse, ref_mse)
            bits, ref_bits = float(out["bits_y"] + out["bits_z"]), float(ref["bits_y"] + ref["bits_z"])
            assert abs(bits / ref_bits - 1) < 0.05, (q, s, bits, ref_bits)
    from basic_codec.codec import BasicModel

    fresh = BasicModel(big_cfg).eval()
    out = fresh(x, torch.tensor([0.5]), Structure.uniform(2, 4), noise=False)
    ref = small(x, torch.tensor([0.5]), Structure.uniform(1, 4), noise=False)
    assert abs(float(((out["x_hat"] - x) ** 2).mean()) / float(((ref["x_hat"] - x) ** 2).mean()) - 1) > 0.05
