"""Warm-start a larger model from a trained smaller one (same family, more capacity).

A slimmable layer's first channels are the narrower layer, so every tensor of the small model
goes into the leading slice of the big one's; what is new starts where it costs nothing:
- new latent channels of y start silent (zero rows in g_a's last conv, a small scale in the
  parameter head), so they add no rate until training gives them something to carry;
- the parameter head's output is [means | raw scales]: both halves move to their new places;
- a new (wider) width option starts as the widest old one: the new hidden channels are computed
  but their input columns in the next layer start at zero, so the widest structure begins as
  the old widest one and grows from there (Net2Net-style); its GDN starts from the widest old
  one's, padded with the default;
- the quality gains are re-read at the new anchors' lambdas (log-linear in lambda, extrapolated
  at the ends), so q keeps meaning "this lambda" across the new range.
The coding tables are recomputed (`freeze`); the level table is the default one until `search`.
"""
from __future__ import annotations

import math

import torch

from ..codec import BasicModel
from ..config import ModelConfig

# Layers whose input is a slimmable hidden width (not x, y or z).
HIDDEN_INPUTS = ("g_a.convs.1", "g_a.convs.2", "g_a.convs.3", "g_s.convs.1", "g_s.convs.2", "g_s.convs.3",
                 "h_a.convs.1", "h_a.convs.2", "h_s.convs.1", "h_s.convs.2")
SILENT_RAW_SCALE = -2.0  # softplus(-2) = 0.127: a new channel's scale starts near the table's smallest


def _lead(dst: torch.Tensor, src: torch.Tensor) -> None:
    """Copy src into dst's leading slice (every dim of src <= dst's)."""
    dst[tuple(slice(0, n) for n in src.shape)] = src


def _anchor_gains(small: ModelConfig, big: ModelConfig, old: torch.Tensor) -> torch.Tensor:
    """(A_small, M_small) log gains -> (A_big, M_small) at the big config's anchor lambdas."""
    lo, hi = math.log(small.lambda_min), math.log(small.lambda_max)
    out = []
    for j in range(big.quality_anchors):
        lam = math.log(big.lmbda(j / (big.quality_anchors - 1)))
        pos = (lam - lo) / (hi - lo) * (old.shape[0] - 1)  # position on the old anchors
        i0 = min(max(int(math.floor(pos)), 0), old.shape[0] - 2)
        t = pos - i0  # outside [0, 1] at the ends: linear extrapolation
        out.append((1 - t) * old[i0] + t * old[i0 + 1])
    return torch.stack(out)


@torch.no_grad()
def grow(small: BasicModel, cfg: ModelConfig) -> BasicModel:
    sc = small.cfg
    if (cfg.hyper_channels, cfg.hyper_features, cfg.context_channels, cfg.head_hidden, cfg.channel_groups) != (
            sc.hyper_channels, sc.hyper_features, sc.context_channels, sc.head_hidden, sc.channel_groups):
        raise ValueError("grow keeps z, h_s's output, the context conv and the head as they are")
    if cfg.widths[: len(sc.widths)] != sc.widths or cfg.latent_channels < sc.latent_channels:
        raise ValueError(f"{cfg.name} does not extend {sc.name}: widths must start with {sc.widths}")
    big = BasicModel(cfg)
    old = small.state_dict()
    new = big.state_dict()
    m_old, m_new = sc.latent_channels, cfg.latent_channels
    last_old = len(sc.widths) - 1
    for name, t in new.items():
        if name.startswith("gains."):
            g = _anchor_gains(sc, cfg, old[name])
            t[:, :m_old] = g
            t[:, m_old:] = g.mean(dim=1, keepdim=True)
        elif name == "context.head.2.weight" or name == "context.head.2.bias":
            t.zero_()
            src = old[name]
            t[:m_old] = src[:m_old]  # means
            t[m_new:m_new + m_old] = src[m_old:]  # raw scales
            if name.endswith("bias"):
                t[m_new + m_old:] = SILENT_RAW_SCALE
        elif name in old:
            if name == "g_a.convs.3.weight" or name == "g_a.convs.3.bias":
                t.zero_()  # new latent channels start silent
            _lead(t, old[name])
        elif ".gdns." in name:  # a new width option: start from the widest old one
            base = name.rsplit(".", 1)[0] + f".{last_old}"
            _lead(t, old[base])
        # anything else (none for basic-s -> basic-m) keeps its default init
    for name in HIDDEN_INPUTS:  # new hidden channels feed the next layer through zeros at first
        key = f"{name}.weight"
        dim = 0 if name.startswith(("g_s", "h_s")) else 1  # transposed convs store (in, out, k, k)
        if key in old and new[key].shape[dim] > old[key].shape[dim]:
            new[key].narrow(dim, old[key].shape[dim], new[key].shape[dim] - old[key].shape[dim]).zero_()
    big.load_state_dict(new)
    big.freeze()
    return big.eval()
