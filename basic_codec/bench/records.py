"""What a bench run measured, typed: the means per (level, quality) and per (codec, setting), the
level table as people read it, and the run's provenance. `run` builds a BenchResult, `report`
reads one, and OUT/aggregate.json holds one as JSON (to_dict / from_dict)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any


def _known(cls, d: dict) -> dict:
    """The keys of d that are fields of cls (older or newer files may carry others)."""
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in d.items() if k in names}


@dataclass(frozen=True)
class LevelRow:
    """A level as people read it: channel counts per edge, partites, kMAC per pixel."""

    level: int
    widths: dict[str, int]  # channels of g_a, h_a, h_s, g_s
    partites: int
    enc_kmac_per_px: float
    dec_kmac_per_px: float
    val_bpp: float | None = None
    val_psnr: float | None = None

    @property
    def widths_text(self) -> str:
        return "/".join(map(str, self.widths.values()))

    @classmethod
    def from_dict(cls, d: dict) -> "LevelRow":
        d = _known(cls, d)
        if isinstance(d["widths"], list):  # older aggregates: a list of width indices
            d["widths"] = dict(zip(("g_a", "h_a", "h_s", "g_s"), d["widths"]))
        return cls(**d)


@dataclass(frozen=True)
class OursPoint:
    """Means over the images at one (level, quality, encoder effort)."""

    level: int
    quality: float
    n_images: int
    bpp: float
    psnr: float
    enc_s: float
    dec_s: float
    effort: int = 0  # encoder effort
    rd_loss: float | None = None  # bpp + lambda(q) 255^2 MSE, the training objective
    ms_ssim: float | None = None
    payload_bytes: float | None = None
    header_bytes: float | None = None
    est_payload_bits: float | None = None  # the model's own estimate of the payload
    enc_kmac_per_px: float | None = None
    dec_kmac_per_px: float | None = None
    payload_vs_estimate: float | None = None  # mean of 8 payload_bytes / est_payload_bits

    @classmethod
    def from_dict(cls, d: dict) -> "OursPoint":
        return cls(**_known(cls, d))


@dataclass(frozen=True)
class BaselinePoint:
    """Means over the images of one classical codec at one of its settings."""

    codec: str
    setting: float
    n_images: int
    bpp: float
    psnr: float
    enc_s: float
    dec_s: float
    ms_ssim: float | None = None

    @classmethod
    def from_dict(cls, d: dict) -> "BaselinePoint":
        return cls(**_known(cls, d))


@dataclass
class BenchResult:
    """One bench run over one image set with one weights file."""

    machine: str
    date: str
    commit: str
    model_id: str
    images: str  # the folder as given
    n_images: int
    set_name: str
    kodak: bool  # the set is Kodak (by file hashes): published anchors apply
    levels: list[LevelRow]
    ours: list[OursPoint]
    baselines: list[BaselinePoint]
    speed: dict[str, Any] | None = field(default=None)  # `bench --speed` (bench/speed.py's rows)
    efforts: list[int] = field(default_factory=lambda: [0])  # encoder efforts measured; the first is the main one
    # with several efforts: every effort's points over the images and levels coded at all of them
    # (`bench --effort-limit/--effort-levels`), what the effort table compares
    effort_points: list[OursPoint] = field(default_factory=list)
    effort_images: int = 0
    # where and when the classical codecs' records were made ("machine, date"): a resumed run
    # reuses the records in its --out folder, so they may predate this run
    baselines_measured: list[str] = field(default_factory=list)
    # the same for basic-codec's records (their times depend on the machine and thread count)
    ours_measured: list[str] = field(default_factory=list)

    @property
    def main(self) -> list[OursPoint]:
        """The points at the first effort: what the level, quality and detail tables show."""
        return [p for p in self.ours if p.effort == self.efforts[0]]

    def to_dict(self) -> dict:
        d = asdict(self)
        if self.speed is None:
            del d["speed"]
        if self.efforts == [0]:
            del d["efforts"]
        if not self.effort_points:
            del d["effort_points"], d["effort_images"]
        for k in ("baselines_measured", "ours_measured"):
            if not d[k]:
                del d[k]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "BenchResult":
        return cls(**{**_known(cls, d), "levels": [LevelRow.from_dict(r) for r in d["levels"]],
                      "ours": [OursPoint.from_dict(r) for r in d["ours"]],
                      "effort_points": [OursPoint.from_dict(r) for r in d.get("effort_points", [])],
                      "baselines": [BaselinePoint.from_dict(r) for r in d["baselines"]]})
