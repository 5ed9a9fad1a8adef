"""Python API: `codec = basic_codec.load()`, `codec.compress(image, ...)`, `codec.decompress(data)`."""
from __future__ import annotations

import io
import numbers
import operator
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from . import format as fmt
from . import tile_coding, tiling
from .codec import BasicModel, one_thread
from .effort import MAX_EFFORT, expected_seconds, refine
from .effort import plan as effort_plan
from .ops import fixed_point as fx
from .progress import Progress
from .errors import FormatError, InputError, ModelMismatchError
from .imageio import Picture, picture
from .metadata import WeightsMeta
from .structure import Level, Structure, pick_level
from .weights import load_weights, model_id


@dataclass
class EncodeReport:
    """What one compress call produced and what it cost."""

    data: bytes
    level: int
    structure: Structure
    quality: float
    est_payload_bits: float  # sum of -log2 p(symbol) under the coding distributions
    payload_bytes: int
    header_bytes: int
    seconds: float


class Codec:
    """A loaded model with its level table. Not thread-safe; use one per thread or process."""

    def __init__(self, model: BasicModel, levels: list[Level], meta: WeightsMeta | None = None) -> None:
        self.model = model.eval()
        self.cfg = model.cfg
        self.levels = levels
        self.meta = meta or WeightsMeta()
        self.model_id = model_id(model)

    # ------------------------------------------------------------------ choosing a structure
    def resolve(self, level: int | None = None, budget: float | None = None,
                enc_budget: float | None = None) -> Level:
        if level is not None and (budget is not None or enc_budget is not None):
            raise InputError("give either a level or a budget, not both")
        if level is not None:
            if not (isinstance(level, numbers.Integral) and not isinstance(level, bool)
                    and 0 <= int(level) < len(self.levels)):
                raise InputError(f"level must be an integer in 0..{len(self.levels) - 1}, got {level!r}")
            return self.levels[int(level)]
        for name, value in (("budget", budget), ("enc_budget", enc_budget)):
            if value is not None and (not isinstance(value, numbers.Real) or isinstance(value, bool)):
                raise InputError(f"{name} must be a number (kMAC per pixel), got {value!r}")
        budget = None if budget is None else float(budget)
        enc_budget = None if enc_budget is None else float(enc_budget)
        if budget is None and enc_budget is None:
            return self.levels[-1]
        try:
            return pick_level(self.levels, budget, enc_budget)
        except ValueError as e:
            raise InputError(str(e)) from None

    # ------------------------------------------------------------------ coding
    def compress(self, image, quality: float = 0.5, level: int | None = None,
                 budget: float | None = None, enc_budget: float | None = None, effort: int = 0) -> bytes:
        """image: a PIL image, an HxW / HxWx3 / HxWx4 array (uint8, or float in [0, 1]), a path,
        or the bytes of an image file. Alpha, ICC profile, EXIF and XMP are kept in the file.
        effort 0..9: encoder-side refinement of the latents (0: one pass; each step up about
        doubles the encode time); the decoder is the same at every effort."""
        return self.compress_report(image, quality, level, budget, enc_budget, effort=effort).data

    def compress_report(self, image, quality: float = 0.5, level: int | None = None,
                        budget: float | None = None, enc_budget: float | None = None,
                        mode: str | None = None, progress: bool | None = None, effort: int = 0) -> EncodeReport:
        """progress: a bar on stderr (default: on a terminal, for images of several tiles or a
        refinement of more than a couple of seconds)."""
        t0 = time.perf_counter()
        pic = image if isinstance(image, Picture) else picture(image)
        arr = pic.rgb
        mode = mode or pic.mode
        if (mode in ("RGBA", "LA")) != (pic.alpha is not None):
            raise InputError(f"mode {mode} does not match the image (alpha plane {'present' if pic.alpha is not None else 'absent'})")
        try:
            q16 = fmt.quantize_quality(quality)
        except ValueError as e:
            raise InputError(str(e)) from None
        lv = self.resolve(level, budget, enc_budget)
        h, w = arr.shape[:2]
        try:
            fmt.check_size(h, w)
        except FormatError as e:
            raise InputError(str(e)) from None
        try:
            refinement = effort_plan(operator.index(effort) if not isinstance(effort, bool) else -1)
        except (TypeError, ValueError):
            raise InputError(f"effort must be an integer in 0..{MAX_EFFORT}, got {effort!r}") from None
        q = q16 / 65535
        s = lv.structure
        x = tiling.pad_to_stride(torch.from_numpy(arr.copy()).permute(2, 0, 1)[None].float().div_(255.0))
        grid = tiling.windows(*x.shape[2:], self.cfg.tile_size)
        steps = refinement.iterations if refinement else 0
        slow = refinement is not None and expected_seconds(int(effort), h * w) > 2
        show = bool(progress) if progress is not None else (tiling.show_progress(len(grid), None)
                                                             or (slow and sys.stderr.isatty()))
        bar = Progress(len(grid) * (2 + steps), "encode", enabled=show)
        y = tiling.analyse(self.model, x, q, s, self.cfg.tile_size, bar)
        workers = torch.get_num_threads()
        if len(grid) > 1:
            tiling.release_freed_memory()
        z = tile_coding.hyper_analyse(self.model, y, s, grid, workers)
        if refinement:  # each tile on its own, on one thread (seeded: the same bytes every time)
            def refine_tile(win: tiling.Window) -> None:
                cy, cx, ch, cw = win.core
                L = tiling.LATENT
                x_tile = x[:, :, cy * L:(cy + ch) * L, cx * L:(cx + cw) * L]
                valid = (min(ch * L, h - cy * L), min(cw * L, w - cx * L))  # the image inside the padding
                y_tile, z_tile = refine(self.model, x_tile, y[:, :, cy:cy + ch, cx:cx + cw], q, s, refinement, bar, valid)
                zy, zx, zh, zw = tile_coding.z_core(win)
                y[:, :, cy:cy + ch, cx:cx + cw] = y_tile
                z[:, :, zy:zy + zh, zx:zx + zw] = z_tile

            with one_thread():
                tiling.map_tiles(refine_tile, grid, workers)
        with one_thread():  # tiles side by side, each on one thread
            codes = tile_coding.encode(self.model, y, z, s, grid, workers, bar)
        tiles = [tile for tile, _ in codes]
        est = sum(bits for _, bits in codes)
        f = fmt.BsicFile(self.model_id, h, w, mode, q16, lv.level, (*s.indices, s.partites),
                         self.cfg.tile_size, tiles, chunks=metadata_chunks(pic))
        data = fmt.pack(f)
        return EncodeReport(data, lv.level, s, q, est, f.payload_bytes(), f.header_bytes(),
                            time.perf_counter() - t0)

    def decompress(self, data, progress: bool | None = None) -> Image.Image:
        """data: the bytes of a .bsic file (or its path). -> PIL image in the mode it was coded
        from (RGB, L, RGBA, LA), with its ICC profile, EXIF and XMP in `img.info`."""
        arr, f = self._decode(_bytes_of(data), progress)
        img = Image.fromarray(arr, "RGB")
        if f.mode in ("L", "LA"):
            img = img.convert("L")
        if fmt.ALPHA in f.chunks:
            img.putalpha(_alpha_plane(f.chunks[fmt.ALPHA], img.size))
        for tag, key in ((fmt.ICC, "icc_profile"), (fmt.EXIF, "exif"), (fmt.XMP, "xmp")):
            if tag in f.chunks:
                img.info[key] = f.chunks[tag]
        return img

    def _open(self, data: bytes) -> tuple[fmt.BsicFile, Structure]:
        """Parse and check a file against the loaded model -> (file, structure)."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise InputError(f"expected bytes, got {type(data).__name__}")
        f = fmt.unpack(bytes(data))
        if f.model_id != self.model_id:
            raise ModelMismatchError(
                f"file was written by model {f.model_id.hex()}, but the loaded weights are "
                f"{self.model_id.hex()}: decode it with the weights that wrote it")
        s = Structure(*f.structure)
        try:
            s.validate(self.cfg)
        except ValueError as e:
            raise FormatError(f"invalid structure in file: {e}") from None
        if f.tile_size != self.cfg.tile_size:
            raise FormatError(f"tile size {f.tile_size} differs from the model's {self.cfg.tile_size}")
        for i, t in enumerate(f.tiles):
            for name, stream in (("z", t.z), ("y", t.y)):
                # constriction raises a bare ValueError on this; it is a corrupt file.
                if stream[-4:] == b"\0\0\0\0":
                    raise FormatError(f"corrupt {name} stream in tile {i}: ANS data never ends in a zero word")
        return f, s

    def decompress_array(self, data: bytes, progress: bool | None = None) -> tuple[np.ndarray, str]:
        """-> (H x W x 3 uint8 colour planes, mode the image was coded from)."""
        arr, f = self._decode(_bytes_of(data), progress)
        return arr, f.mode

    def _decode(self, data: bytes, progress: bool | None) -> tuple[np.ndarray, fmt.BsicFile]:
        """The colour planes and the parsed file (parsed and CRC-checked once)."""
        f, s = self._open(data)
        h64, w64 = tiling.ceil_to_stride(f.height), tiling.ceil_to_stride(f.width)
        grid = tiling.windows(h64, w64, self.cfg.tile_size)
        bar = Progress(2 * len(grid), "decode", enabled=tiling.show_progress(len(grid), progress))
        workers = torch.get_num_threads()
        with one_thread():  # exact integer work: tiles side by side, any thread count gives the same symbols
            y_hat = tile_coding.decode(self.model, f.tiles, s, grid, tile_coding.reach_for(f.version), workers, bar)[0]
        y_hat = fx.to_float(y_hat)
        if len(grid) > 1:
            tiling.release_freed_memory()
        out = np.empty((f.height, f.width, 3), dtype=np.uint8)
        tiling.synthesise(self.model, y_hat, f.quality, s, self.cfg.tile_size, out, bar)
        return out, f

    def decompress_symbols(self, data: bytes) -> list[tuple[np.ndarray, np.ndarray]]:
        """Every tile's decoded symbols, (z symbols, y symbol map (M, h, w)), without synthesis:
        the part of decoding that is exact on every machine (golden-file tests compare it)."""
        f, s = self._open(data)
        grid = tiling.windows(tiling.ceil_to_stride(f.height), tiling.ceil_to_stride(f.width), self.cfg.tile_size)
        tiles = tile_coding.decode(self.model, f.tiles, s, grid, tile_coding.reach_for(f.version), 1)[1]
        return [(z_sym, sym_map[0].numpy()) for z_sym, sym_map in tiles]

    def describe_levels(self) -> list[dict]:
        """The level table for people: widths as channel counts per edge, K as partites."""
        return [describe_level(lv, self.cfg) for lv in self.levels]


EDGES = ("g_a", "h_a", "h_s", "g_s")


def describe_level(lv: Level, cfg) -> dict:
    """One level as `levels --json` and `info` print it."""
    d = lv.to_dict()  # the stored form, with the width indices turned into channel counts
    del d["width_indices"]
    return {"level": d.pop("level"), "widths": dict(zip(EDGES, lv.structure.widths(cfg))), **d}


def metadata_chunks(pic: Picture) -> dict[bytes, bytes]:
    """The container's optional chunks for what the picture carries (alpha as a lossless PNG)."""
    chunks: dict[bytes, bytes] = {}
    for tag, value in ((fmt.ICC, pic.icc), (fmt.EXIF, pic.exif), (fmt.XMP, pic.xmp)):
        if value:
            chunks[tag] = bytes(value)
    if pic.alpha is not None:
        buf = io.BytesIO()
        Image.fromarray(pic.alpha, "L").save(buf, "PNG", optimize=True)
        chunks[fmt.ALPHA] = buf.getvalue()
    return chunks


