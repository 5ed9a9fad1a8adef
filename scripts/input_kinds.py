#!/usr/bin/env python
"""Run every kind of input a user has through the CLI and write docs/ROBUSTNESS.md.

Each input file is made here, then `python -m basic_codec compress IN OUT.bsic --weights W` and,
when that worked, `python -m basic_codec decompress OUT.bsic OUT.png --weights W` run as child
processes. The table says what the CLI did (exit code and its one-line message, or the decoded
size and mode) and whether that is the decided behaviour; the peak RSS of each child comes from
os.wait4. A large synthetic image (--large-mp megapixels) measures the memory of a big job.

    python scripts/input_kinds.py                       # shipped weights -> docs/ROBUSTNESS.md
    python scripts/input_kinds.py --weights /tmp/tiny.safetensors --large-mp 1 --out /tmp/R.md

Exit status 1 if any input did not behave as decided (the report marks it), 2 on a usage error.
"""
from __future__ import annotations

import argparse
import datetime as dt
import io
import math
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, features

from basic_codec.bench.synthetic import png16, png_header


def weights_id(path: Path) -> str:
    """The model id that the coded files carry, so the report says which weights made it."""
    from basic_codec.weights import load_weights, model_id
    return model_id(load_weights(path)[0]).hex()

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_WEIGHTS = ROOT / "basic_codec" / "pretrained" / "basic-m.safetensors"
PREFIX = "basic-codec: error: "


# ----------------------------------------------------------------------------- making inputs

