#!/usr/bin/env python
"""One-lever ablations of issue 17 at equal CPU minutes, scored on the validation split.

    python scripts/lever_ablation.py ../shared/data/train --minutes 12 [--doc docs/TRAINING.md]

Every run starts from the same weights (default: the shipped ones), trains `--minutes` on one
thread (two runs side by side, one core each) with the same peak lr and a plan long enough that
the lr stays near its peak, and is scored before and after on the centre crops of the 5 %
validation split (never Kodak) with rounded latents:
- RD loss = bpp + lambda * 255^2 * MSE at the same three lambdas for every run (the old range's
  ends and middle: 0.0018, 0.0093, 0.0483), so runs with another q -> lambda map compare fairly;
- for the widest structure (the top of the dial) and the narrowest (the bottom);
- with PSNR at the run's own q = 1 and bpp at its q = 0 (where the dial ends).
Writes the table between `<!-- levers:start -->` and `<!-- levers:end -->` in --doc.
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from basic_codec.bench.report import publish_block
from basic_codec.bench.run import machine
from basic_codec.ops.metrics import psnr_from_mse, rd_loss
from basic_codec.structure import Structure
from basic_codec.train.checkpoint import checkpoint_info
from basic_codec.train.grow import grow
from basic_codec.train.loop import TrainConfig, _target_config
from basic_codec.train.search import validation_crops
from basic_codec.weights import DEFAULT_WEIGHTS, load_weights, model_id

LAMBDAS = (0.0018, 0.0093, 0.0483)


@dataclass(frozen=True)
class Lever:
    name: str
    what: str
    args: tuple[str, ...]


LEVERS = (
    Lever("base", "current recipe (basic-s, lambda 0.0018..0.0483)", ()),
    Lever("capacity", "basic-m widths (top 192) and M = 192, same lambda range",
          ("--config", "basic-m", "--lambda-range", "0.0018,0.0483")),
    Lever("lambda", "lambda range 0.001..0.18 + rate sandwich", ("--lambda-range", "0.001,0.18", "--rate-sandwich")),
    Lever("downscale", "crops from images scaled by U(0.5, 1)", ("--downscale", "0.5")),
    Lever("ema", "export the EMA (decay 0.999) of the weights", ("--ema", "0.999")),
    Lever("all", "all four (run m1's recipe)", ("--config", "basic-m", "--rate-sandwich", "--downscale", "0.5",
                                                "--ema", "0.999")),
)

# The recipe of runs m4/m5 (basic-m weights), as `train` options; the second set's levers change one thing.
RECIPE_M5 = ("--warmup", "200", "--downscale", "0.5", "--rate-sandwich", "--ema", "0.999", "--crop", "256",
             "--batch", "4", "--lambda-range", "0.0005,0.18")
WIDEST = (
    Lever("base", "m5's recipe with the sandwich rule (widest structure every 4th step)", RECIPE_M5),
    Lever("widest-every-2", "the widest structure every 2nd step (m3-m5 trained so)",
          (*RECIPE_M5, "--widest-every", "2")),
)


@dataclass(frozen=True)
class LeverSet:
    levers: tuple[Lever, ...]
    lr: str  # peak lr of every run
    tag: str  # names the table's markers in --doc and the default runs folder

    @property
    def markers(self) -> tuple[str, str]:
        return f"<!-- {self.tag}:start -->", f"<!-- {self.tag}:end -->"

    @property
    def runs(self) -> str:
        return f"runs/{self.tag}"


LEVER_SETS = {
    "issue17": LeverSet(LEVERS, "2e-4", "levers"),
    "widest": LeverSet(WIDEST, "6e-5", "levers-widest"),
}


def q_for(cfg, lam: float) -> float:
    return (math.log(lam) - math.log(cfg.lambda_min)) / (math.log(cfg.lambda_max) - math.log(cfg.lambda_min))


@torch.inference_mode()
def measure(model, x: torch.Tensor, s: Structure, q: float) -> tuple[float, float]:
    """(bpp, MSE) of structure s at quality q (may lie outside [0, 1]) with rounded latents."""
    out = model(x, torch.full((x.shape[0],), q), s, noise=False)
    bpp = (out["bits_y"] + out["bits_z"]) / (x.shape[2] * x.shape[3])
    mse = F.mse_loss(out["x_hat"].clamp(0, 1), x, reduction="none").mean(dim=(1, 2, 3))
    return float(bpp.mean()), float(mse.mean())


def scores(model, x: torch.Tensor) -> dict:
    cfg = model.cfg
    n, ks = len(cfg.widths), cfg.partite_options
    out = {}
    for name, s in (("top", Structure.uniform(n - 1, max(ks))), ("bottom", Structure.uniform(0, min(ks)))):
        rd = []
        for lam in LAMBDAS:
            bpp, mse = measure(model, x, s, q_for(cfg, lam))
            rd.append(rd_loss(bpp, mse, lam))
        out[f"{name}_rd"] = sum(rd) / len(rd)
    top = Structure.uniform(n - 1, max(ks))
    out["psnr_q1"] = float(psnr_from_mse(torch.tensor(measure(model, x, top, 1.0)[1])))
    out["bpp_q0"] = measure(model, x, top, 0.0)[0]
    return out


def start_model(init: str, lever: Lever):
    """The model a run of this lever starts from (grown / re-anchored as `train` does)."""
    model, _, _ = load_weights(init)
    argv = list(lever.args)
    config = argv[argv.index("--config") + 1] if "--config" in argv else None
    lr = argv[argv.index("--lambda-range") + 1] if "--lambda-range" in argv else None
    tc = TrainConfig(data="", out="", config=config,
                     lambda_range=tuple(float(v) for v in lr.split(",")) if lr else None)
    target = _target_config(tc, model.cfg)
    return grow(model, target) if target != model.cfg else model


def last_step(run: Path) -> int:
    return checkpoint_info(run / "checkpoint.safetensors")["step"]


def cached_scores(root: Path, lever: Lever, init: str, x: torch.Tensor) -> tuple[dict, dict]:
    """(before, after) of a lever, measured once per trained run (kept in RUNS/scores.json,
    keyed by the run's weights file time), so the table can be written again without the wait."""
    path, weights = root / "scores.json", root / lever.name / "weights.safetensors"
    cache = json.loads(path.read_text()) if path.exists() else {}
    key = f"{lever.name}:{weights.stat().st_mtime_ns}:{x.shape[0]}x{x.shape[2]}"
    if key not in cache:
        cache[key] = {"before": scores(start_model(init, lever), x), "after": scores(load_weights(weights)[0], x)}
        path.write_text(json.dumps(cache, indent=1))
    return cache[key]["before"], cache[key]["after"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data", help="the training folder (its 5%% validation split scores the runs)")
    ap.add_argument("--init", default=str(DEFAULT_WEIGHTS), help="weights every run starts from (default: shipped)")
    ap.add_argument("--minutes", type=float, default=12.0, help="training minutes of each run (one thread)")
    ap.add_argument("--set", default="issue17", choices=sorted(LEVER_SETS),
                    help="issue17: the quality issue's four levers from basic-s (the first table); "
                         "widest: the widest structure every 2nd vs every 4th step on m5's recipe")
    ap.add_argument("--lr", help="peak lr of every run (default: the set's: 2e-4 / 6e-5)")
    ap.add_argument("--runs", help="folder of the runs, one sub-folder per lever (default: the set's, runs/levers[-widest])")
    ap.add_argument("--only", help="comma-separated lever names (default: all)")
    ap.add_argument("--crop", type=int, default=256, help="centre crop of each validation image")
    ap.add_argument("--doc", help="write the table into this markdown file")
    ap.add_argument("--score", nargs="+", metavar="WEIGHTS",
                    help="only print the same scores for these weights files (e.g. a run in progress)")
    args = ap.parse_args()
    if args.score:
        torch.set_num_threads(2)
        x = validation_crops(args.data, args.crop)
        for w in args.score:
            model, _, meta = load_weights(w)
            print(w, f"{meta.trained_steps} steps", {k: round(v, 4) for k, v in scores(model, x).items()})
        return
    lever_set = LEVER_SETS[args.set]
    args.lr = args.lr or lever_set.lr
    levers = [lv for lv in lever_set.levers if not args.only or lv.name in args.only.split(",")]
    root = Path(args.runs or lever_set.runs)
    todo = [lv for lv in levers if not (root / lv.name / "weights.safetensors").exists()]
    for i in range(0, len(todo), 2):  # two runs side by side, one core each
        procs = []
        for lv in todo[i : i + 2]:
            cmd = [sys.executable, "-m", "basic_codec", "train", args.data, "--out", str(root / lv.name),
                   "--init-weights", args.init, "--lr", args.lr, "--steps", "100000", "--bf16", "--threads", "1",
                   "--max-minutes", str(args.minutes), "--checkpoint-minutes", str(args.minutes + 5), *lv.args]
            print(" ".join(cmd[2:]), flush=True)
            (root / lv.name).mkdir(parents=True, exist_ok=True)
            procs.append(subprocess.Popen(cmd, stdout=open(root / f"{lv.name}.log", "w"), stderr=subprocess.STDOUT))
        if any(p.wait() for p in procs):
            sys.exit("lever_ablation.py: error: a training run failed; see its log in " + str(root))
    torch.set_num_threads(2)
    x = validation_crops(args.data, args.crop)
    rows = []
    for lv in levers:
        before, after = cached_scores(root, lv, args.init, x)
        rows.append((lv, last_step(root / lv.name), before, after))
        print(lv.name, before, after, flush=True)
    base = next((r for r in rows if r[0].name == "base"), None)
    lines = [f"Measured {datetime.date.today()} on {machine()} by `python scripts/lever_ablation.py {args.data} "
             f"--set {args.set} --minutes {args.minutes:g} --crop {args.crop}`: every run from model {model_id(load_weights(args.init)[0]).hex()}, "
             f"{args.minutes:g} minutes on one core (two runs side by side), peak lr {args.lr}, bf16; "
             f"{x.shape[0]} validation crops of {args.crop} px, rounded latents. RD loss = mean over lambda in "
             f"{', '.join(map(str, LAMBDAS))} of bpp + lambda 255^2 MSE (lower is better; the change is after - "
             "before, and after - base's after).", "",
             "| lever | what | CPU min | steps | top RD before -> after | bottom RD before -> after "
             "| vs base after (top / bottom) | top PSNR at q = 1 | top bpp at q = 0 |",
             "|---|---|---|---|---|---|---|---|---|"]
    for lv, steps, b, a in rows:
        vs = (f"{a['top_rd'] - base[3]['top_rd']:+.4f} / {a['bottom_rd'] - base[3]['bottom_rd']:+.4f}"
              if base else "-")
        lines.append(f"| {lv.name} | {lv.what} | {args.minutes:g} | {steps:,} | {b['top_rd']:.4f} -> {a['top_rd']:.4f} "
                     f"| {b['bottom_rd']:.4f} -> {a['bottom_rd']:.4f} | {vs} | {b['psnr_q1']:.2f} -> {a['psnr_q1']:.2f} dB "
                     f"| {b['bpp_q0']:.3f} -> {a['bpp_q0']:.3f} |")
    publish_block(args.doc, *lever_set.markers, lines)


if __name__ == "__main__":
    main()
