"""BD-rate against the published reference table, anchor loading, and (when the optional bench
packages are installed) the classical baselines and plots."""

import math
import re
from pathlib import Path

import numpy as np
import pytest

from basic_codec.bench.anchors import Curve, complexity_points, load_anchors
from basic_codec.bench.bdrate import bd_psnr, bd_rate

from .conftest import SHARED, shared



@pytest.fixture(scope="module")
def anchors() -> Path:
    return shared(SHARED / "anchors")
REF_LINE = re.compile(
    r"^(?P<file>\S+)\.json\s+BD-rate vs VTM: all-pts\s+(?P<all>[+-]?\d+(?:\.\d+)?)%"
    r".*\|\s*bpp<1\s+(?P<low>[+-]?\d+(?:\.\d+)?)%"
)

# A smooth, concave, made-up RD curve (log-rate linear-ish in PSNR) for the synthetic checks.
CURVE = [(0.1, 27.0), (0.2, 29.6), (0.4, 32.3), (0.8, 35.1), (1.6, 38.0), (3.2, 41.0)]


def _reference_rows(anchors: Path) -> list[tuple[str, float, float]]:
    ref = shared(anchors / "bd_vs_vtm_reference.txt")
    rows = []
    for line in ref.read_text().splitlines():
        m = REF_LINE.match(line)
        if m:
            rows.append((m["file"], float(m["all"]), float(m["low"])))
    assert len(rows) >= 40, f"parsed only {len(rows)} rows of {ref}"
    return rows


def test_reproduces_reference_table(anchors: Path) -> None:
    curves = load_anchors(anchors, include_all=True)
    vtm = curves["vtm"]
    failures = []
    for stem, want_all, want_low in _reference_rows(anchors):
        test = curves[stem]
        got_all = bd_rate(vtm.points, test.points)
        got_low = bd_rate(vtm.below(1.0).points, test.below(1.0).points)
        if abs(got_all - want_all) > 0.5 or abs(got_low - want_low) > 0.5:
            failures.append(f"{stem}: all {got_all:+.1f} vs {want_all:+.1f}, "
                            f"bpp<1 {got_low:+.1f} vs {want_low:+.1f}")
    assert not failures, "\n".join(failures)


def test_default_anchor_set(anchors: Path) -> None:
    curves = load_anchors(anchors)
    assert "vtm" in curves and curves["vtm"].published
    assert not any("ms-ssim" in k or k.endswith("_cuda") for k in curves)
    for key in ("compressai-mbt2018_mse_cpu", "paper-elic2022_mse", "coolchic-v5.0", "mlic++",
                "shiftlic-small", "c3/c3"):
        assert key in curves, key
    assert curves["c3/mbt"].kmac_per_px == pytest.approx(139.638)
    for c in curves.values():
        assert all(b > 0 and 10 < p < 60 for b, p in c.points), c.name
    pts = complexity_points(curves)
    assert pts and all(math.isfinite(p["bd_rate"]) for p in pts)


def test_identity_and_scaling() -> None:
    assert bd_rate(CURVE, CURVE) == pytest.approx(0.0, abs=1e-9)
    assert bd_psnr(CURVE, CURVE) == pytest.approx(0.0, abs=1e-9)
    scaled = [(b * 1.1, p) for b, p in CURVE]
    assert bd_rate(CURVE, scaled) == pytest.approx(10.0, abs=1e-6)
    assert bd_rate(scaled, CURVE) == pytest.approx(100 / 1.1 - 100, abs=1e-6)
    assert bd_rate(CURVE, list(reversed(scaled))) == pytest.approx(10.0, abs=1e-6)  # any order
    shifted = [(b, p + 0.5) for b, p in CURVE]
    assert bd_psnr(CURVE, shifted) == pytest.approx(0.5, abs=1e-9)
    assert bd_rate(CURVE, shifted) < 0


