"""The BayesNet structure (width per edge + number of partites) and its exact cost.

MACs are counted analytically per pixel of the (padded) input image for every layer that
runs, as it runs: convs, GDN's 1x1 normalisation, the context conv once per decoded partite
after the first, the parameter head once per decoded partite. tests/test_macs.py checks
these formulas against a counter built from forward hooks on a real encode and decode.
"""
from __future__ import annotations

from dataclasses import dataclass

from .config import ModelConfig

EDGES = ("g_a", "h_a", "h_s", "g_s")


@dataclass(frozen=True)
class Structure:
    """Width option index per edge (0 = narrowest) and the number of partites K."""

    g_a: int
    h_a: int
    h_s: int
    g_s: int
    partites: int

    @property
    def indices(self) -> tuple[int, int, int, int]:
        return (self.g_a, self.h_a, self.h_s, self.g_s)

    def widths(self, cfg: ModelConfig) -> tuple[int, int, int, int]:
        return tuple(cfg.widths[i] for i in self.indices)  # type: ignore[return-value]

    def validate(self, cfg: ModelConfig) -> None:
        n = len(cfg.widths)
        if any(not 0 <= i < n for i in self.indices):
            raise ValueError(f"width index out of range 0..{n - 1}: {self.indices}")
        if self.partites not in cfg.partite_options:
            raise ValueError(f"partites must be one of {cfg.partite_options}, got {self.partites}")

    @classmethod
    def uniform(cls, index: int, partites: int) -> "Structure":
        return cls(index, index, index, index, partites)

    @classmethod
    def random(cls, cfg: ModelConfig, rng) -> "Structure":
        """Every edge's width and K uniform (rng: a numpy Generator): what keeps every width
        trained, and the structure stage's baseline."""
        widths = (int(i) for i in rng.integers(0, len(cfg.widths), size=4))
        return cls(*widths, int(rng.choice(cfg.partite_options)))

    def to_dict(self) -> dict:
        """As stored in files: `width_indices` (indices into config.widths, not channel counts)."""
        return {"width_indices": list(self.indices), "partites": self.partites}

    @classmethod
    def from_dict(cls, d: dict) -> "Structure":
        """From `to_dict`'s form; files written before that name used the key "widths"."""
        return cls(*(int(i) for i in d.get("width_indices", d.get("widths"))), int(d["partites"]))


@dataclass(frozen=True)
class Cost:
    """Encoder and decoder MACs per image pixel."""

    encoder: float
    decoder: float


def _g_a(cfg: ModelConfig, n: int) -> float:
    m = cfg.latent_channels
    convs = 25 * 3 * n / 4 + 25 * n * n / 16 + 25 * n * n / 64 + 25 * n * m / 256
    gdn = n * n / 4 + n * n / 16 + n * n / 64
    return convs + gdn


def _g_s(cfg: ModelConfig, n: int) -> float:
    m = cfg.latent_channels  # transposed convs: counted per input position
    convs = 25 * m * n / 256 + 25 * n * n / 64 + 25 * n * n / 16 + 25 * n * 3 / 4
    gdn = n * n / 64 + n * n / 16 + n * n / 4
    return convs + gdn


def _h_a(cfg: ModelConfig, n: int) -> float:
    return 9 * cfg.latent_channels * n / 256 + 25 * n * n / 1024 + 25 * n * cfg.hyper_channels / 4096


def _h_s(cfg: ModelConfig, n: int) -> float:
    return 25 * cfg.hyper_channels * n / 4096 + 25 * n * n / 1024 + 9 * n * cfg.hyper_features / 256


def _context(cfg: ModelConfig, steps: int) -> float:
    m, c, h = cfg.latent_channels, cfg.context_channels, cfg.head_hidden
    conv = 25 * m * c / 256
    head = ((cfg.hyper_features + c) * h + h * h + h * 2 * m) / 256
    return (steps - 1) * conv + steps * head


