"""Structure search: measure candidate structures on the validation split, keep a ladder of them.

Every candidate is scored by its RD loss (bpp + lambda(q) * 255^2 * MSE, averaged over a few
qualities) with rounded latents on centre crops of the held-out files of the training folder,
never on Kodak. The level table is a ladder over (decoder kMAC/px, RD loss): each level costs
more than the one below it and is better on the validation images. The default ladder is nested
(each level contains the one below, `nested_ladder`); `pareto_front` is the plain Pareto front.

Before that, each K's partite table is chosen the same way: the learned one, or a fixed order
where that scores better. VIMCO judges changes of single cells around its current table, so a
global reordering (channel groups before the checkerboard) is out of its reach; the search can
afford to try the few such orders directly.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..ops.metrics import psnr_from_mse, rate_and_mse, rd_loss
from ..codec import BasicModel
from ..config import QUALITY_GRID
from ..context import fixed_assignment
from ..progress import Progress
from ..structure import Level, Structure, cost, make_levels
from ..imageio import load_rgb
from ..metadata import SearchRecord, TablePick, WeightsMeta
from .data import split


# Larger crops than training's: the rate of K = 1 levels grows with image size, and at 256 px the
# search ranked a level above its neighbour that Kodak (768x512) put below it (docs/TRAINING.md, s10).
DEFAULT_CROP = 320


@dataclass
class SearchConfig:
    data: str
    crop: int = DEFAULT_CROP
    qualities: tuple[float, ...] = QUALITY_GRID  # the whole quality range
    max_levels: int = 12
    min_gain: float = 0.005  # each level beats the one below by at least this fraction of RD loss
    ladder: str = "nested"  # "nested": nested_ladder (shipped since m8); "pareto": pareto_front

    def __post_init__(self) -> None:
        # All validation crops run as one batch: past 768 px (Kodak's long side) it outgrows memory.
        if not 16 <= self.crop <= 768:
            raise ValueError(f"--crop must be between 16 and 768 pixels, got {self.crop}")
        if not 0.0 <= self.min_gain < 0.5:
            raise ValueError(f"--min-gain must be in [0, 0.5), got {self.min_gain}")
        if self.ladder not in LADDERS:
            raise ValueError(f"--ladder must be one of {', '.join(LADDERS)}, got {self.ladder!r}")
        if self.max_levels < 2:
            raise ValueError(f"--max-levels must be at least 2, got {self.max_levels}")


@dataclass(frozen=True)
class Score:
    structure: Structure
    dec_kmac: float
    enc_kmac: float
    rd_loss: float
    bpp: float
    psnr: float

    def to_dict(self) -> dict:
        """A row of `search --scores`."""
        return {**self.structure.to_dict(), "dec_kmac_per_px": self.dec_kmac, "enc_kmac_per_px": self.enc_kmac,
                "rd_loss": self.rd_loss, "val_bpp": self.bpp, "val_psnr": self.psnr}


def candidates(model: BasicModel) -> list[Structure]:
    """Every (transform width, hyper width, K) with encoder and decoder halves alike.

    Tying g_a to g_s and h_a to h_s keeps the encoder cost falling with the decoder cost, so a
    level fits an encoder budget as well as a decoder one; 5 x 5 x 4 = 100 candidates.
    """
    n = len(model.cfg.widths)
    return [Structure(g, h, h, g, k)
            for g, h, k in itertools.product(range(n), range(n), model.cfg.partite_options)]


def validation_crops(data: str, crop: int) -> torch.Tensor:
    """Centre crops (reflect-padded where smaller) of the validation files, as one batch."""
    _, val = split(data)
    out = []
    for f in val:
        img = load_rgb(f)
        ph, pw = max(0, crop - img.shape[0]), max(0, crop - img.shape[1])
        if ph or pw:
            img = np.pad(img, ((0, ph), (0, pw), (0, 0)), mode="reflect")
        y, x = (img.shape[0] - crop) // 2, (img.shape[1] - crop) // 2
        out.append(img[y : y + crop, x : x + crop])
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).float().div_(255.0)


class AnalysisCache:
    """g_a's outputs on the validation crops by quality, for one analysis width at a time: the
    candidates of one g_a width (every hyper width and K) share them, so g_a runs once per
    width and quality instead of once per candidate. Holding one width keeps the memory to a
    few y's (the candidates come grouped by width)."""

    def __init__(self, model: BasicModel, x: torch.Tensor) -> None:
        self.model, self.x = model, x
        self.width: int | None = None
        self.ys: dict[float, torch.Tensor] = {}

    def y(self, s: Structure, q: float) -> torch.Tensor:
        width = s.widths(self.model.cfg)[0]
        if width != self.width:
            self.width, self.ys = width, {}
        if q not in self.ys:
            self.ys[q] = self.model.analysis(self.x, torch.full((self.x.shape[0],), q), s)
        return self.ys[q]


