"""docs/RESULTS.md and its plots, written from a bench run's aggregate (never by hand)."""
from __future__ import annotations

import re
from pathlib import Path

from .anchors import Curve, complexity_points, load_anchors
from .bdrate import bd_rate
from .records import BenchResult, LevelRow, OursPoint

README_START, README_END = "<!-- bench:start -->", "<!-- bench:end -->"
# sections other commands write into the same report (scripts/large_image.py)
KEPT_BLOCKS = (("<!-- large:start -->", "<!-- large:end -->"),)


def _bd(ref: Curve | None, pts: list[tuple[float, float]]) -> float | None:
    if ref is None:
        return None
    try:
        return bd_rate(ref.points, pts)
    except ValueError:  # too few points or no PSNR overlap
        return None


def _mean(values) -> float:
    v = list(values)
    return sum(v) / len(v)


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v:+.1f} %"


def level_curves(agg: BenchResult) -> dict[int, Curve]:
    curves: dict[int, list] = {}
    for r in agg.main:
        curves.setdefault(r.level, []).append((r.bpp, r.psnr))
    return {lv: Curve(f"level{lv}", f"basic-codec level {lv}", pts, published=False, ours=True)
            for lv, pts in curves.items()}


def baseline_curves(agg: BenchResult) -> dict[str, Curve]:
    from .baselines import CODECS

    pts: dict[str, list] = {}
    for r in agg.baselines:
        pts.setdefault(r.codec, []).append((r.bpp, r.psnr))
    return {c: Curve(f"measured/{c}", CODECS[c].label, p, source="measured", published=False)
            for c, p in pts.items()}


