"""Load published Kodak rate-distortion anchors into one uniform shape.

The anchor files come from several projects in several formats (CompressAI result JSON, the C3
baselines dict, Cool-chic per-image TSV, MLIC and ShiftLIC JSON). Benchmarks and plots only need
(bpp, PSNR) curves plus, where known, decoder complexity, so everything is normalised to
:class:`Curve` here and nowhere else.
"""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Curve", "load_anchors", "load_compressai_json", "complexity_points"]

_COMPRESSAI_RE = re.compile(
    r"^compressai-(?P<model>.+?)_(?P<metric>mse|ms-ssim)_(?P<dev>cpu|cuda)$"
)


@dataclass
class Curve:
    """One rate-distortion curve.

    ``points`` are (bpp, PSNR over RGB) pairs sorted by bpp. ``kmac_per_px`` is the decoder's
    cost in thousands of multiply-accumulates per pixel when known (the upper end of
    ``kmac_range`` when the source gives a range, e.g. models whose size changes with the rate).
    ``published`` separates figures read from files from curves we measured; ``ours`` marks
    basic-codec's own curves (plots draw them solid).
    """

    name: str
    label: str
    points: list[tuple[float, float]]
    source: str = ""
    kmac_per_px: float | None = None
    kmac_range: tuple[float, float] | None = None
    published: bool = True
    ours: bool = False
    notes: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.points = sorted((float(b), float(p)) for b, p in self.points)

    def below(self, max_bpp: float) -> "Curve":
        """The same curve keeping only points with bpp < ``max_bpp`` (low-rate BD figures)."""
        pts = [(b, p) for b, p in self.points if b < max_bpp]
        return Curve(self.name, self.label, pts, self.source, self.kmac_per_px, self.kmac_range,
                     self.published, self.ours, dict(self.notes))


def _label_for_kodak(stem: str, name: str) -> str:
    m = _COMPRESSAI_RE.match(stem)
    if m:
        label = f"{m['model']} (CompressAI)"
        if m["metric"] == "ms-ssim":
            label += " [MS-SSIM-trained]"
        if m["dev"] == "cuda":
            label += " [cuda]"
        return label
    if stem.startswith("paper-"):
        return f"{stem[len('paper-'):].removesuffix('_mse')} (paper)"
    return {"vtm": "VTM", "hm": "HM", "av1": "AV1", "bpg_444_x265_ycbcr": "BPG 4:4:4",
            "jpeg": "JPEG", "jpeg2000": "JPEG 2000", "webp": "WebP"}.get(stem, name or stem)


def load_compressai_json(path: str | Path) -> Curve:
    """Read one CompressAI ``results`` file; raises ValueError if it has no PSNR column."""
    path = Path(path)
    data = json.loads(path.read_text())
    res = data.get("results", data)
    bpp = res.get("bpp")
    psnr = res.get("psnr-rgb", res.get("psnr"))
    if bpp is None or psnr is None:
        raise ValueError(f"{path}: no bpp/psnr-rgb columns (keys: {sorted(res)})")
    if len(bpp) != len(psnr):
        raise ValueError(f"{path}: {len(bpp)} bpp values but {len(psnr)} PSNR values")
    stem = path.stem
    return Curve(stem, _label_for_kodak(stem, str(data.get("name", ""))), list(zip(bpp, psnr)),
                 source=str(path), notes={"description": str(data.get("description", ""))})


def _skip_by_default(stem: str) -> bool:
    # MS-SSIM-trained models are not competing on PSNR; _cuda files repeat the _cpu figures.
    return "ms-ssim" in stem or stem.endswith("_cuda")


def _load_kodak_dir(d: Path, include_all: bool, prefix: str = "") -> dict[str, Curve]:
    out: dict[str, Curve] = {}
    for path in sorted(d.glob("*.json")):
        if not include_all and _skip_by_default(path.stem):
            continue
        try:
            curve = load_compressai_json(path)
        except ValueError:
            continue  # e.g. paper-*_ms-ssim.json only report MS-SSIM
        curve.name = prefix + curve.name
        out[curve.name] = curve
    return out


def _load_c3(path: Path) -> dict[str, Curve]:
    out: dict[str, Curve] = {}
    for name, entry in json.loads(path.read_text()).items():
        meta = entry.get("meta", {})
        macs = meta.get("macs_per_pixel")
        krange = (macs["min"] / 1e3, macs["max"] / 1e3) if macs else None
        key = "c3/" + name.lower().replace(" ", "-").replace("(", "").replace(")", "")
        out[key] = Curve(
            key, f"{name} (C3 table)", list(zip(entry["bpp"], entry["psnr"])), source=str(path),
            kmac_per_px=krange[1] if krange else None, kmac_range=krange,
            notes={k: str(v) for k, v in meta.items() if k != "macs_per_pixel"},
        )
    return out


