"""Benchmark figures, drawn with matplotlib's Agg canvas.

We build ``Figure`` objects directly instead of going through pyplot, so importing this module
never changes the global matplotlib backend or needs a display. Inputs are plain data:

- RD curves: :class:`basic_codec.bench.anchors.Curve` objects, or dicts with the same keys
  (``label``, ``points`` = [(bpp, psnr), ...], optional ``published`` (default True) and
  ``ours`` (default False)).
- Complexity points: dicts (or objects with these attributes) ``label``, ``kmac_per_px``
  (decoder kMAC per pixel), ``bd_rate`` (percent vs VTM), optional ``ours`` (bool) and
  ``kmac_range`` ((lo, hi) kMAC/px, drawn as a horizontal bar).
- Time levels: dicts/objects ``label``, ``dec_s`` (mean seconds per image), optional
  ``enc_s``, ``dec_s_std``, ``kmac_per_px`` (shown in the tick label) and ``device``.

Readability rules: our levels are one colour family, light (cheapest) to dark (dearest);
every other curve family has its own colour, line style and marker; legends sit outside the
data; titles say what is shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["plot_rd", "plot_complexity", "plot_decode_time"]

# Colours for everything that is not ours (ours use the "Blues" ramp): no blue among them.
OTHER_COLOURS = ["#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                 "#bcbd22", "#17becf", "#000000", "#aa6600", "#006666"]
MARKERS = ["s", "^", "D", "v", "P", "X", "*", "<", ">", "h", "p", "d"]


def _get(obj: Any, key: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(key, default)
    return getattr(obj, key, default)


def _save(fig: Figure, out_png: str | Path) -> Path:
    out = Path(out_png)
    out.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)
    fig.savefig(out, dpi=150, bbox_inches="tight")
    return out


def _ramp(n: int) -> list:
    """n colours of one family, light to dark."""
    cmap = colormaps["Blues"]
    return [cmap(0.35 + 0.65 * i / max(1, n - 1)) for i in range(n)]


def plot_rd(curves: Sequence[Any], out_png: str | Path, title: str = "Rate-distortion",
            max_bpp: float | None = None) -> Path:
    """PSNR vs bpp. Ours: solid, a light-to-dark ramp from the cheapest to the dearest level;
    measured baselines: dashed; published anchors: dotted, " (published)" in their label."""
    fig = Figure(figsize=(10, 6))
    ax = fig.add_subplot()
    ours = [c for c in curves if _get(c, "ours", False)]
    others = [c for c in curves if not _get(c, "ours", False)]
    for c, colour in zip(ours, _ramp(len(ours))):
        pts = sorted(_get(c, "points", []))
        ax.plot([p[0] for p in pts], [p[1] for p in pts], label=str(_get(c, "label")), color=colour,
                linestyle="-", linewidth=1.8, marker="o", markersize=3.5)
    for i, c in enumerate(others):
        pts = sorted(_get(c, "points", []))
        if not pts:
            continue
        label = str(_get(c, "label") or _get(c, "name", "?"))
        published = _get(c, "published", True)
        if published:
            label += " (published)"
        ax.plot([p[0] for p in pts], [p[1] for p in pts], label=label,
                color=OTHER_COLOURS[i % len(OTHER_COLOURS)], marker=MARKERS[i % len(MARKERS)],
                linestyle=":" if published else "--", linewidth=1.4, markersize=4)
    if max_bpp is not None:
        ax.set_xlim(0, max_bpp)
    ax.set_xlabel("bits per pixel")
    ax.set_ylabel("PSNR RGB (dB)")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    return _save(fig, out_png)


def plot_complexity(points: Sequence[Any], out_png: str | Path,
                    title: str = "BD-rate vs VTM against decoder complexity") -> Path:
    """BD-rate vs VTM (y, %, lower is better) against decoder kMAC/pixel (x, log scale).

    Ours: one point per level, joined in complexity order, labelled alternately above and
    below; other codecs: one marker and colour each, named in the legend (no labels to collide).
    """
    fig = Figure(figsize=(10, 6))
    ax = fig.add_subplot()
    ours = sorted((p for p in points if _get(p, "ours", False)),
                  key=lambda p: float(_get(p, "kmac_per_px")))
    others = [p for p in points if not _get(p, "ours", False)]
    for i, p in enumerate(others):
        x, y = float(_get(p, "kmac_per_px")), float(_get(p, "bd_rate"))
        colour = OTHER_COLOURS[i % len(OTHER_COLOURS)]
        rng = _get(p, "kmac_range")
        if rng and rng[0] != rng[1]:
            ax.hlines(y, rng[0], rng[1], color=colour, linewidth=1, alpha=0.6)
        ax.plot([x], [y], marker=MARKERS[i % len(MARKERS)], color=colour, linestyle="none", markersize=6,
                label=str(_get(p, "label")))
    if ours:
        xs = [float(_get(p, "kmac_per_px")) for p in ours]
        ys = [float(_get(p, "bd_rate")) for p in ours]
        ax.plot(xs, ys, marker="o", color="#1f77b4", linewidth=1.8, label="basic-codec levels")
        for i, (p, x, y) in enumerate(zip(ours, xs, ys)):
            ax.annotate(str(_get(p, "label")), (x, y), textcoords="offset points",
                        xytext=(0, 7 if i % 2 == 0 else -13), ha="center", fontsize=8, color="#1f77b4")
    ax.axhline(0.0, color="k", linewidth=0.8, linestyle="--", label="VTM (0 %)")
    ax.set_xscale("log")
    ax.set_xlabel("decoder kMAC / pixel (log scale)")
    ax.set_ylabel("BD-rate vs VTM (%)  (lower is better)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    return _save(fig, out_png)


def plot_decode_time(levels: Sequence[Any], out_png: str | Path, title: str | None = None) -> Path:
    """Bars of mean decode (and, if given, encode) time per level, in milliseconds per image."""
    fig = Figure(figsize=(max(5.0, 1.2 * len(levels) + 2), 4.5))
    ax = fig.add_subplot()
    names = []
    for lv in levels:
        name = str(_get(lv, "label"))
        k = _get(lv, "kmac_per_px")
        names.append(f"{name}\n{k:.3g} kMAC/px" if k is not None else name)
    xs = list(range(len(levels)))
    has_enc = any(_get(lv, "enc_s") is not None for lv in levels)
    if title is None:
        title = "Encode and decode time per image, by level" if has_enc else "Decode time per image, by level"
    width = 0.4 if has_enc else 0.6
    dec = [1e3 * float(_get(lv, "dec_s")) for lv in levels]
    err = [1e3 * float(_get(lv, "dec_s_std") or 0.0) for lv in levels]
    offset = width / 2 if has_enc else 0.0
    ax.bar([x + offset for x in xs], dec, width, yerr=err if any(err) else None,
           label="decode", color="#1f77b4")
    if has_enc:
        enc = [1e3 * float(_get(lv, "enc_s") or 0.0) for lv in levels]
        ax.bar([x - offset for x in xs], enc, width, label="encode", color="#ff7f0e", alpha=0.8)
    ax.set_xticks(xs)
    ax.set_xticklabels(names, fontsize=8)
    ax.set_ylabel("ms per image")
    device = next((_get(lv, "device") for lv in levels if _get(lv, "device")), None)
    ax.set_title(f"{title} ({device})" if device else title)
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    return _save(fig, out_png)