def gradient(h: int, w: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = 128 + 100 * np.sin(xx / 23 + yy / 41)
    g = 255 * yy / max(h - 1, 1)
    b = 255 * xx / max(w - 1, 1)
    return np.clip(np.stack([r, g, b], -1), 0, 255).astype(np.uint8)


def _save(img: Image.Image, fmt_name: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt_name, **kw)
    return buf.getvalue()


@dataclass
class Kind:
    name: str  # what a user would call it
    file: str  # file name (its extension tells Pillow the format)
    data: bytes
    expect: tuple | str  # (width, height, mode) decoded, or a fragment of the refusal message


PORTABILITY_START, PORTABILITY_END = "<!-- portability:start -->", "<!-- portability:end -->"


def input_kinds() -> list[Kind]:
    rgb = Image.fromarray(gradient(48, 64))
    gray = rgb.convert("L")
    pal = rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=32)
    exif = Image.Exif()
    exif[0x0112] = 6
    ramp16 = (np.arange(48 * 64).reshape(48, 64) * 21).astype(np.uint16)
    rgb16 = np.stack([ramp16, ramp16[::-1], np.full_like(ramp16, 40000)], -1)
    anim = [Image.new("RGB", (64, 48), c) for c in ((200, 30, 30), (30, 30, 200))]
    buf = io.BytesIO()
    anim[0].save(buf, "GIF", save_all=True, append_images=anim[1:], duration=100)
    jpeg = _save(rgb, "JPEG", quality=90)
    kinds = [
        Kind("RGB PNG (8-bit)", "rgb.png", _save(rgb, "PNG"), (64, 48, "RGB")),
        Kind("RGB JPEG", "rgb.jpg", jpeg, (64, 48, "RGB")),
        Kind("grayscale PNG (L)", "gray.png", _save(gray, "PNG"), (64, 48, "L")),
        Kind("grayscale JPEG", "gray.jpg", _save(gray, "JPEG", quality=90), (64, 48, "L")),
        Kind("1-bit PNG (mode 1)", "bilevel.png", _save(gray.convert("1"), "PNG"), (64, 48, "L")),
        Kind("16-bit grayscale PNG (I;16)", "gray16.png", png16(ramp16), (64, 48, "L")),
        Kind("16-bit RGB PNG (48 bpp)", "rgb16.png", png16(rgb16), (64, 48, "RGB")),
        Kind("palette PNG (P)", "palette.png", _save(pal, "PNG"), (64, 48, "RGB")),
        Kind("palette PNG with transparency (P + tRNS)", "palette_t.png", _save(pal, "PNG", transparency=0),
             (64, 48, "RGBA")),
        Kind("GIF with transparency", "t.gif", _save(pal, "GIF", transparency=0), (64, 48, "RGBA")),
        Kind("animated GIF (2 frames)", "anim.gif", buf.getvalue(), (64, 48, "RGB")),
        Kind("RGBA PNG", "rgba.png", _save(rgb.convert("RGBA"), "PNG"), (64, 48, "RGBA")),
        Kind("grayscale + alpha PNG (LA)", "la.png", _save(gray.convert("LA"), "PNG"), (64, 48, "LA")),
        Kind("CMYK JPEG", "cmyk.jpg", _save(rgb.convert("CMYK"), "JPEG", quality=90), (64, 48, "RGB")),
        Kind("JPEG with EXIF orientation 6 (stored 64x48)", "exif6.jpg",
             _save(rgb, "JPEG", quality=90, exif=exif.tobytes()), (48, 64, "RGB")),
        Kind("TIFF (RGB)", "rgb.tif", _save(rgb, "TIFF"), (64, 48, "RGB")),
        Kind("BMP", "rgb.bmp", _save(rgb, "BMP"), (64, 48, "RGB")),
        Kind("PPM", "rgb.ppm", _save(rgb, "PPM"), (64, 48, "RGB")),
        Kind("32-bit float TIFF (F)", "float.tif", _save(Image.fromarray(np.zeros((8, 8), np.float32)), "TIFF"),
             "floating-point images are not supported"),
        Kind("32-bit integer TIFF (I)", "int32.tif",
             _save(Image.fromarray((np.arange(64, dtype=np.int32) * 1000).reshape(8, 8)), "TIFF"), (8, 8, "L")),
        Kind("1x1 pixel", "1x1.png", _save(Image.new("RGB", (1, 1), (9, 99, 199)), "PNG"), (1, 1, "RGB")),
        Kind("15x17 pixels", "15x17.png", _save(Image.fromarray(gradient(17, 15)), "PNG"), (15, 17, "RGB")),
        Kind("odd size 129x67", "129x67.png", _save(Image.fromarray(gradient(67, 129)), "PNG"), (129, 67, "RGB")),
        Kind("very wide 8192x64", "wide.png", _save(Image.fromarray(gradient(64, 8192)), "PNG"), (8192, 64, "RGB")),
        Kind("very tall 64x8192", "tall.png", _save(Image.fromarray(gradient(8192, 64)), "PNG"), (64, 8192, "RGB")),
        Kind("declares 20000x14000 (280 MP)", "huge.png", png_header(20000, 14000), "too large"),
        Kind("declares 70000x1 (side over 65535)", "long.png", png_header(70000, 1), "outside 1..65535 per side"),
        Kind("truncated JPEG", "trunc.jpg", jpeg[: len(jpeg) // 2], "cannot read image"),
        Kind("empty file", "empty.png", b"", "empty file"),
        Kind("text file named .png", "text.png", b"hello, world\n", "not an image file"),
    ]
    if features.check("webp"):
        kinds.insert(7, Kind("WebP (lossless)", "rgb.webp", _save(rgb, "WEBP", lossless=True), (64, 48, "RGB")))
    return kinds


# ----------------------------------------------------------------------------- running the CLI

@dataclass
class Run:
    code: int
    out: str
    err: str
    seconds: float
    peak_rss_mb: float


def run_cli(args: list[str], timeout: float) -> Run:
    """`python -m basic_codec ARGS` as a child; its own peak RSS from os.wait4."""
    with tempfile.TemporaryFile() as fo, tempfile.TemporaryFile() as fe:
        t0 = time.perf_counter()
        p = subprocess.Popen([sys.executable, "-m", "basic_codec", *args], stdout=fo, stderr=fe, cwd=ROOT)
        while True:
            pid, status, usage = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - t0 > timeout:
                p.send_signal(signal.SIGKILL)
                pid, status, usage = os.wait4(p.pid, 0)
                break
            time.sleep(0.02)
        seconds = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        fo.seek(0)
        fe.seek(0)
        return Run(p.returncode, fo.read().decode(errors="replace"), fe.read().decode(errors="replace"),
                   seconds, usage.ru_maxrss / 1024)


def one_line(r: Run) -> str:
    text = r.err.strip() or r.out.strip()
    first = text.splitlines()[-1] if "Traceback" in text else (text.splitlines() or [""])[0]
    return first[len(PREFIX):] if first.startswith(PREFIX) else first


def well_behaved(r: Run) -> bool:
    """The CLI's contract: exit 0, or exit 2 with exactly one line on stderr and no traceback."""
    if r.code == 0:
        return True
    return r.code == 2 and "Traceback" not in r.err and r.err.count("\n") == 1 and r.err.startswith(PREFIX)


def md(s: str) -> str:
    s = s.replace(TMP_PREFIX[0], "") if TMP_PREFIX[0] else s  # temp folder names say nothing
    return s.replace("|", "\\|").replace("\n", " ")


TMP_PREFIX = [""]


def expected_text(k: Kind) -> str:
    return f"{k.expect[0]}x{k.expect[1]} {k.expect[2]}" if isinstance(k.expect, tuple) else f"refused: \u201c{k.expect}\u201d"


# ----------------------------------------------------------------------------- the large image

def large_image(path: Path, mp: float) -> tuple[int, int]:
    """A smooth synthetic 3:2 image of about `mp` megapixels, written as a fast PNG."""
    w = int(round(math.sqrt(mp * 1e6 * 1.5)))
    h = int(round(w / 1.5))
    arr = np.empty((h, w, 3), np.uint8)
    xx = np.arange(w, dtype=np.float32)
    for y0 in range(0, h, 256):  # in bands: the parent's memory is not what is being measured
        yy = np.arange(y0, min(h, y0 + 256), dtype=np.float32)[:, None]
        arr[y0:y0 + len(yy), :, 0] = np.clip(128 + 90 * np.sin(xx / 310 + yy / 170), 0, 255)
        arr[y0:y0 + len(yy), :, 1] = np.clip(255 * yy / h + 0 * xx, 0, 255)
        arr[y0:y0 + len(yy), :, 2] = np.clip(128 + 90 * np.cos(xx / 520 - yy / 260), 0, 255)
    Image.fromarray(arr).save(path, "PNG", compress_level=1)
    return w, h


def machine() -> list[str]:
    import PIL
    import torch

    mem = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f", {int(line.split()[1]) / 2**20:.1f} GiB RAM"
    except OSError:
        pass
    from basic_codec.bench.run import cpu_name

    cpu = cpu_name()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return [f"- machine: {platform.platform()}, {cpu}, {os.cpu_count()} CPUs ({usable} usable){mem}",
            f"- software: Python {platform.python_version()}, torch {torch.__version__}, Pillow {PIL.__version__}, "
            f"numpy {np.__version__}"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights", default=str(DEFAULT_WEIGHTS), help="weights .safetensors (default: the shipped weights)")
    ap.add_argument("--out", default=str(ROOT / "docs" / "ROBUSTNESS.md"), help="markdown report to write")
    ap.add_argument("--large-mp", type=float, default=24.0, help="megapixels of the large image (0: skip)")
    ap.add_argument("--quality", type=float, default=0.5)
    ap.add_argument("--level", type=int, help="level for every compress (default: the CLI's, the highest)")
    ap.add_argument("--threads", type=int, help="--threads for every child (default: the CLI's, all cores)")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per child process")
    ap.add_argument("--only", help="only the input kinds whose name contains this (a quick look; no report check)")
    args = ap.parse_args(argv)

    weights = Path(args.weights)
    if not weights.is_file():
        print(f"input_kinds: weights not found: {weights}\n"
              "  the shipped weights are made by training (see README); pass --weights PATH to use others",
              file=sys.stderr)
        return 2
    out = Path(args.out)
    if not out.parent.is_dir():
        print(f"input_kinds: output folder does not exist: {out.parent}", file=sys.stderr)
        return 2

    common = ["--weights", str(weights)] + (["--threads", str(args.threads)] if args.threads else [])
    comp_extra = ["-q", str(args.quality)] + (["--level", str(args.level)] if args.level is not None else [])

    rows, bad = [], []
    with tempfile.TemporaryDirectory(prefix="input_kinds_") as tmpdir:
        tmp = Path(tmpdir)
        TMP_PREFIX[0] = f"{tmp}{os.sep}"
        for k in input_kinds():
            if args.only and args.only.lower() not in k.name.lower():
                continue
            result, _, ok, rss = try_kind_cli(k, tmp, common, comp_extra, args.timeout)
            rows.append(f"| {md(k.name)} | `{k.file}` | {result} | {expected_text(k)} | {rss:.0f} | "
                        f"{'yes' if ok else '**NO**'} |")
            print(f"{'ok ' if ok else 'BAD'} {k.name}: {result}", flush=True)
            if not ok:
                bad.append(k.name)

        # corrupt .bsic files through `decompress`
        good = tmp / "rgb.png.bsic"
        dec_rows = []
        if good.exists():
            data = good.read_bytes()
            flip = bytearray(data)
            flip[len(flip) // 2] ^= 0x10
            for name, blob, frag in [("truncated .bsic (half)", data[: len(data) // 2], "truncated"),
                                     ("one bit flipped in the payload", bytes(flip), "CRC mismatch"),
                                     ("unknown version", data[:4] + b"\x07" + data[5:], "unsupported .bsic version"),
                                     ("not a .bsic (a PNG renamed)", (tmp / "rgb.png").read_bytes(), "bad magic")]:
                p = tmp / "bad.bsic"
                p.write_bytes(blob)
                r = run_cli(["decompress", str(p), str(tmp / "bad.out.png"), *common], args.timeout)
                ok = well_behaved(r) and r.code == 2 and frag in r.err
                dec_rows.append(f"| {name} | exit {r.code}: {md(one_line(r))} | {'yes' if ok else '**NO**'} |")
                print(f"{'ok ' if ok else 'BAD'} {name}: exit {r.code}: {one_line(r)}", flush=True)
                if not ok:
                    bad.append(name)

        large = []
        if args.large_mp > 0:
            src = tmp / "large.png"
            w, h = large_image(src, args.large_mp)
            bsic, png = tmp / "large.bsic", tmp / "large.out.png"
            c = run_cli(["compress", str(src), str(bsic), *common, *comp_extra], args.timeout)
            d = run_cli(["decompress", str(bsic), str(png), *common], args.timeout) if c.code == 0 else None
            print(f"large {w}x{h}: compress exit {c.code} {c.seconds:.1f} s {c.peak_rss_mb:.0f} MB"
                  + (f"; decompress exit {d.code} {d.seconds:.1f} s {d.peak_rss_mb:.0f} MB" if d else ""), flush=True)
            # memory only: this script may run beside other work, so its wall times are not reported
            # (docs/RESULTS.md has 12 MP times from scripts/large_image.py, measured alone)
            large = [f"Synthetic smooth {w}x{h} image ({w * h / 1e6:.1f} MP), PNG in, PNG out, "
                     f"peak RSS of the child process (`os.wait4`):", "",
                     "| step | exit | peak RSS (MB) | note |", "|---|---|---|---|",
                     f"| compress | {c.code} | {c.peak_rss_mb:.0f} | "
                     + (f"{bsic.stat().st_size} bytes, {8 * bsic.stat().st_size / (w * h):.4f} bpp |"
                        if c.code == 0 else f"{md(one_line(c))} |")]
            if d is not None:
                large.append(f"| decompress | {d.code} | {d.peak_rss_mb:.0f} | "
                             + ("" if d.code == 0 else md(one_line(d))) + " |")
            if c.code != 0 or (d is not None and d.code != 0):
                bad.append("large image")
            base = run_cli(["--help"], args.timeout)
            large += ["", f"For scale: `python -m basic_codec --help` alone peaks at {base.peak_rss_mb:.0f} MB "
                          "(interpreter and imports)."]

    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = ["# Robustness: what the CLI does with every kind of input", "",
             f"Made by `scripts/input_kinds.py` on {now}.", "",
             *machine(),
             f"- weights: `{weights.name}` (model {weights_id(weights)}), quality {args.quality}, "
             f"level {args.level if args.level is not None else 'default (highest)'}"
             + (f", {args.threads} threads" if args.threads else ""), "",
             "Decided behaviour: grayscale (L, 1-bit, 16-bit, 32-bit integer) is coded as grayscale and decodes "
             "to L (16-bit with a warning: coded at 8 bits); palette, CMYK and other colour modes become RGB; "
             "anything with alpha (RGBA, LA, a palette with transparency) keeps its alpha plane, coded "
             "losslessly, and decodes to RGBA (LA for grayscale); EXIF orientation is applied before coding; "
             "animated images code their first frame, with a warning; sizes are 1..65535 per side and at "
             "most 256 MP, checked from the file header before any pixel is decoded. Every refusal is one "
             "line on stderr and exit code 2.", "",
             "## `compress` then `decompress`", "",
             "| input kind | file | what the CLI does | decided | peak RSS (MB) | as decided |",
             "|---|---|---|---|---|---|", *rows, ""]
    if dec_rows:
        lines += ["## `decompress` on damaged files", "", "| file | what the CLI does | as decided |",
                  "|---|---|---|", *dec_rows, "",
                  "Beyond these, `tests/test_fuzz.py` decodes several hundred damaged files per run (CRC "
                  "recomputed or not) and checks each ends in a `CodecError` or a valid image, fast and in "
                  "bounded memory.", ""]
    if large:
        lines += ["## Memory on a large image", "", *large, ""]
    lines += ["## Through the Python API", "",
              "Arrays are HxW (grayscale), HxWx3 or HxWx4 (alpha kept): `uint8`, float in [0, 1], or "
              "`uint16` (coded at 8 bits, with a warning); int and bool arrays are refused with "
              "`InputError`. PIL images, paths and file bytes get the same EXIF orientation as the CLI. "
              "See `tests/test_inputs.py` and `tests/test_everyday.py`.", ""]
    if bad:
        lines += [f"**Not as decided:** {', '.join(bad)}.", ""]
    kept = ""  # scripts/portability.py's section of the same file
    if out.exists() and PORTABILITY_START in out.read_text():
        text = out.read_text()
        kept = text[text.index(PORTABILITY_START):text.index(PORTABILITY_END) + len(PORTABILITY_END)]
    out.write_text("\n".join(lines) + ("\n" + kept + "\n" if kept else ""))
    print(f"wrote {out}" + (f"; {len(bad)} not as decided: {', '.join(bad)}" if bad else ""))
    return 1 if bad else 0


def try_kind_cli(k: Kind, tmp: Path, common: list[str], comp_extra: list[str], timeout: float):
    src, bsic, png = tmp / k.file, tmp / (k.file + ".bsic"), tmp / (k.file + ".out.png")
    src.write_bytes(k.data)
    c = run_cli(["compress", str(src), str(bsic), *common, *comp_extra], timeout)
    if c.code != 0:
        ok = well_behaved(c) and isinstance(k.expect, str) and k.expect in c.err
        return f"exit {c.code}: {md(one_line(c))}", "refused", ok, c.peak_rss_mb
    d = run_cli(["decompress", str(bsic), str(png), *common], timeout)
    rss = max(c.peak_rss_mb, d.peak_rss_mb)
    if d.code != 0:
        return f"compress ok; decompress exit {d.code}: {md(one_line(d))}", "decoded", False, rss
    with Image.open(png) as img:
        size, mode = img.size, img.mode
    nbytes = bsic.stat().st_size
    ok = isinstance(k.expect, tuple) and (size[0], size[1], mode) == k.expect
    return (f"exit 0: {size[0]}x{size[1]} {mode} ({nbytes} bytes, {8 * nbytes / (size[0] * size[1]):.3f} bpp)",
            "decoded", ok, rss)


if __name__ == "__main__":
    sys.exit(main())
