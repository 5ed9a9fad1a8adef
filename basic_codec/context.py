"""Intra-node structure: the multipartite context model.

The elements of y are split into K partites. An element's partite comes from a small table
of logits indexed by (channel group, position in a 2x2 patch), tiled over the latent.
Partites are decoded in order; partite k is predicted from every element of partites < k
through a 5x5 convolution over all channels (the *dynamic masked convolution*: since
undecoded elements of y_hat are still zero, convolving y_hat is convolving the masked
latent) plus the hyper features, through a 1x1 parameter head.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import ModelConfig
from .nn import SlimConv2d
from .ops import fixed_point as fx


def checker(p: int) -> int:
    """0 for the 'anchor' diagonal of a 2x2 patch (positions 0 and 3), 1 otherwise."""
    return 0 if p in (0, 3) else 1


def default_assignment(k: int, groups: int) -> list[list[int]]:
    """Hand-designed start for the learned tables: checkerboard, then channel groups."""
    table = []
    for g in range(groups):
        row = []
        for p in range(4):
            if k == 2:
                row.append(checker(p))
            elif k == 4:
                row.append(checker(p) + 2 * (g * 2 // groups))
            else:  # k == 8 (or more): checkerboard within each channel group
                row.append(min(checker(p) + 2 * (g * (k // 2) // groups), k - 1))
        table.append(row)
    return table


START_LOGIT = 3.0  # one-hot scale of a table set by hand: p = 0.95 for its cells at K = 2


class PartiteTables(nn.Module):
    """Logits (G, 4, K) for every K > 1; the argmax is the partite of each table cell."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.groups = cfg.channel_groups
        self.logits = nn.ParameterDict()
        for k in cfg.partite_options:
            if k > 1:
                self.logits[str(k)] = nn.Parameter(torch.zeros(self.groups, 4, k))
                self.set_assignment(k, torch.tensor(default_assignment(k, self.groups)))

    @torch.no_grad()
    def set_assignment(self, k: int, assign: torch.Tensor) -> None:
        """Make `assign` ((G, 4) partite per cell) the table of K = k, as confident as the start."""
        logits = self.logits[str(k)]
        logits.copy_(F.one_hot(assign.long(), k).to(logits) * START_LOGIT)

    def assignment(self, k: int) -> torch.Tensor:
        """(G, 4) int64 partite index per cell."""
        if k == 1:
            return torch.zeros(self.groups, 4, dtype=torch.long)
        return self.logits[str(k)].detach().argmax(-1).cpu()

    def sample(self, k: int, uniforms: torch.Tensor) -> torch.Tensor:
        """A table drawn from the categorical distributions (Gumbel-max on given uniforms, so
        the caller's RNG decides and a resumed run draws the same tables)."""
        gumbel = -torch.log(-torch.log(uniforms.clamp(1e-10, 1 - 1e-7)))
        return (self.logits[str(k)].detach().cpu() + gumbel).argmax(-1)

    def log_prob(self, k: int, assign: torch.Tensor) -> torch.Tensor:
        """log p(table) under the current logits: the score VIMCO weights by each sample's signal."""
        logp = torch.log_softmax(self.logits[str(k)], dim=-1)
        return logp.gather(-1, assign.to(logp.device)[..., None]).sum()


def fixed_assignment(order: str, k: int, groups: int) -> torch.Tensor:
    """Hand-designed tables for the ablation: 'checkerboard' splits positions first (the 2x2
    patch in raster order once positions run out), 'channel' splits channel groups first."""
    table = torch.zeros(groups, 4, dtype=torch.long)
    for g in range(groups):
        for p in range(4):
            if order == "checkerboard":
                spatial = checker(p) if k == 2 else p
                per = 2 if k == 2 else 4
                table[g, p] = min(spatial + per * (g * max(1, k // per) // groups), k - 1)
            elif order == "channel":
                chan = g * min(k, groups) // groups
                table[g, p] = min(chan + min(k, groups) * (checker(p) if k > groups else 0), k - 1)
            else:
                raise ValueError(f"unknown partite order {order!r}")
    return table


def partite_map(assign: torch.Tensor, channels: int, h: int, w: int) -> torch.Tensor:
    """Tile a (G, 4) assignment over a latent of shape (channels, h, w)."""
    g = assign.shape[0]
    per_pos = assign.reshape(g, 2, 2).repeat_interleave(channels // g, dim=0)
    tiled = per_pos.repeat(1, (h + 1) // 2, (w + 1) // 2)
    return tiled[:, :h, :w].contiguous()


def decode_steps(pmap: torch.Tensor) -> list[int]:
    """The partites that actually hold elements, in decoding order (empty ones cost nothing)."""
    return sorted(int(k) for k in torch.unique(pmap))


class ContextModel(nn.Module):
    """Masked context conv + parameter head -> (mean, raw scale) of every element of y.

    Both are fixed-point networks (they decide the coding distributions): float input runs the
    quantization-aware float form, int64 input (y_hat and hyper features on the 2^-10 grid) the
    exact integer form. The raw scale is the input of softplus; the entropy model maps it to a
    scale (training) or to a scale-table index by integer thresholds (coding)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        m, c, h = cfg.latent_channels, cfg.context_channels, cfg.head_hidden
        self.context_conv = SlimConv2d(m, c, 5, fixed_point=True)
        self.head = nn.ModuleList(
            [SlimConv2d(cfg.hyper_features + c, h, 1, fixed_point=True),
             SlimConv2d(h, h, 1, fixed_point=True),
             SlimConv2d(h, 2 * m, 1, fixed_point=True)]
        )

    def context(self, y_hat: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
        """Context features; None means nothing decoded yet, where the conv reduces to its bias."""
        if y_hat is None:
            return self.context_conv.bias_output(like)
        return self.context_conv(y_hat)

    def params(self, hyper: torch.Tensor, ctx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.cat([hyper, ctx], dim=1)
        x = fx.leaky_relu(self.head[0](x))
        x = fx.leaky_relu(self.head[1](x))
        mean, raw_scale = self.head[2](x).chunk(2, dim=1)
        return mean, raw_scale
