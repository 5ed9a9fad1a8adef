"""Large images: independent entropy-coded tiles, seamless transforms.

The file keeps independently coded tiles (parallel decoding, bounded memory, damage stays in a
tile). The transforms do not stop at tile borders: g_a runs over overlapping windows of the
whole (padded) image and g_s over overlapping windows of the whole decoded latent, each window
a tile plus a margin wider than the transform's receptive field, and only each window's centre
is kept. So the latent and the picture are what one pass over the whole image would give (up to
float rounding), and no tile border shows; the bits are the same as tile-by-tile coding (the
entropy coding is still per tile, nothing is sent twice).
"""
from __future__ import annotations

import math
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .progress import Progress
from .transforms import Y_STRIDE, Z_STRIDE

STRIDE = Z_STRIDE  # total stride of the BayesNet: images are padded to a multiple of it
LATENT = Y_STRIDE  # pixels per latent position
# Reach: g_a sees about +-30 px, g_s about +-2 latent positions (its four 5x5 transposed convs
# at stride 2). A window margin of 4 latent positions (64 px) keeps every kept pixel clear of the
# window's own border (tests/test_seams.py: windowed = one pass; a margin of 1 fails it).
MARGIN = 4  # latent positions


@dataclass(frozen=True)
class Window:
    """A tile (core) and the window around it, in latent positions: (top, left, height, width)."""

    core: tuple[int, int, int, int]
    ext: tuple[int, int, int, int]

    def inner(self) -> tuple[slice, slice]:
        """Where the core lies inside the window."""
        (cy, cx, ch, cw), (ey, ex, _, _) = self.core, self.ext
        return slice(cy - ey, cy - ey + ch), slice(cx - ex, cx - ex + cw)


def ceil_to_stride(n: int) -> int:
    return max(STRIDE, math.ceil(n / STRIDE) * STRIDE)


def pad_to_stride(x: torch.Tensor) -> torch.Tensor:
    """Replicate-pad (1, C, H, W) to multiples of STRIDE (64)."""
    h, w = x.shape[2:]
    ph, pw = ceil_to_stride(h) - h, ceil_to_stride(w) - w
    return F.pad(x, (0, pw, 0, ph), mode="replicate") if ph or pw else x


def tile_grid(h: int, w: int, tile: int) -> list[tuple[int, int, int, int]]:
    """Tiles of an h x w image in raster order: (top, left, height, width) in pixels."""
    return [(y0, x0, min(tile, h - y0), min(tile, w - x0)) for y0 in range(0, h, tile) for x0 in range(0, w, tile)]


def windows(h64: int, w64: int, tile: int, margin: int = MARGIN) -> list[Window]:
    """The tiles of a padded h64 x w64 image, in latent positions, each with its window."""
    lh, lw, lt = h64 // LATENT, w64 // LATENT, tile // LATENT
    out = []
    for y0, x0, th, tw in tile_grid(lh, lw, lt):
        ey, ex = max(0, y0 - margin), max(0, x0 - margin)
        ey1, ex1 = min(lh, y0 + th + margin), min(lw, x0 + tw + margin)
        out.append(Window((y0, x0, th, tw), (ey, ex, ey1 - ey, ex1 - ex)))
    return out


def release_freed_memory() -> None:
    """Hand memory that worker threads freed back to the system between the phases of a large
    image (glibc keeps it in per-thread arenas, where the next phase cannot reuse it: on a
    large decode the peak drops by hundreds of MB). A no-op where there is no glibc."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def map_tiles(fn, items: list, workers: int, progress: Progress | None = None) -> list:
    """fn over items in order, on up to `workers` threads (torch releases the GIL). The workers
    run in the caller's grad and inference mode (PyTorch keeps both per thread)."""
    inference, grad = torch.is_inference_mode_enabled(), torch.is_grad_enabled()

    def run(item):
        with torch.inference_mode(inference), torch.set_grad_enabled(grad):
            out = fn(item)
        if progress is not None:
            progress.update(1)
        return out

    if workers <= 1 or len(items) <= 1:
        return [run(i) for i in items]
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(run, items))


def show_progress(n_tiles: int, progress: bool | None) -> bool:
    """Progress bars: when asked, or by default on a terminal for images of several tiles."""
    return bool(progress) if progress is not None else (n_tiles > 1 and sys.stderr.isatty())


def analyse(model, x: torch.Tensor, q: float, s, tile: int, progress: Progress | None = None) -> torch.Tensor:
    """Seamless g_a of a padded image x (1, 3, H64, W64) -> y (1, M, H64/16, W64/16)."""
    h64, w64 = x.shape[2:]
    wins = windows(h64, w64, tile)
    y = torch.empty(1, model.cfg.latent_channels, h64 // LATENT, w64 // LATENT)

    def one(win: Window) -> None:
        ey, ex, eh, ew = win.ext
        part = model.analyse(x[:, :, ey * LATENT:(ey + eh) * LATENT, ex * LATENT:(ex + ew) * LATENT], q, s)
        cy, cx, ch, cw = win.core
        iy, ix = win.inner()
        y[:, :, cy:cy + ch, cx:cx + cw] = part[:, :, iy, ix]

    from .codec import one_thread

    workers = torch.get_num_threads()
    with one_thread():  # windows side by side, each on one thread (set once for all of them)
        map_tiles(one, wins, workers, progress)
    return y


def synthesise(model, y_hat: torch.Tensor, q: float, s, tile: int, out: np.ndarray,
               progress: Progress | None = None) -> None:
    """Seamless g_s of the whole decoded latent (float, 1, M, h, w) into `out` (H x W x 3 uint8,
    the unpadded image), window by window."""
    h, w = out.shape[:2]
    wins = windows(y_hat.shape[2] * LATENT, y_hat.shape[3] * LATENT, tile)

    def one(win: Window) -> None:
        ey, ex, eh, ew = win.ext
        x_hat = model.synthesise(y_hat[:, :, ey:ey + eh, ex:ex + ew], q, s)
        iy, ix = win.inner()
        core = x_hat[0, :, iy.start * LATENT:iy.stop * LATENT, ix.start * LATENT:ix.stop * LATENT]
        cy, cx, ch, cw = (v * LATENT for v in win.core)
        ch, cw = min(ch, h - cy), min(cw, w - cx)
        if ch > 0 and cw > 0:
            out[cy:cy + ch, cx:cx + cw] = core[:, :ch, :cw].mul(255.0).round_().to(torch.uint8).permute(1, 2, 0).numpy()

    # g_s is float and may use every core: windows one after another, each on all threads
    map_tiles(one, wins, 1, progress)