def test_errors() -> None:
    with pytest.raises(ValueError, match="at least 4"):
        bd_rate(CURVE, CURVE[:3])
    with pytest.raises(ValueError, match="overlap"):
        bd_rate(CURVE, [(b, p + 30) for b, p in CURVE])
    with pytest.raises(ValueError, match="overlap"):
        bd_psnr(CURVE, [(b * 1000, p) for b, p in CURVE])
    with pytest.raises(ValueError, match="non-positive"):
        bd_rate(CURVE, [(0.0, 26.0)] + CURVE[1:])


def test_curve_below() -> None:
    c = Curve("x", "x", list(reversed(CURVE)))
    assert c.points == CURVE
    assert [b for b, _ in c.below(1.0).points] == [0.1, 0.2, 0.4, 0.8]


@pytest.mark.parametrize("codec", ["jpeg", "webp", "jpeg2000", "avif", "jpegxl"])
def test_baseline_on_crop(codec: str, crop: np.ndarray) -> None:
    pytest.importorskip("imagecodecs")
    from basic_codec.bench import baselines

    if codec not in baselines.available_codecs():
        pytest.skip(f"{codec} not in this imagecodecs build")
    settings = baselines.SETTINGS[codec]
    lo = baselines.measure_baseline(codec, crop, settings[1])
    hi = baselines.measure_baseline(codec, crop, settings[-2])
    for r in (lo, hi):
        assert r["bpp"] > 0 and 15 < r["psnr"] < 60 and r["enc_s"] >= 0 and r["dec_s"] >= 0
        assert r["ms_ssim"] is None  # the 200x136 crop is below MS-SSIM's 5-scale minimum
    assert hi["bpp"] > lo["bpp"] and hi["psnr"] > lo["psnr"]


def test_baseline_rejects_unknown_codec(crop: np.ndarray) -> None:
    pytest.importorskip("imagecodecs")
    from basic_codec.bench import baselines

    with pytest.raises(ValueError, match="unknown baseline codec"):
        baselines.measure_baseline("bmp", crop, 50)


def test_missing_codec_is_named(crop: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    ic = pytest.importorskip("imagecodecs")
    from basic_codec.bench import baselines

    monkeypatch.setattr(ic.AVIF, "available", False)
    with pytest.raises(baselines.CodecUnavailableError, match="AVIF"):
        baselines.measure_baseline("avif", crop, 50)
    assert "avif" not in baselines.available_codecs()


def test_metrics(crop: np.ndarray) -> None:
    from basic_codec.bench.metrics import ms_ssim, psnr

    assert psnr(crop, crop) == math.inf
    noisy = np.clip(crop.astype(np.int16) + 2, 0, 255).astype(np.uint8)
    assert 40 < psnr(crop, noisy) < 43
    pytest.importorskip("pytorch_msssim")
    big = np.tile(crop, (2, 1, 1))  # 272 px tall: enough for 5 scales
    assert ms_ssim(big, big) == pytest.approx(1.0, abs=1e-6)


def test_plots(tmp_path: Path, anchors: Path) -> None:
    pytest.importorskip("matplotlib")
    from basic_codec.bench.plots import plot_complexity, plot_decode_time, plot_rd

    curves = load_anchors(anchors)
    ours = Curve("ours-L0", "basic-codec L0", CURVE, published=False, ours=True)
    measured = Curve("measured/jpeg", "JPEG", [(b * 2, p) for b, p in CURVE], published=False)
    plot_rd([ours, measured, curves["vtm"], {"label": "dict curve", "points": CURVE}],
            tmp_path / "rd.png", "Kodak")
    pts = complexity_points(curves) + [
        {"label": "L0", "kmac_per_px": 1.0, "bd_rate": 40.0, "ours": True},
        {"label": "L3", "kmac_per_px": 20.0, "bd_rate": 15.0, "ours": True},
    ]
    plot_complexity(pts, tmp_path / "cx.png")
    plot_decode_time([{"label": "L0", "dec_s": 0.05, "enc_s": 0.08, "kmac_per_px": 1.0},
                      {"label": "L3", "dec_s": 0.2, "dec_s_std": 0.01}], tmp_path / "t.png")
    for name in ("rd.png", "cx.png", "t.png"):
        assert (tmp_path / name).stat().st_size > 10_000