def _load_coolchic_tsv(path: Path) -> Curve:
    """Mean bpp and mean per-image PSNR per lambda (the convention of every other anchor here)."""
    rows: dict[float, list[tuple[float, float]]] = defaultdict(list)
    with path.open() as f:
        for row in csv.DictReader(f, delimiter="\t"):
            rows[float(row["lmbda"])].append((float(row["rate_bpp"]), float(row["psnr_db"])))
    pts = [(sum(b for b, _ in v) / len(v), sum(p for _, p in v) / len(v)) for v in rows.values()]
    return Curve("coolchic-v5.0", "Cool-chic v5.0", pts, source=str(path),
                 kmac_per_px=2.0, kmac_range=(2.0, 2.0),
                 notes={"kmac_per_px": "about 2000 MAC/pixel, per the anchors README",
                        "images_per_lambda": ",".join(str(len(v)) for v in rows.values())})


def _load_plain_json(path: Path) -> dict[str, Curve]:
    """Files that are either {bpp, psnr} (MLIC) or {variant: {bpp, psnr, ...}} (ShiftLIC)."""
    data = json.loads(path.read_text())
    base = path.stem.removeprefix("kodak-").removesuffix("_mse").removesuffix("_kodak")
    base = base.replace("plusplus", "++").replace("plus", "+")
    label = base.upper() if base.startswith("mlic") else base.replace("shiftlic", "ShiftLIC")
    if "bpp" in data:
        return {base: Curve(base, label, list(zip(data["bpp"], data["psnr"])), source=str(path))}
    return {
        f"{base}-{variant}": Curve(f"{base}-{variant}", f"{label} {variant}",
                                   list(zip(entry["bpp"], entry["psnr"])), source=str(path))
        for variant, entry in data.items()
    }


def default_dir() -> Path:
    """../shared/anchors beside the project checkout (where the published results live)."""
    return Path(__file__).resolve().parents[3] / "shared" / "anchors"


def load_anchors(anchors_dir: str | Path, include_all: bool = False) -> dict[str, Curve]:
    """Every parseable published curve under ``anchors_dir``, keyed by a short name.

    Keys: ``kodak/*.json`` by file stem (``"vtm"``, ``"compressai-mbt2018_mse_cpu"``,
    ``"paper-elic2022_mse"``...); ``other/`` files as ``"c3/<entry>"``, ``"coolchic-v5.0"``,
    ``"mlic"``, ``"mlic+"``, ``"mlic++"``, ``"shiftlic-small"``... By default MS-SSIM-trained
    and duplicate ``_cuda`` CompressAI files are skipped; ``include_all=True`` also loads them and
    ``kodak/8bit-decoded/`` (keys prefixed ``"8bit/"``). Files with no PSNR are always skipped.
    """
    root = Path(anchors_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"anchors directory not found: {root}")
    curves: dict[str, Curve] = {}
    kodak = root / "kodak"
    if kodak.is_dir():
        curves.update(_load_kodak_dir(kodak, include_all))
        if include_all and (kodak / "8bit-decoded").is_dir():
            curves.update(_load_kodak_dir(kodak / "8bit-decoded", True, prefix="8bit/"))
    other = root / "other"
    if (other / "c3_kodak_baselines.json").is_file():
        curves.update(_load_c3(other / "c3_kodak_baselines.json"))
    if other.is_dir():
        for tsv in sorted(other.glob("coolchic*.tsv")):
            cc = _load_coolchic_tsv(tsv)
            curves[cc.name] = cc
        for path in sorted(other.glob("*mlic*.json")) + sorted(other.glob("shiftlic*.json")):
            curves.update(_load_plain_json(path))
    if "vtm" not in curves:
        raise FileNotFoundError(f"{root}: kodak/vtm.json (the BD-rate reference) is missing")
    return curves


def complexity_points(curves: dict[str, Curve], reference: str = "vtm") -> list[dict]:
    """BD-rate vs ``reference`` for every curve with a known decoder complexity.

    Returns dicts in the shape :func:`basic_codec.bench.plots.plot_complexity` takes. Curves the
    Bjontegaard fit rejects (too few points, no PSNR overlap) are left out.
    """
    from .bdrate import bd_rate

    ref = curves[reference].points
    out = []
    for c in curves.values():
        if c.kmac_per_px is None:
            continue
        try:
            bd = bd_rate(ref, c.points)
        except ValueError:
            continue
        out.append({"label": c.label, "kmac_per_px": c.kmac_per_px, "kmac_range": c.kmac_range,
                    "bd_rate": bd, "ours": c.ours})
    return out