def write_report(agg: BenchResult, report: Path, anchors_dir: Path | None) -> str:
    """Write the report and plots; return the short summary table (for the README)."""
    from . import plots

    report.parent.mkdir(parents=True, exist_ok=True)
    img_dir = report.parent / "img"
    img_dir.mkdir(exist_ok=True)
    # Published anchors are means over Kodak: drawn and compared against only on that very set.
    anchors = load_anchors(anchors_dir) if agg.kodak and anchors_dir and anchors_dir.exists() else {}
    set_name = agg.set_name
    vtm = anchors.get("vtm")
    ours = level_curves(agg)
    base = baseline_curves(agg)
    levels = {d.level: d for d in agg.levels}
    by_level: dict[int, list[OursPoint]] = {}
    for r in agg.main:
        by_level.setdefault(r.level, []).append(r)

    summary = ["| level | widths g_a/h_a/h_s/g_s (channels) | partites | enc kMAC/px | dec kMAC/px | RD loss "
               "| BD-rate vs VTM | vs JPEG 2000 | vs WebP | vs JPEG | enc s | dec s |",
               "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    comp_points, rd_by_level = [], {}
    for lv, c in sorted(ours.items()):
        d, rows = levels[lv], by_level[lv]
        bd_vtm = _bd(vtm, c.points)
        if all(r.rd_loss is not None for r in rows):
            rd_by_level[lv] = sum(r.rd_loss for r in rows) / len(rows)
        rd = f"{rd_by_level[lv]:.3f}" if lv in rd_by_level else "n/a"
        summary.append(
            f"| {lv} | {d.widths_text} | {d.partites} | {d.enc_kmac_per_px:.1f} | "
            f"{d.dec_kmac_per_px:.1f} | {rd} | {_pct(bd_vtm)} | {_pct(_bd(base.get('jpeg2000'), c.points))} | "
            f"{_pct(_bd(base.get('webp'), c.points))} | "
            f"{_pct(_bd(base.get('jpeg'), c.points))} | {_mean(r.enc_s for r in rows):.2f} | "
            f"{_mean(r.dec_s for r in rows):.2f} |")
        if bd_vtm is not None:
            comp_points.append({"label": f"L{lv}", "kmac_per_px": d.dec_kmac_per_px, "bd_rate": bd_vtm, "ours": True})

    if len(rd_by_level) > 1:
        lv_sorted = sorted(rd_by_level)
        rises = [f"level {b} ({rd_by_level[b]:.3f}) > level {a} ({rd_by_level[a]:.3f})"
                 for a, b in zip(lv_sorted, lv_sorted[1:]) if rd_by_level[b] >= rd_by_level[a]]
        summary += ["", "RD loss: bpp + lambda(q) 255^2 MSE per image (the training objective), mean over images "
                    "and the benchmarked qualities. "
                    + ("It falls at every step up the level table." if not rises
                       else f"It does not fall at every step: {'; '.join(rises)}.")]

    detail = ["| level | quality | bpp | PSNR (dB) | MS-SSIM | enc s | dec s | payload / estimate | header bytes |",
              "|---|---|---|---|---|---|---|---|---|"]
    for r in agg.main:
        ms = f"{r.ms_ssim:.4f}" if r.ms_ssim is not None else "n/a"
        detail.append(f"| {r.level} | {r.quality:.3f} | {r.bpp:.4f} | {r.psnr:.2f} | {ms} | "
                      f"{r.enc_s:.2f} | {r.dec_s:.2f} | {r.payload_vs_estimate:.4f} | {r.header_bytes:.0f} |")

    btable = ["| codec | settings | bpp range | PSNR range | BD-rate vs VTM | mean enc s | mean dec s |",
              "|---|---|---|---|---|---|---|"]
    for name, c in base.items():
        brows = [r for r in agg.baselines if r.codec == name]
        btable.append(f"| {c.label} (measured) | {len(brows)} | {c.points[0][0]:.3f}-{c.points[-1][0]:.3f} | "
                      f"{min(p for _, p in c.points):.2f}-{max(p for _, p in c.points):.2f} | {_pct(_bd(vtm, c.points))} | "
                      f"{_mean(r.enc_s for r in brows):.3f} | {_mean(r.dec_s for r in brows):.3f} |")

    published = [anchors[k] for k in ("vtm", "bpg_444_x265_ycbcr", "compressai-bmshj2018-hyperprior_mse_cpu",
                                      "compressai-mbt2018_mse_cpu", "paper-elic2022_mse") if k in anchors]
    plots.plot_rd([*ours.values(), *base.values(), *published], img_dir / "rd.png",
                  title=f"Rate-distortion on {set_name} ({agg.n_images} images)", max_bpp=2.0)
    comp_points += [p for p in complexity_points(anchors) if p.get("kmac_per_px")] if anchors else []
    plots.plot_complexity(comp_points, img_dir / "complexity.png")
    plots.plot_decode_time(
        [{"label": f"L{lv}", "kmac_per_px": levels[lv].dec_kmac_per_px,
          "dec_s": _mean(r.dec_s for r in by_level[lv]),
          "enc_s": _mean(r.enc_s for r in by_level[lv])} for lv in sorted(by_level)],
        img_dir / "decode_time.png")

    names = "the classical codecs below"
    if agg.baselines_measured == [f"{agg.machine}, {agg.date}"]:
        measured_note = f"{names[0].upper()}{names[1:]} are measured here, by this run or an earlier one resumed in its folder."
    elif agg.baselines_measured:
        measured_note = (f"{names[0].upper()}{names[1:]} were measured by `bench` (records reused from its folder) on: "
                         + "; ".join(agg.baselines_measured) + ".")
    else:
        measured_note = ""
    ours_note = ("; basic-codec's records were made on: " + "; ".join(agg.ours_measured)) if agg.ours_measured else ""
    vtm_note = ("VTM is the\n  published anchor in `shared/anchors/kodak/vtm.json`. " if vtm else
                "No published anchor is drawn: they are Kodak means and this is not the Kodak set. ")
    text = f"""# Results on {set_name}

Written by `basic-codec bench {agg.images}` — do not edit by hand.

- machine: {agg.machine}
- date: {agg.date}, commit {agg.commit}, weights {agg.model_id}
- {agg.n_images} images{f", encoder effort {agg.efforts[0]} (`--effort`)" if agg.efforts[0] else ""}; bpp from the real `.bsic` file size (header included); PSNR over RGB per image, then averaged;
  times are wall clock per image (encode: image to bytes; decode: bytes to image){ours_note}.
- BD-rate: classic Bjontegaard (cubic fit of log-rate over the overlapping PSNR range). {vtm_note}{measured_note}
- widths: channels of the hidden layers of g_a (analysis), h_a (hyper analysis), h_s (hyper
  synthesis), g_s (synthesis); partites: decoding passes over the latent (1 = all at once);
  kMAC/px: thousands of multiply-accumulates per pixel.

## Levels

{chr(10).join(summary)}

![RD curves](img/rd.png)

![Complexity vs BD-rate](img/complexity.png)

![Decode time per level](img/decode_time.png)

## Classical codecs

{chr(10).join(btable)}

## Every level and quality

`payload / estimate`: coded payload bits over the model's own estimate (sum of -log2 of the coded
symbols' probabilities under the coding distributions); the header is counted apart.

{chr(10).join(detail)}
"""
    if len(agg.efforts) > 1:
        text += effort_section(agg)
    if agg.speed:
        text += speed_section(agg.speed)
    # sections other commands write into the same report (scripts/large_image.py): kept
    old = report.read_text() if report.exists() else ""
    for start, end in KEPT_BLOCKS:
        if start in old and end in old:
            text += "\n" + old[old.index(start):old.index(end) + len(end)] + "\n"
    report.write_text(text)
    return "\n".join(summary) + "\n\n" + quality_table(agg, levels)


def quality_table(agg: BenchResult, levels: dict[int, LevelRow]) -> str:
    """bpp / PSNR per level and quality, with mean encode/decode seconds: the README's table."""
    quals = sorted({r.quality for r in agg.main})
    cell = {(r.level, r.quality): r for r in agg.main}
    head = "| level | dec kMAC/px | " + " | ".join(f"q={q:.2f}: bpp / PSNR" for q in quals) + " | enc s | dec s |"
    lines = [head, "|" + "---|" * (len(quals) + 4)]
    for lv in sorted(levels):
        rows = [cell[(lv, q)] for q in quals if (lv, q) in cell]
        if not rows:
            continue
        cells = " | ".join(f"{cell[(lv, q)].bpp:.3f} / {cell[(lv, q)].psnr:.2f}" if (lv, q) in cell else "-"
                           for q in quals)
        lines.append(f"| {lv} | {levels[lv].dec_kmac_per_px:.1f} | {cells} | "
                     f"{_mean(r.enc_s for r in rows):.2f} | {_mean(r.dec_s for r in rows):.2f} |")
    return "\n".join(lines)


def effort_section(agg: BenchResult) -> str:
    """`bench --effort 0,3,...`: what each encoder effort buys per level, against the first, on
    the images and levels coded at every effort."""
    ref = agg.efforts[0]
    pts_all = agg.effort_points or agg.ours
    subset = (f"the first {agg.effort_images} of the {agg.n_images} images"
              if agg.effort_images and agg.effort_images < agg.n_images else f"all {agg.n_images} images")
    lines = [f"\n## Encoder effort (`bench --effort {','.join(map(str, agg.efforts))}`)\n",
             f"The same images ({subset}) and qualities coded at each effort; the decoder is the same at "
             f"every effort. BD-rate against effort {ref} at the same level on those images (negative: fewer "
             "bits at the same PSNR); encode s: mean wall-clock seconds per image (the refinement runs "
             "on one thread per tile).\n",
             "| level | effort | mean bpp | mean PSNR (dB) | BD-rate vs effort " + str(ref) + " | encode s |",
             "|---|---|---|---|---|---|"]
    for lv in sorted({p.level for p in pts_all}):
        curves = {e: sorted((p for p in pts_all if p.level == lv and p.effort == e), key=lambda p: p.bpp)
                  for e in agg.efforts}
        base = [(p.bpp, p.psnr) for p in curves[ref]]
        for e, pts in curves.items():
            if not pts:
                continue
            bd = "reference" if e == ref else _pct(_bd(Curve("ref", "ref", base), [(p.bpp, p.psnr) for p in pts]))
            lines.append(f"| {lv} | {e} | {_mean(p.bpp for p in pts):.4f} | {_mean(p.psnr for p in pts):.2f} | "
                         f"{bd} | {_mean(p.enc_s for p in pts):.2f} |")
    return "\n".join(lines) + "\n"


def speed_section(speed: dict) -> str:
    """`bench --speed`: seconds per level on one image, split into network and entropy coding."""
    rows = speed["levels"]
    top = max(rows, key=lambda r: r["dec_kmac_per_px"])
    lines = ["\n## Speed per level (`bench --speed`)\n",
             f"One image ({speed['image']}), every level timed in the same run, median of {speed['repeats']}; "
             "entropy = time inside the constriction coder, network = the rest.\n",
             "| level | dec kMAC/px | enc s | enc entropy s | dec s | dec network s | dec entropy s | entropy share of decode | decode speed-up vs top |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: r["level"]):
        lines.append(f"| {r['level']} | {r['dec_kmac_per_px']:.1f} | {r['enc_s']:.3f} | {r['enc_entropy_s']:.3f} | "
                     f"{r['dec_s']:.3f} | {r['dec_network_s']:.3f} | {r['dec_entropy_s']:.3f} | "
                     f"{100 * r['dec_entropy_s'] / r['dec_s']:.1f} % | {top['dec_s'] / r['dec_s']:.2f}x |")
    c = speed.get("coder")
    if c:
        lines.append(f"\nEntropy decoder alone at the top level ({c['symbols']} y symbols, {c['steps']} partite steps): "
                     f"{c['ours_sym_per_s'] / 1e6:.2f} M symbols/s through basic-codec's reader, "
                     f"{c['constriction_sym_per_s'] / 1e6:.2f} M symbols/s decoding the same symbols in one step "
                     f"(one constriction call per scale index; ratio {c['constriction_sym_per_s'] / c['ours_sym_per_s']:.2f}x).\n")
    return "\n".join(lines) + "\n"


def replace_block(path: Path, start: str, end: str, block: str) -> None:
    """Put `block` (which begins with `start` and ends with `end`) in place of the text between
    the markers in `path`, or append it when the file has none."""
    text = path.read_text()
    if start in text:
        text = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    else:
        text += "\n" + block + "\n"
    path.write_text(text)


def publish_block(doc: str | Path | None, start: str, end: str, lines: list[str]) -> str:
    """A measured table as a marked block: printed, and put into `doc` when one is given (what
    the scripts that write into docs/ share)."""
    block = "\n".join([start, *lines, end])
    print(block)
    if doc:
        replace_block(Path(doc), start, end, block)
        print(f"wrote {doc}")
    return block


def update_readme(readme: Path, summary: str, report_rel: str, agg: BenchResult) -> None:
    block = (f"{README_START}\nMeasured by `basic-codec bench` on {agg.date} ({agg.machine}), "
             f"weights {agg.model_id}; full report: [{report_rel}]({report_rel}).\n\n{summary}\n\n"
             f"![RD curves](docs/img/rd.png)\n{README_END}")
    replace_block(readme, README_START, README_END, block)
