"""Building blocks: slimmable convolutions and per-width GDN."""
from .gdn import SlimGDN
from .slimmable import SlimConv2d, SlimConvTranspose2d

__all__ = ["SlimConv2d", "SlimConvTranspose2d", "SlimGDN"]
