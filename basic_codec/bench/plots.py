"""Benchmark figures, drawn with matplotlib's Agg canvas.

We build ``Figure`` objects directly instead of going through pyplot, so importing this module
never changes the global matplotlib backend or needs a display. Inputs are plain data:

- RD curves: :class:`basic_codec.bench.anchors.Curve` objects, or dicts with the same keys
  (``label``, ``points`` = [(bpp, psnr), ...], optional ``published`` (default True) and
  ``ours`` (default False)).
- Complexity points: dicts (or objects with these attributes) ``label``, ``kmac_per_px``
  (decoder kMAC per pixel), ``bd_rate`` (percent vs VTM), optional ``ours`` (bool) and
  ``kmac_range`` ((lo, hi) kMAC/px, drawn as a horizontal bar).
- Decode-time levels: dicts/objects ``label``, ``dec_s`` (mean seconds per image), optional
  ``enc_s``, ``dec_s_std``, ``kmac_per_px`` (shown in the tick label) and ``device``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["plot_rd", "plot_complexity", "plot_decode_time"]


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


def plot_rd(curves: Sequence[Any], out_png: str | Path, title: str = "Kodak",
            max_bpp: float | None = None) -> Path:
    """PSNR vs bpp. Ours solid, measured baselines dashed, published anchors dotted.

    Published curves get " (published)" appended to their label. ``max_bpp`` crops the x axis.
    """
    fig = Figure(figsize=(8, 6))
    ax = fig.add_subplot()
    for c in curves:
        pts = sorted(_get(c, "points", []))
        if not pts:
            continue
        label = str(_get(c, "label") or _get(c, "name", "?"))
        if _get(c, "ours", False):
            style = dict(linestyle="-", linewidth=2.2, marker="o", markersize=4)
        elif _get(c, "published", True):
            style = dict(linestyle=":", linewidth=1.5, marker=".", markersize=4)
            label += " (published)"
        else:
            style = dict(linestyle="--", linewidth=1.5, marker="x", markersize=4)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], label=label, **style)
    if max_bpp is not None:
        ax.set_xlim(0, max_bpp)
    ax.set_xlabel("bits per pixel")
    ax.set_ylabel("PSNR RGB (dB)")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    return _save(fig, out_png)


def plot_complexity(points: Sequence[Any], out_png: str | Path,
                    title: str = "BD-rate vs VTM and decoder complexity") -> Path:
    """BD-rate vs VTM (y, %, lower is better) against decoder kMAC/pixel (x, log scale).

    Ours: one filled point per level, joined in complexity order; others: hollow points.
    """
    fig = Figure(figsize=(8, 6))
    ax = fig.add_subplot()
    ours = sorted((p for p in points if _get(p, "ours", False)),
                  key=lambda p: float(_get(p, "kmac_per_px")))
    others = [p for p in points if not _get(p, "ours", False)]
    for p in others:
        x, y = float(_get(p, "kmac_per_px")), float(_get(p, "bd_rate"))
        rng = _get(p, "kmac_range")
        if rng and rng[0] != rng[1]:
            ax.hlines(y, rng[0], rng[1], color="0.6", linewidth=1)
        ax.plot([x], [y], marker="o", markerfacecolor="none", color="0.35", linestyle="none")
        ax.annotate(str(_get(p, "label")), (x, y), textcoords="offset points", xytext=(4, 3),
                    fontsize=7, color="0.3")
    if ours:
        xs = [float(_get(p, "kmac_per_px")) for p in ours]
        ys = [float(_get(p, "bd_rate")) for p in ours]
        ax.plot(xs, ys, marker="o", color="C3", linewidth=1.5, label="basic-codec levels")
        for p, x, y in zip(ours, xs, ys):
            ax.annotate(str(_get(p, "label")), (x, y), textcoords="offset points",
                        xytext=(4, -10), fontsize=8, color="C3")
    ax.axhline(0.0, color="k", linewidth=0.8, linestyle="--", label="VTM (0 %)")
    ax.set_xscale("log")
    ax.set_xlabel("decoder kMAC / pixel (log scale)")
    ax.set_ylabel("BD-rate vs VTM (%)  (lower is better)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, out_png)


def plot_decode_time(levels: Sequence[Any], out_png: str | Path,
                     title: str = "Decode time per Kodak image") -> Path:
    """Bar chart of mean decode (and, if given, encode) time per level, in milliseconds."""
    fig = Figure(figsize=(max(5.0, 1.2 * len(levels) + 2), 4.5))
    ax = fig.add_subplot()
    names = []
    for lv in levels:
        name = str(_get(lv, "label"))
        k = _get(lv, "kmac_per_px")
        names.append(f"{name}\n{k:.3g} kMAC/px" if k is not None else name)
    xs = list(range(len(levels)))
    has_enc = any(_get(lv, "enc_s") is not None for lv in levels)
    width = 0.4 if has_enc else 0.6
    dec = [1e3 * float(_get(lv, "dec_s")) for lv in levels]
    err = [1e3 * float(_get(lv, "dec_s_std") or 0.0) for lv in levels]
    offset = width / 2 if has_enc else 0.0
    ax.bar([x + offset for x in xs], dec, width, yerr=err if any(err) else None,
           label="decode", color="C0")
    if has_enc:
        enc = [1e3 * float(_get(lv, "enc_s") or 0.0) for lv in levels]
        ax.bar([x - offset for x in xs], enc, width, label="encode", color="C1", alpha=0.7)
    ax.set_xticks(xs)
    ax.set_xticklabels(names, fontsize=8)
    ax.set_ylabel("ms per image")
    device = next((_get(lv, "device") for lv in levels if _get(lv, "device")), None)
    ax.set_title(f"{title} ({device})" if device else title)
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, out_png)
