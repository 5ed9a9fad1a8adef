"""What a weights file carries beside its tensors, config and level table: how it was trained and
searched. Typed here, stored as JSON strings in the safetensors metadata (one key per field).

Width choices are stored as `width_indices` (0 = narrowest option of `config.widths`), never as
"widths": those are channel counts (`Structure.widths(cfg)`). Files written before this name
(key "widths") are still read.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from .structure import Structure


@dataclass(frozen=True)
class ControllerChoice:
    """The trained controller's greedy structure for one (compute target, quality)."""

    target_kmac: float  # encoder + decoder kMAC/px asked for
    quality: float
    structure: Structure
    kmac: float  # what the structure costs (encoder + decoder kMAC/px)

    def to_dict(self) -> dict:
        return {"target_kmac": self.target_kmac, "quality": self.quality, **self.structure.to_dict(),
                "kmac": self.kmac}

    @classmethod
    def from_dict(cls, d: dict) -> "ControllerChoice":
        return cls(float(d["target_kmac"]), float(d["quality"]), Structure.from_dict(d), float(d["kmac"]))


@dataclass(frozen=True)
class TablePick:
    """`search`'s choice of partite table for one K: the learned one or a fixed order."""

    table: str  # "learned" or a fixed order's name ("checkerboard first", ...)
    rd_loss: dict[str, float]  # validation RD loss of the widest structure with each candidate
    learned: list  # the learned table (G x K lists), kept so a later search can go back to it

    def to_dict(self) -> dict:
        return {"table": self.table, "rd_loss": self.rd_loss, "learned": self.learned}

    @classmethod
    def from_dict(cls, d: dict) -> "TablePick":
        return cls(d["table"], {k: float(v) for k, v in d["rd_loss"].items()}, d["learned"])


@dataclass(frozen=True)
class SearchRecord:
    """What the last `search` measured on: counts, crop, data folder, the table picked per K."""

    candidates: int
    controller_candidates: int
    crop: int
    data: str
    tables: dict[int, TablePick]

    def to_dict(self) -> dict:
        return {"candidates": self.candidates, "controller_candidates": self.controller_candidates,
                "crop": self.crop, "data": self.data,
                "tables": {str(k): t.to_dict() for k, t in sorted(self.tables.items())}}

    @classmethod
    def from_dict(cls, d: dict) -> "SearchRecord":
        return cls(int(d["candidates"]), int(d["controller_candidates"]), int(d["crop"]), d["data"],
                   {int(k): TablePick.from_dict(t) for k, t in d["tables"].items()})

    def learned_tables(self) -> dict[int, list]:
        return {k: t.learned for k, t in self.tables.items()}


@dataclass
class WeightsMeta:
    """Training and search history of a weights file."""

    trained_steps: int = 0
    controller_choices: list[ControllerChoice] = field(default_factory=list)  # structure-stage runs
    search: SearchRecord | None = None

    def to_metadata(self) -> dict[str, str]:
        out = {"trained_steps": json.dumps(self.trained_steps)}
        if self.controller_choices:
            out["controller_choices"] = json.dumps([c.to_dict() for c in self.controller_choices])
        if self.search is not None:
            out["search"] = json.dumps(self.search.to_dict())
        return out

    @classmethod
    def from_metadata(cls, meta: dict[str, str]) -> "WeightsMeta":
        def get(key):
            return json.loads(meta[key]) if key in meta else None

        choices, search = get("controller_choices"), get("search")
        return cls(int(get("trained_steps") or 0), [ControllerChoice.from_dict(c) for c in choices or []],
                   SearchRecord.from_dict(search) if search else None)

    def controller_structures(self) -> list[Structure]:
        """The distinct structures the controller picks (what `search` adds as candidates)."""
        return list(dict.fromkeys(c.structure for c in self.controller_choices))

    def learned_tables(self) -> dict[int, list]:
        """Learned partite tables by K that an earlier search replaced (empty: the model's own)."""
        return self.search.learned_tables() if self.search else {}