def edge_costs(cfg: ModelConfig) -> dict[str, list[float]]:
    """MACs per pixel of each edge at each width option, and of the context model at each K
    (K steps, every partite non-empty). Encoder + decoder of a structure is a sum of entries:
    h_s and the context model run on both sides, so they count twice."""
    return {"g_a": [_g_a(cfg, n) for n in cfg.widths], "h_a": [_h_a(cfg, n) for n in cfg.widths],
            "h_s": [2 * _h_s(cfg, n) for n in cfg.widths], "g_s": [_g_s(cfg, n) for n in cfg.widths],
            "partites": [2 * _context(cfg, k) for k in cfg.partite_options]}


def cost(cfg: ModelConfig, s: Structure, steps: int | None = None) -> Cost:
    """MACs per pixel. `steps` = non-empty partites (defaults to K; tables may leave some empty)."""
    wa, wha, whs, ws = s.widths(cfg)
    steps = s.partites if steps is None else steps
    shared = _h_s(cfg, whs) + _context(cfg, steps)
    return Cost(encoder=_g_a(cfg, wa) + _h_a(cfg, wha) + shared, decoder=shared + _g_s(cfg, ws))


@dataclass(frozen=True)
class Level:
    """One row of the level table: a structure and what it costs (and, once searched, yields)."""

    level: int
    structure: Structure
    enc_kmac_per_px: float
    dec_kmac_per_px: float
    val_bpp: float | None = None
    val_psnr: float | None = None

    def to_dict(self) -> dict:
        d = {"level": self.level, **self.structure.to_dict(),
             "enc_kmac_per_px": round(self.enc_kmac_per_px, 3),
             "dec_kmac_per_px": round(self.dec_kmac_per_px, 3)}
        if self.val_bpp is not None:
            d["val_bpp"], d["val_psnr"] = round(self.val_bpp, 4), round(self.val_psnr, 3)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Level":
        return cls(int(d["level"]), Structure.from_dict(d), float(d["enc_kmac_per_px"]),
                   float(d["dec_kmac_per_px"]), d.get("val_bpp"), d.get("val_psnr"))


def make_levels(cfg: ModelConfig, structures: list[Structure], steps_of=None, metrics=None) -> list[Level]:
    """Level table sorted by decoder cost. `steps_of(s)` gives non-empty partites, `metrics(s)` (bpp, psnr)."""
    rows = []
    for s in structures:
        c = cost(cfg, s, steps_of(s) if steps_of else None)
        bpp, psnr = metrics(s) if metrics else (None, None)
        rows.append((c.decoder, c.encoder, s, bpp, psnr))
    rows.sort(key=lambda r: (r[0], r[1]))
    return [Level(i, s, e / 1000, d / 1000, bpp, psnr) for i, (d, e, s, bpp, psnr) in enumerate(rows)]


def default_structures(cfg: ModelConfig) -> list[Structure]:
    """Hand-picked ladder from the cheapest to the full structure (until `search` replaces it)."""
    n = len(cfg.widths) - 1
    ks = cfg.partite_options
    ladder = []
    steps = max(n + 1, 6)
    for i in range(steps):
        w = round(i * n / (steps - 1))
        k = ks[min(len(ks) - 1, round(i * (len(ks) - 1) / (steps - 1)))]
        ladder.append(Structure.uniform(w, k))
    return list(dict.fromkeys(ladder))


def pick_level(levels: list[Level], budget: float | None = None, enc_budget: float | None = None) -> Level:
    """The highest level whose decoder (and encoder) kMAC/px fit the budgets."""
    fits = [lv for lv in levels
            if (budget is None or lv.dec_kmac_per_px <= budget)
            and (enc_budget is None or lv.enc_kmac_per_px <= enc_budget)]
    if not fits:
        cheapest = min(levels, key=lambda lv: lv.dec_kmac_per_px)
        raise ValueError(
            f"no level fits the budget; the cheapest level needs {cheapest.dec_kmac_per_px:.1f} "
            f"decoder and {cheapest.enc_kmac_per_px:.1f} encoder kMAC/px")
    return fits[-1]