@torch.inference_mode()
def score(model: BasicModel, x: torch.Tensor, s: Structure, qualities: tuple[float, ...],
          assign: torch.Tensor | None = None, cache: AnalysisCache | None = None) -> Score:
    """RD loss of structure s with rounded latents; `assign` overrides the partite table;
    `cache` (built on the same x) saves recomputing g_a."""
    cfg = model.cfg
    losses, bpps, psnrs = [], [], []
    for q in qualities:
        y = cache.y(s, q) if cache is not None else None
        out = model(x, torch.full((x.shape[0],), q), s, assign=assign, noise=False, y=y)
        bpp, mse = rate_and_mse(out, x, clamp=True)
        losses.append(float(rd_loss(bpp, mse, cfg.lmbda(q)).mean()))
        bpps.append(float(bpp.mean()))
        psnrs.append(float(psnr_from_mse(mse).mean()))
    c = cost(cfg, s, model.steps(s))
    return Score(s, c.decoder / 1000, c.encoder / 1000, float(np.mean(losses)), float(np.mean(bpps)),
                 float(np.mean(psnrs)))


def pareto_front(scores: list[Score], min_gain: float = 0.0) -> list[Score]:
    """Scores not beaten by a cheaper-or-equal decoder with lower RD loss, cheapest first.

    min_gain: each kept score must also beat the one kept below it by this fraction of its RD
    loss. Validation crops and other images rank near-ties differently (m2's levels 4/5 were
    0.09 % apart on the crops and swapped on Kodak), so a ladder of clear steps stays monotone
    elsewhere. The best score always ends the front, in place of the one below it when the two
    are closer than min_gain."""
    front: list[Score] = []
    for sc in sorted(scores, key=lambda t: (t.dec_kmac, t.rd_loss, t.enc_kmac)):
        if not front or sc.rd_loss < front[-1].rd_loss * (1 - min_gain):
            front.append(sc)
    best = min(scores, key=lambda t: (t.rd_loss, t.dec_kmac, t.enc_kmac)) if scores else None
    if best is not None and best is not front[-1]:
        if len(front) > 1 and best.rd_loss >= front[-1].rd_loss * (1 - min_gain):
            front.pop()
        front.append(best)
    return front


def contains(upper: Structure, lower: Structure) -> bool:
    """upper has every edge at least as wide as lower's and at least as many partites."""
    return upper.partites >= lower.partites and all(u >= v for u, v in zip(upper.indices, lower.indices))


def nested_ladder(scores: list[Score], min_gain: float = 0.0) -> list[Score]:
    """The best chain of nested structures from the cheapest score to the best one, cheapest first.

    Each level contains the one below (`contains`), costs more and beats it by min_gain, so no
    step trades partites for width or one edge for another. Those trades are the steps that other
    images rank differently from the validation crops: every level inversion seen on Kodak
    (docs/TRAINING.md, s8, m3, m5-m7) was a wider level with fewer partites. Among the valid
    chains, the one with the least area under its RD-loss-versus-log-cost staircase: the lowest
    RD loss a budget can buy, averaged over budgets (dynamic programming over the scores sorted
    by cost)."""
    if not scores:
        return []
    order = sorted(scores, key=lambda t: (t.dec_kmac, t.rd_loss, t.enc_kmac))
    logc = np.log([t.dec_kmac for t in order])
    best = min(range(len(order)), key=lambda i: (order[i].rd_loss, order[i].dec_kmac, order[i].enc_kmac))
    area: list[float | None] = [0.0] + [None] * (len(order) - 1)
    prev: list[int | None] = [None] * len(order)
    for i in range(1, best + 1):
        for j in range(i):
            a, b = order[j], order[i]
            if (area[j] is None or b.dec_kmac <= a.dec_kmac or b.rd_loss >= a.rd_loss * (1 - min_gain)
                    or not contains(b.structure, a.structure)):
                continue
            here = area[j] + a.rd_loss * (logc[i] - logc[j])
            if area[i] is None or here < area[i]:
                area[i], prev[i] = here, j
    if area[best] is None:  # nothing nested beats the cheapest by min_gain: as pareto_front would
        return [order[0], order[best]]
    chain, i = [], best
    while i is not None:
        chain.append(order[i])
        i = prev[i]
    return chain[::-1]