def _alpha_plane(data: bytes, size: tuple[int, int]) -> Image.Image:
    try:
        with Image.open(io.BytesIO(data)) as a:
            a.load()
            plane = a.convert("L") if a.mode != "L" else a.copy()
    except Exception as e:  # noqa: BLE001 - any failure here is a corrupt chunk
        raise FormatError(f"corrupt alpha chunk ({e})") from None
    if plane.size != size:
        raise FormatError(f"alpha chunk is {plane.size[0]}x{plane.size[1]}, the image {size[0]}x{size[1]}")
    return plane


def _bytes_of(data) -> bytes:
    """A .bsic file's bytes from bytes-like data or a path."""
    if isinstance(data, (str, Path)):
        p = Path(data)
        if not p.is_file():
            raise InputError(f"no such file: {p}")
        return p.read_bytes()
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InputError(f"expected bytes or a path, got {type(data).__name__}")
    return bytes(data)


def load(weights: str | Path | None = None, threads: int | None = None) -> Codec:
    """Load shipped (or given) `.safetensors` weights into a ready-to-use Codec."""
    if threads is not None:
        if threads < 1:
            raise InputError("threads must be >= 1")
        torch.set_num_threads(threads)
    model, levels, meta = load_weights(weights)
    return Codec(model, levels, meta)
