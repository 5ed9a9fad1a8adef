"""Per-channel learned density for the hyper-latent z (Balle et al. 2018, appendix 6.1).

Training uses `likelihood` on noisy z; coding uses `pmf_table`, the density integrated
over the integer bins in [-bound, bound], frozen once into the weights so encoder and
decoder share the very same numbers.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class FactorizedPrior(nn.Module):
    def __init__(self, channels: int, filters: tuple[int, ...] = (3, 3, 3), init_scale: float = 10.0) -> None:
        super().__init__()
        dims = (1, *filters, 1)
        scale = init_scale ** (1 / (len(filters) + 1))
        self.matrices = nn.ParameterList()
        self.biases = nn.ParameterList()
        self.factors = nn.ParameterList()
        for i in range(len(filters) + 1):
            init = torch.log(torch.expm1(torch.tensor(1 / scale / dims[i + 1])))
            self.matrices.append(nn.Parameter(torch.full((channels, dims[i + 1], dims[i]), float(init))))
            self.biases.append(nn.Parameter(torch.rand(channels, dims[i + 1], 1) - 0.5))
            if i < len(filters):
                self.factors.append(nn.Parameter(torch.zeros(channels, dims[i + 1], 1)))
        self.channels = channels

    def _logits_cdf(self, x: torch.Tensor) -> torch.Tensor:
        """x: (C, 1, N) -> logits of the cumulative density, same shape."""
        for i, (m, b) in enumerate(zip(self.matrices, self.biases)):
            x = torch.matmul(F.softplus(m), x) + b
            if i < len(self.factors):
                x = x + torch.tanh(self.factors[i]) * torch.tanh(x)
        return x

    def likelihood(self, z: torch.Tensor) -> torch.Tensor:
        """Probability mass of the unit bin around each value of z (B, C, H, W)."""
        b, c, h, w = z.shape
        v = z.permute(1, 0, 2, 3).reshape(c, 1, -1)
        lower = self._logits_cdf(v - 0.5)
        upper = self._logits_cdf(v + 0.5)
        sign = -torch.sign(lower + upper).detach()  # evaluate in the stable tail
        p = torch.abs(torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower))
        return p.reshape(c, b, h, w).permute(1, 0, 2, 3).clamp_min(1e-9)

    @torch.no_grad()
    def pmf_table(self, bound: int) -> torch.Tensor:
        """(C, 2*bound+1) float64 probabilities of the symbols -bound..bound per channel."""
        grid = torch.arange(-bound, bound + 1, dtype=torch.float32)
        v = grid.reshape(1, 1, -1).expand(self.channels, 1, -1)
        lower, upper = self._logits_cdf(v - 0.5), self._logits_cdf(v + 0.5)
        sign = -torch.sign(lower + upper)
        p = torch.abs(torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower))
        return p.reshape(self.channels, -1).double().clamp_min(1e-12)

    def aux_loss(self, bound: int) -> torch.Tensor:
        """-log of the density's mass inside the coded range [-bound-0.5, bound+0.5]: keeps the
        frozen pmf table from clipping probability that training would otherwise spend."""
        edges = torch.tensor([-bound - 0.5, bound + 0.5], device=self.biases[0].device)
        logits = self._logits_cdf(edges.reshape(1, 1, 2).expand(self.channels, 1, 2))
        mass = torch.sigmoid(logits[..., 1]) - torch.sigmoid(logits[..., 0])
        return -torch.log(mass.clamp_min(1e-9)).sum()
