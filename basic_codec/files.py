"""File-level coding: one file (what `compress IN OUT` does) or many at once with a process pool.

Each output is written to a temporary file and renamed, so a failure never leaves half a file;
in a batch, one bad file is reported and the others still go through.
"""
from __future__ import annotations

import io
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from .errors import CodecError, InputError
from .progress import Progress

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".webp", ".gif"}
STDIO = "-"  # a path of "-" means standard input (for an input) or standard output (for an output)
LOSSY_SAVE = {"JPEG": {"quality": 95}, "WEBP": {"quality": 95}, "AVIF": {"quality": 95}}


def is_stdio(path: str | Path) -> bool:
    return str(path) == STDIO


def image_format(path: str | Path) -> str:
    """Pillow's format name for an output path, by extension ('-': PNG)."""
    if is_stdio(path):
        return "PNG"
    from PIL import Image

    ext = Path(path).suffix.lower()
    if ext == ".bsic":
        raise InputError(f"{path}: decompress writes an image; give the output an image extension (.png, .jpg, ...)")
    name = Image.registered_extensions().get(ext)
    if name is None or name not in Image.SAVE:
        raise InputError(f"cannot tell an image format Pillow writes from {Path(path).name!r}; "
                         "use .png, .jpg, .webp, .tiff, .bmp, ...")
    return name


ALPHA_FORMATS = {"PNG", "WEBP", "TIFF", "AVIF", "JPEG2000", "TGA"}


def encode_image(img, name: str) -> bytes:
    """A decoded image in Pillow format `name`, with its ICC profile, EXIF and XMP where the
    format can hold them; alpha dropped with a warning where it cannot."""
    import warnings

    from PIL import PngImagePlugin

    from .errors import CodecWarning

    if img.mode in ("RGBA", "LA") and name not in ALPHA_FORMATS:
        warnings.warn(f"{name} has no alpha channel: the alpha plane is dropped", CodecWarning)
        img = img.convert("RGB" if img.mode == "RGBA" else "L")
    kwargs = dict(LOSSY_SAVE.get(name, {}))
    for key in ("icc_profile", "exif"):
        if img.info.get(key):
            kwargs[key] = img.info[key]
    xmp = img.info.get("xmp")
    if xmp:
        if name == "PNG":
            info = PngImagePlugin.PngInfo()
            info.add_itxt("XML:com.adobe.xmp", xmp.decode("utf-8", "replace"))
            kwargs["pnginfo"] = info
        else:
            kwargs["xmp"] = xmp
    buf = io.BytesIO()
    img.save(buf, name, **kwargs)
    return buf.getvalue()


def write_output(path: str | Path, data: bytes) -> None:
    """Atomic file write, or all of it to standard output for '-'."""
    if is_stdio(path):
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        atomic_write_bytes(path, data)


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


def _umask() -> int:
    mask = os.umask(0)  # the only portable way to read it is to set it
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write to a temp file beside `path`, then rename: readers never see half a file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a normal file follows the umask
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def out_path(path: str | Path, force: bool) -> Path:
    p = Path(path)
    if is_stdio(path):
        return p
    if p.exists() and not force:
        raise InputError(f"{p} exists; pass --force to overwrite")
    if p.is_dir():
        raise InputError(f"{p} is a directory")
    if not p.parent.exists():
        raise InputError(f"output folder does not exist: {p.parent}")
    return p


def read_bytes(path: str | Path) -> bytes:
    if is_stdio(path):
        data = sys.stdin.buffer.read()
        if not data:
            raise InputError("nothing on standard input")
        return data
    p = Path(path)
    if not p.is_file():
        raise InputError(f"no such file: {p}")
    return p.read_bytes()


def compress_file(codec, src: str | Path, dst: str | Path, quality: float, level: int | None = None,
                  budget: float | None = None, enc_budget: float | None = None, force: bool = False,
                  image=None, progress: bool | None = False, effort: int = 0) -> Done:
    """`image`: the Picture already read from src by the caller, so it is not read twice."""
    from .imageio import read_picture

    out = out_path(dst, force)
    pic = image or read_picture(src)
    r = codec.compress_report(pic, quality, level, budget, enc_budget, progress=progress, effort=effort)
    write_output(out, r.data)
    h, w = pic.rgb.shape[:2]
    lv = codec.levels[r.level]
    return Done(str(src), str(out), True,
                f"{src} -> {out}: {len(r.data)} bytes, {8 * len(r.data) / (h * w):.4f} bpp, level {r.level} "
                f"({lv.dec_kmac_per_px:.1f} kMAC/px decode), {r.seconds:.2f} s",
                0 if is_stdio(src) else Path(src).stat().st_size, len(r.data), h * w)


def decompress_file(codec, src: str | Path, dst: str | Path, force: bool = False,
                    data: bytes | None = None, progress: bool | None = False) -> Done:
    """`data`: the bytes of src already read by the caller, so they are not read twice."""
    out = out_path(dst, force)
    name = image_format(out)
    data = read_bytes(src) if data is None else data
    img = codec.decompress(data, progress=progress)
    encoded = encode_image(img, name)
    write_output(out, encoded)
    return Done(str(src), str(out), True, f"{src} -> {out}: {img.width}x{img.height} {img.mode}",
                len(data), len(encoded), img.width * img.height)


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
             weights: str | None, jobs: int | None, quiet: bool = False) -> list[Done]:
    """Code `files` into out_dir/<stem><suffix> with `jobs` processes (default: one per core)."""
    out = Path(out_dir)
    if not out.is_dir():
        raise InputError(f"output folder does not exist: {out}")
    cores = os.cpu_count() or 1
    jobs = max(1, min(jobs or cores, len(files)))
    threads = max(1, cores // jobs)
    bar = Progress(len(files), job, enabled=not quiet)
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
    if not quiet:
        print(f"{job}: {len(ok)} of {len(files)} files{bpp}, {time.perf_counter() - t0:.1f} s with {jobs} "
              f"process(es) x {threads} thread(s)" + (f"; {len(files) - len(ok)} failed" if len(ok) < len(files) else ""))
    return done