LADDERS = {"pareto": pareto_front, "nested": nested_ladder}


def thin(front: list[Score], keep: int) -> list[Score]:
    """At most `keep` levels, spread evenly in log decoder cost, always keeping both ends."""
    if len(front) <= keep:
        return front
    logc = np.log([s.dec_kmac for s in front])
    targets = np.linspace(logc[0], logc[-1], keep)
    chosen = sorted({int(np.argmin(np.abs(logc - t))) for t in targets})
    return [front[i] for i in chosen]


FIXED_ORDERS = {"channel groups first": "channel", "checkerboard first": "checkerboard"}


def learned_table(model: BasicModel, k: int, learned: dict[int, list]) -> torch.Tensor:
    """K's learned table: from `WeightsMeta.learned_tables()` where an earlier search swapped the model's."""
    return torch.tensor(learned[k]) if k in learned else model.tables.assignment(k)


def pick_tables(model: BasicModel, x: torch.Tensor, qualities: tuple[float, ...],
                learned: dict[int, list] | None = None) -> dict[int, TablePick]:
    """For every K > 1 keep the learned partite table or swap in the fixed order that gives the
    widest structure a lower validation RD loss. `learned`: the learned tables by K where the
    model's own are an earlier pick (searching searched weights again).
    -> {K: the pick}."""
    learned = learned or {}
    cfg, picked = model.cfg, {}
    widest = len(cfg.widths) - 1
    ks = [k for k in cfg.partite_options if k > 1]
    bar = Progress(len(ks) * (1 + len(FIXED_ORDERS)), "partite tables")
    cache = AnalysisCache(model, x)  # every table is tried on the widest structure
    for k in ks:
        tables = {"learned": learned_table(model, k, learned)}
        for name, order in FIXED_ORDERS.items():
            table = fixed_assignment(order, k, cfg.channel_groups)
            if not any(torch.equal(table, t) for t in tables.values()):
                tables[name] = table
        losses = {}
        for name, t in tables.items():
            losses[name] = score(model, x, Structure.uniform(widest, k), qualities, assign=t, cache=cache).rd_loss
            bar.update(1)
        bar.update(1 + len(FIXED_ORDERS) - len(tables))  # orders equal to the learned table: skipped
        best = min(losses, key=losses.get)  # ties keep the learned table (first in the dict)
        model.tables.set_assignment(k, tables[best])
        picked[k] = TablePick(best, losses, tables["learned"].tolist())
    return picked


@dataclass
class SearchResult:
    levels: list[Level]
    scores: list[Score]  # every candidate structure's
    tables: dict[int, TablePick]  # pick_tables' choice per K
    extra: list[Structure]  # the candidates that came from the controller

    def score_rows(self) -> list[dict]:
        return [{**t.to_dict(), "controller": t.structure in self.extra} for t in self.scores]


def search(model: BasicModel, sc: SearchConfig, extra: list[Structure] = (),
           learned: dict[int, list] | None = None) -> SearchResult:
    """Pick the partite tables, then the level table. `extra`: more candidates (the controller's
    choices); `learned`: see pick_tables."""
    model.eval()
    x = validation_crops(sc.data, sc.crop)
    tables = pick_tables(model, x, sc.qualities, learned)
    cands = list(dict.fromkeys(candidates(model) + list(extra)))
    bar = Progress(len(cands), "search")
    scores = []
    cache = AnalysisCache(model, x)
    for s in cands:
        scores.append(score(model, x, s, sc.qualities, cache=cache))
        bar.update(1, best=f"{min(t.rd_loss for t in scores):.4g}")
    front = thin(LADDERS[sc.ladder](scores, sc.min_gain), sc.max_levels)
    by_structure = {t.structure: t for t in front}
    levels = make_levels(model.cfg, [t.structure for t in front], model.steps,
                         lambda s: (by_structure[s].bpp, by_structure[s].psnr))
    return SearchResult(levels, scores, tables, list(extra))


def search_weights(model: BasicModel, meta: WeightsMeta, sc: SearchConfig) -> SearchResult:
    """`basic-codec search`: the controller's choices join the candidates, an earlier search's
    learned tables are recovered, and `meta.search` records this one."""
    extra = meta.controller_structures()
    result = search(model, sc, extra, meta.learned_tables())
    meta.search = SearchRecord(len(result.scores), len(extra), sc.crop, Path(sc.data).name, result.tables)
    return result
