"""Architecture configs: one dataclass, a few named presets built from the same code."""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass


# The qualities that bench, search and the ablation scripts measure: four points over the whole
# dial. Written as the decimals a user types (`--qualities 0,0.3333,0.6667,1`), so the CLI's
# default, the records' keys and the docs agree (1/3 would be a different q16, hence other bytes).
QUALITY_GRID: tuple[float, ...] = (0.0, 0.3333, 0.6667, 1.0)


@dataclass(frozen=True)
class ModelConfig:
    """Everything that fixes the shape of the network (stored in the weights metadata)."""

    name: str = "basic-s"
    widths: tuple[int, ...] = (32, 48, 64, 96, 128)  # slimmable hidden width options per edge
    latent_channels: int = 128  # M: channels of y
    hyper_channels: int = 96  # channels of z
    hyper_features: int = 256  # output channels of h_s fed to the parameter head
    context_channels: int = 128  # output channels of the masked context conv
    head_hidden: int = 256  # hidden width of the 1x1 parameter head
    partite_options: tuple[int, ...] = (1, 2, 4, 8)  # K choices of the multipartite context
    channel_groups: int = 4  # G: rows of the partite table
    quality_anchors: int = 6  # learned gain vectors at q = 0, 1/5, ..., 1
    lambda_min: float = 0.0018
    lambda_max: float = 0.0483
    scale_min: float = 0.11
    scale_max: float = 256.0
    scale_levels: int = 64
    symbol_bound: int = 1023  # y symbols are clipped to [-bound, bound]
    z_bound: int = 63  # z symbols are clipped to [-z_bound, z_bound]
    tile_size: int = 1024  # images larger than this are coded as independent tiles

    def __post_init__(self) -> None:
        if self.latent_channels % self.channel_groups:
            raise ValueError("latent_channels must be divisible by channel_groups")
        if self.tile_size % 64:
            raise ValueError("tile_size must be a multiple of 64")

    @property
    def max_width(self) -> int:
        return max(self.widths)

    def lmbda(self, q: float) -> float:
        """Rate-distortion trade-off for quality q in [0, 1] (log-uniform in lambda)."""
        lo, hi = math.log(self.lambda_min), math.log(self.lambda_max)
        return math.exp(lo + q * (hi - lo))

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "ModelConfig":
        data = json.loads(text)
        for key in ("widths", "partite_options"):
            data[key] = tuple(data[key])
        return cls(**data)


PRESETS: dict[str, ModelConfig] = {
    # CPU-trainable default.
    "basic-s": ModelConfig(),
    # basic-s with more capacity where high rates need it (issue 17): a 192-wide top width and
    # M = 192, a lambda range up to ~CompressAI's quality 8 and down to 0.0005 (small previews;
    # 0.001 until run m3, whose q = 0 gave 0.158 bpp on Kodak at the top level).
    # The lower widths, z, h_s's output and the parameter head stay as in basic-s, so the cheap
    # levels stay as cheap. Warm-started from basic-s weights by `basic-codec grow`.
    "basic-m": ModelConfig(
        name="basic-m",
        widths=(32, 48, 64, 96, 128, 192),
        latent_channels=192,
        quality_anchors=8,
        lambda_min=0.0005,
        lambda_max=0.18,
    ),
    # The paper's widths, for users with a GPU.
    "basic-paper": ModelConfig(
        name="basic-paper",
        widths=(48, 72, 96, 144, 192),
        latent_channels=192,
        hyper_channels=128,
        hyper_features=384,
        context_channels=192,
        head_hidden=384,
    ),
    # For tests: seconds, not minutes.
    "tiny": ModelConfig(
        name="tiny",
        widths=(8, 16),
        latent_channels=16,
        hyper_channels=8,
        hyper_features=32,
        context_channels=16,
        head_hidden=32,
        tile_size=128,
    ),
}


def preset(name: str) -> ModelConfig:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown config {name!r}; choose from {', '.join(PRESETS)}") from None
