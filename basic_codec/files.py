"""File-level coding: one file (what `compress IN OUT` does) or many at once with a process pool.

Each output is written to a temporary file and renamed, so a failure never leaves half a file;
in a batch, one bad file is reported and the others still go through.
"""
from __future__ import annotations

import io
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from .errors import CodecError, InputError
from .progress import Progress
from .weights import atomic_write_bytes

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".webp", ".gif"}
LOSSLESS_OUTPUTS = {".png": "PNG", ".bmp": "BMP", ".ppm": "PPM", ".tif": "TIFF", ".tiff": "TIFF"}


@dataclass
class Done:
    """What happened to one file."""

    source: str
    target: str
    ok: bool
    message: str
    in_bytes: int = 0
    out_bytes: int = 0
    pixels: int = 0


def out_path(path: str | Path, force: bool) -> Path:
    p = Path(path)
    if p.exists() and not force:
        raise InputError(f"{p} exists; pass --force to overwrite")
    if p.is_dir():
        raise InputError(f"{p} is a directory")
    if not p.parent.exists():
        raise InputError(f"output folder does not exist: {p.parent}")
    return p


def read_bytes(path: str | Path) -> bytes:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"no such file: {p}")
    return p.read_bytes()


def compress_file(codec, src: str | Path, dst: str | Path, quality: float, level: int | None = None,
                  budget: float | None = None, enc_budget: float | None = None, force: bool = False,
                  image: tuple | None = None) -> Done:
    """`image`: (array, mode) already read from src by the caller, so it is not read twice."""
    from .imageio import read_image

    out = out_path(dst, force)
    arr, mode = image or read_image(src)
    r = codec.compress_report(arr, quality, level, budget, enc_budget, mode=mode)
    atomic_write_bytes(out, r.data)
    h, w = arr.shape[:2]
    lv = codec.levels[r.level]
    return Done(str(src), str(out), True,
                f"{src} -> {out}: {len(r.data)} bytes, {8 * len(r.data) / (h * w):.4f} bpp, level {r.level} "
                f"({lv.dec_kmac_per_px:.1f} kMAC/px decode), {r.seconds:.2f} s",
                Path(src).stat().st_size, len(r.data), h * w)


def decompress_file(codec, src: str | Path, dst: str | Path, force: bool = False,
                    data: bytes | None = None) -> Done:
    """`data`: the bytes of src already read by the caller, so they are not read twice."""
    out = out_path(dst, force)
    name = LOSSLESS_OUTPUTS.get(out.suffix.lower())
    if name is None:
        raise InputError(f"output must be .png, .bmp, .ppm or .tiff (lossless), got {out.name}")
    data = read_bytes(src) if data is None else data
    img = codec.decompress(data)
    buf = io.BytesIO()
    img.save(buf, name)
    atomic_write_bytes(out, buf.getvalue())
    return Done(str(src), str(out), True, f"{src} -> {out}: {img.width}x{img.height} {img.mode}",
                len(data), len(buf.getvalue()), img.width * img.height)


def expand(inputs: list[str], extensions: set[str]) -> list[Path]:
    """Paths and folders (their files with the given extensions, sorted) -> files."""
    files: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            files += sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in extensions)
        elif p.is_file():
            files.append(p)
        else:
            raise InputError(f"no such file or folder: {p}")
    if not files:
        raise InputError("no input files")
    names = [f.stem for f in files]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise InputError(f"two inputs would write the same output name: {dup}")
    return files


# ---------------------------------------------------------------- process pool
_worker_codec = None


def _init_worker(weights: str | None, threads: int) -> None:
    global _worker_codec
    from .api import load

    _worker_codec = load(weights, threads=threads)


def _one(job: str, src: str, dst: str, options: dict) -> Done:
    try:
        if job == "compress":
            return compress_file(_worker_codec, src, dst, **options)
        return decompress_file(_worker_codec, src, dst, **options)
    except (CodecError, OSError, ValueError) as e:
        return Done(src, dst, False, f"{src}: {e}")


def run_many(job: str, files: list[Path], out_dir: str, suffix: str, options: dict,
             weights: str | None, jobs: int | None) -> list[Done]:
    """Code `files` into out_dir/<stem><suffix> with `jobs` processes (default: one per core)."""
    out = Path(out_dir)
    if not out.is_dir():
        raise InputError(f"output folder does not exist: {out}")
    cores = os.cpu_count() or 1
    jobs = max(1, min(jobs or cores, len(files)))
    threads = max(1, cores // jobs)
    bar = Progress(len(files), job)
    done: list[Done] = []
    t0 = time.perf_counter()
    if jobs == 1:
        _init_worker(weights, threads)
        for f in files:
            done.append(_one(job, str(f), str(out / (f.stem + suffix)), options))
            bar.update(1)
    else:
        with ProcessPoolExecutor(jobs, initializer=_init_worker, initargs=(weights, threads)) as pool:
            futures = [pool.submit(_one, job, str(f), str(out / (f.stem + suffix)), options) for f in files]
            for fut in as_completed(futures):
                done.append(fut.result())
                bar.update(1)
    ok = [d for d in done if d.ok]
    pixels = sum(d.pixels for d in ok)
    size = sum(d.out_bytes if job == "compress" else d.in_bytes for d in ok)
    bpp = f", {8 * size / pixels:.4f} bpp" if pixels else ""
    print(f"{job}: {len(ok)} of {len(files)} files{bpp}, {time.perf_counter() - t0:.1f} s with {jobs} "
          f"process(es) x {threads} thread(s)" + (f"; {len(files) - len(ok)} failed" if len(ok) < len(files) else ""))
    return done
