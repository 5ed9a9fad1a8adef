"""`basic-codec bench`: rate, distortion, compute and time of every level, beside classical codecs.

Per image records go to RESULTS_DIR/{ours,baselines}.jsonl (a rerun skips what is there), means
to RESULTS_DIR/aggregate.json, and a report with plots to docs/RESULTS.md. Everything in the
report is computed here from those records; nothing is typed in by hand.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ..api import Codec
from ..config import QUALITY_GRID
from ..files import IMAGE_EXTENSIONS
from ..imageio import load_rgb
from ..progress import Progress
from ..ops.metrics import rd_loss
from .metrics import ms_ssim, psnr
from .records import BaselinePoint, BenchResult, LevelRow, OursPoint

ALL_BASELINES = ("jpeg", "webp", "jpeg2000", "avif", "jpegxl")


@dataclass
class BenchConfig:
    images: str
    out: str
    qualities: tuple[float, ...] = QUALITY_GRID
    levels: tuple[int, ...] | None = None  # None: every level
    baselines: tuple[str, ...] = ALL_BASELINES
    anchors: str | None = None  # published anchors folder; None: ../shared/anchors
    report: str | None = None  # markdown report (plots beside it in img/); None: OUT/RESULTS.md
    name: str | None = None  # what the image set is called in the report; None: the folder's name
    limit: int | None = None  # first N images only (quick looks)
    efforts: tuple[int, ...] = (0,)  # encoder efforts (0..9) to code with; the first one fills the main tables
    effort_levels: tuple[int, ...] | None = None  # levels coded at the other efforts; None: every level benched
    effort_limit: int | None = None  # the first N images only at the other efforts (slow encodes); None: all
    speed: bool = False  # also time every level on one image (OUT/speed.json, kept for later reports)
    readme: str | None = None  # also put the summary block into this README


def bench(cfg: BenchConfig, codec: Codec) -> str | None:
    """What `basic-codec bench` does: run (resuming from OUT's records), time the levels if asked,
    write the report (and README block); -> the report's summary, or None without a report."""
    from .anchors import default_dir
    from .report import update_readme, write_report

    agg = run(cfg, codec)
    speed_file = Path(cfg.out) / "speed.json"
    if cfg.speed:
        from .speed import coder_throughput, measure_speed

        name, img = speed_image(cfg.images)
        speed = {"image": name, "repeats": 5, "levels": measure_speed(codec, img),
                 "coder": coder_throughput(codec, img)}
        speed_file.write_text(json.dumps(speed, indent=1))
    if speed_file.exists():
        agg.speed = json.loads(speed_file.read_text())
    if not cfg.report:
        return None
    summary = write_report(agg, Path(cfg.report), Path(cfg.anchors) if cfg.anchors else default_dir())
    if cfg.readme:
        update_readme(Path(cfg.readme), summary, str(Path(cfg.report)), agg)
    return summary


def _images(folder: str, limit: int | None) -> list[Path]:
    files = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise FileNotFoundError(f"no images in {folder}")
    return files[:limit] if limit else files


def speed_image(folder: str) -> tuple[str, np.ndarray]:
    """The first 768x512 (landscape Kodak-sized) image of the folder, else its first image."""
    files = _images(folder, None)
    for p in files:
        with Image.open(p) as im:
            if im.size == (768, 512):
                return p.name, load_rgb(p)
    return files[0].name, load_rgb(files[0])


RECORD_DEFAULTS = {"effort": 0}  # fields that records written before them lack


def _done(path: Path, key_fields: tuple[str, ...]) -> tuple[set, list[dict]]:
    rows = []
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError:  # a line cut by an interrupted run
                    continue
    return {tuple(r.get(k, RECORD_DEFAULTS.get(k)) for k in key_fields) for r in rows}, rows


def measure_ours(codec: Codec, img: np.ndarray, quality: float, level: int, effort: int = 0) -> dict:
    """Encode and decode through bytes exactly as a user would; times are wall clock."""
    t0 = time.perf_counter()
    rep = codec.compress_report(img, quality, level=level, effort=effort)
    t1 = time.perf_counter()
    rec = np.asarray(codec.decompress(rep.data).convert("RGB"))
    t2 = time.perf_counter()
    h, w = img.shape[:2]
    lv = codec.levels[level]
    return {"quality": round(quality, 6), "level": level, "effort": effort, "bytes": len(rep.data),
            "bpp": 8 * len(rep.data) / (h * w), "payload_bytes": rep.payload_bytes,
            "header_bytes": rep.header_bytes, "est_payload_bits": rep.est_payload_bits,
            "psnr": psnr(img, rec), "ms_ssim": ms_ssim(img, rec), "enc_s": t1 - t0, "dec_s": t2 - t1,
            "enc_kmac_per_px": lv.enc_kmac_per_px, "dec_kmac_per_px": lv.dec_kmac_per_px}


def _mean(rows: list[dict], key: str) -> float | None:
    vals = [r[key] for r in rows if r.get(key) is not None]
    return float(np.mean(vals)) if vals else None


def aggregate(rows: list[dict], group: tuple[str, ...]) -> list[dict]:
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault(tuple(r[g] for g in group), []).append(r)
    out = []
    for key, rs in sorted(groups.items()):
        a = dict(zip(group, key))
        a["n_images"] = len(rs)
        for k in ("bpp", "psnr", "rd_loss", "ms_ssim", "enc_s", "dec_s", "payload_bytes", "header_bytes",
                  "est_payload_bits", "enc_kmac_per_px", "dec_kmac_per_px"):
            v = _mean(rs, k)
            if v is not None:
                a[k] = v
        if "est_payload_bits" in a:
            a["payload_vs_estimate"] = float(np.mean([8 * r["payload_bytes"] / r["est_payload_bits"] for r in rs]))
        out.append(a)
    return out


def _made_on(rows: list[dict]) -> list[str]:
    """The distinct "machine, date" of the records (older records carry neither)."""
    return sorted({f"{r.get('machine', 'machine not recorded')}, {r.get('date', 'date not recorded')}" for r in rows})


def run(cfg: BenchConfig, codec: Codec) -> BenchResult:
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    files = _images(cfg.images, cfg.limit)
    levels = list(cfg.levels) if cfg.levels is not None else [lv.level for lv in codec.levels]
    for lv in levels:
        if not 0 <= lv < len(codec.levels):
            raise ValueError(f"level {lv} does not exist (0..{len(codec.levels) - 1})")
    effort_levels = list(cfg.effort_levels) if cfg.effort_levels is not None else levels
    if not set(effort_levels) <= set(levels):
        raise ValueError(f"effort levels {effort_levels} are not all among the levels benched {levels}")
    effort_files = files[:cfg.effort_limit] if cfg.effort_limit else files
    model = codec.model_id.hex()
    ours_path = out / "ours.jsonl"
    done, _ = _done(ours_path, ("image", "model", "quality", "level", "effort"))
    main_effort = cfg.efforts[0]
    jobs = [(f, q, lv, e) for e in cfg.efforts
            for f in (files if e == main_effort else effort_files) for q in cfg.qualities
            for lv in (levels if e == main_effort else effort_levels)
            if (f.name, model, round(q, 6), lv, e) not in done]
    baseline_jobs = []
    if cfg.baselines:
        from . import baselines as bl

        bdone, _ = _done(out / "baselines.jsonl", ("image", "codec", "setting"))
        for name in cfg.baselines:
            if name not in bl.SETTINGS:
                raise ValueError(f"unknown baseline {name!r}; choose from {', '.join(bl.SETTINGS)}")
            baseline_jobs += [(f, name, s) for f in files for s in bl.SETTINGS[name]
                              if (f.name, name, s) not in bdone]
    bar = Progress(len(jobs) + len(baseline_jobs), "bench")
    # every record says where and when it was made (thread count included): a resumed run or
    # several runs into one folder may mix them, and the report lists them all
    where = {"machine": machine(), "date": dt.date.today().isoformat()}
    cache: dict[Path, np.ndarray] = {}

    def image(f: Path) -> np.ndarray:  # each file read once, whichever codec needs it first
        if f not in cache:
            cache[f] = load_rgb(f)
        return cache[f]

    with open(ours_path, "a") as log:
        for f, q, lv, e in jobs:
            img = image(f)
            rec = {"image": f.name, "model": model, **measure_ours(codec, img, q, lv, e), **where}
            log.write(json.dumps(rec) + "\n")
            log.flush()
            bar.update(1, image=f.name, level=lv)
    if baseline_jobs:
        with open(out / "baselines.jsonl", "a") as log:
            for f, name, s in baseline_jobs:
                img = image(f)
                rec = {"image": f.name, **bl.measure_baseline(name, img, s), **where}
                log.write(json.dumps(rec) + "\n")
                log.flush()
                bar.update(1, image=f.name, codec=name)
    names = {f.name for f in files}
    ours_rows = [r for r in _done(ours_path, ())[1] if r["model"] == model and r["image"] in names
                 and r.get("effort", 0) in cfg.efforts
                 and r["level"] in levels and round(r["quality"], 6) in {round(q, 6) for q in cfg.qualities}]
    for r in ours_rows:  # the training objective, per image: bpp + lambda(q) 255^2 MSE
        r["effort"] = r.get("effort", 0)
        r["rd_loss"] = rd_loss(r["bpp"], 10 ** (-r["psnr"] / 10), codec.cfg.lmbda(r["quality"]))
    # the effort table compares every effort on the same images and levels, so that the
    # reference curve is not averaged over more images than the refined ones
    effort_names = {f.name for f in effort_files}
    effort_rows = [r for r in ours_rows if r["image"] in effort_names and r["level"] in effort_levels]
    base_rows = [r for r in _done(out / "baselines.jsonl", ())[1]
                 if r["image"] in names and r["codec"] in cfg.baselines]
    from ..api import describe_level
    from .kodak import is_kodak

    kodak = is_kodak(files)
    agg = BenchResult(
        machine=machine(), date=dt.date.today().isoformat(), commit=commit(), model_id=model, images=cfg.images,
        n_images=len(files), set_name=cfg.name or ("Kodak" if kodak else Path(cfg.images).resolve().name),
        kodak=kodak, levels=[LevelRow.from_dict(describe_level(codec.levels[lv], codec.cfg)) for lv in levels],
        ours=[OursPoint.from_dict(a) for a in aggregate(
            [r for r in ours_rows if r["effort"] == main_effort], ("level", "quality", "effort"))],
        baselines=[BaselinePoint.from_dict(a) for a in aggregate(base_rows, ("codec", "setting"))],
        efforts=list(cfg.efforts),
        effort_points=[OursPoint.from_dict(a) for a in aggregate(effort_rows, ("level", "quality", "effort"))]
        if len(cfg.efforts) > 1 else [],
        effort_images=len(effort_files) if len(cfg.efforts) > 1 else 0,
        baselines_measured=_made_on(base_rows), ours_measured=_made_on(ours_rows))
    (out / "aggregate.json").write_text(json.dumps(agg.to_dict(), indent=1))
    return agg


def cpu_name() -> str:
    """The CPU's model name (Linux /proc/cpuinfo), else what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    cpu = cpu_name()
    import torch

    return f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads), {platform.system()}"


def commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).resolve().parents[2], timeout=5).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"
