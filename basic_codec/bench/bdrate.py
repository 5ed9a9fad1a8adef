"""Classic Bjontegaard delta metrics (VCEG-M33).

The figures in published tables (and in ``shared/anchors/bd_vs_vtm_reference.txt``) use the
original recipe: a least-squares cubic through each curve, integrated over the overlap of the two
curves only. We implement exactly that rather than the piecewise-cubic (Akima/PCHIP) variants, so
our numbers are comparable with those tables.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
from numpy.polynomial import Polynomial

__all__ = ["bd_rate", "bd_psnr", "MIN_POINTS"]

MIN_POINTS = 4
"""A cubic has four coefficients: with fewer points the fit is undetermined, so we refuse."""

Point = tuple[float, float]


def _as_arrays(points: Iterable[Sequence[float]], what: str) -> tuple[np.ndarray, np.ndarray]:
    """Validate (bpp, psnr) points and return (log_rate, psnr) sorted by PSNR."""
    pts = [(float(p[0]), float(p[1])) for p in points]
    if len(pts) < MIN_POINTS:
        raise ValueError(
            f"{what} curve has {len(pts)} point(s); the Bjontegaard cubic fit needs at least "
            f"{MIN_POINTS}"
        )
    arr = np.asarray(pts, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} curve has non-finite bpp or PSNR values: {pts}")
    if np.any(arr[:, 0] <= 0):
        raise ValueError(f"{what} curve has a non-positive bitrate; log-rate is undefined")
    if len(np.unique(arr[:, 1])) < MIN_POINTS or len(np.unique(arr[:, 0])) < MIN_POINTS:
        raise ValueError(
            f"{what} curve needs at least {MIN_POINTS} distinct bpp and PSNR values for a cubic fit"
        )
    order = np.argsort(arr[:, 1])
    return np.log(arr[order, 0]), arr[order, 1]


def _overlap(a: np.ndarray, b: np.ndarray, axis: str) -> tuple[float, float]:
    lo = max(float(a.min()), float(b.min()))
    hi = min(float(a.max()), float(b.max()))
    if hi <= lo:
        raise ValueError(
            f"the two curves do not overlap in {axis} "
            f"(reference {a.min():.3f}..{a.max():.3f}, test {b.min():.3f}..{b.max():.3f})"
        )
    return lo, hi


def _mean_over(x: np.ndarray, y: np.ndarray, lo: float, hi: float) -> float:
    """Mean value of the least-squares cubic y(x) over [lo, hi]."""
    # Polynomial.fit works in a scaled window, which keeps the normal equations well conditioned
    # even when x is PSNR in the 25..50 range (x**3 ~ 1e5).
    integral = Polynomial.fit(x, y, 3).integ()
    return float(integral(hi) - integral(lo)) / (hi - lo)


def bd_rate(reference: Iterable[Sequence[float]], test: Iterable[Sequence[float]]) -> float:
    """Average bitrate difference of ``test`` vs ``reference`` at equal PSNR, in percent.

    Both inputs are (bpp, psnr) points in any order. Negative means ``test`` needs fewer bits.
    Raises ValueError if a curve has fewer than 4 points or the PSNR ranges do not overlap.
    """
    ref_r, ref_q = _as_arrays(reference, "reference")
    tst_r, tst_q = _as_arrays(test, "test")
    lo, hi = _overlap(ref_q, tst_q, "PSNR")
    diff = _mean_over(tst_q, tst_r, lo, hi) - _mean_over(ref_q, ref_r, lo, hi)
    return (math.exp(diff) - 1.0) * 100.0


def bd_psnr(reference: Iterable[Sequence[float]], test: Iterable[Sequence[float]]) -> float:
    """Average PSNR difference (dB) of ``test`` vs ``reference`` at equal bitrate.

    Same inputs and errors as :func:`bd_rate`, with the overlap taken over log-bitrate.
    Positive means ``test`` is better.
    """
    ref_r, ref_q = _as_arrays(reference, "reference")
    tst_r, tst_q = _as_arrays(test, "test")
    lo, hi = _overlap(ref_r, tst_r, "bitrate")
    return _mean_over(tst_r, tst_q, lo, hi) - _mean_over(ref_r, ref_q, lo, hi)
