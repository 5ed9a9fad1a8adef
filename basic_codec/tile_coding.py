"""The exact entropy path over all the tiles of an image.

Each tile keeps its own z and y streams in the file (parallel decoding, bounded memory, damage
stays in a tile's symbols). Since format version 3 the coding distributions of a tile are the
ones one pass over the whole image gives: h_s reads the neighbours' z, and the context of
partite step k reads the neighbours' elements of steps < k. So a tile's border latents are
predicted as well as its middle (no seam from the entropy model, fewer bits), and the decoder
runs the partite steps in lockstep over the tiles: every tile's z first, then step 1 of every
tile, step 2, ... Within a step the tiles are independent and run side by side.

Everything here is exact integer arithmetic (ops/fixed_point.py), so a window of the whole
latent gives the very integers a whole pass would wherever the window covers the networks'
reach (tests/test_tile_coding.py checks it). Only z = round(h_a(y)) comes from a float
network; the encoder decides it (windowed like g_a, each window on one thread) and the decoder
reads it.

Version-2 files coded each tile's entropy model alone (zeros beyond its border): reach 0 here.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from .context import decode_steps
from .entropy import ans
from .errors import FormatError
from .format import TileCode
from .ops import fixed_point as fx
from .structure import Structure
from .tiling import Window, map_tiles
from .transforms import Y_STRIDE, Z_STRIDE

Y_PER_Z = Z_STRIDE // Y_STRIDE  # y positions per z position (4)
# How far each network reads past the positions it computes (checked by the tests: windowed =
# whole pass, and one less fails). h_a: a 3x3 and two 5x5 stride-2 convs, about +-7 y positions;
# h_s: two 5x5 stride-2 transposed convs and a 3x3, about +-2 z positions; the context: 5x5.
H_A_REACH = 2  # z positions
H_S_REACH = 2  # z positions
CONTEXT_REACH = 2  # y positions


@dataclass(frozen=True)
class Reach:
    """How far the entropy path of a tile looks into its neighbours (0: each tile alone)."""

    h_s: int = H_S_REACH
    context: int = CONTEXT_REACH


ALONE = Reach(0, 0)


def reach_for(version: int) -> Reach:
    """Version 2 coded each tile's entropy model alone; version 3 reads the neighbours."""
    return ALONE if version <= 2 else Reach()


def _extent(core: tuple[int, int, int, int], reach: int, height: int, width: int) -> tuple[int, int, int, int]:
    """core (top, left, h, w) grown by `reach` on every side, clipped to height x width."""
    top, left, h, w = core
    t, l = max(0, top - reach), max(0, left - reach)
    return t, l, min(height, top + h + reach) - t, min(width, left + w + reach) - l


def _window(t: torch.Tensor, core: tuple[int, int, int, int], reach: int):
    """t[..., window] for core grown by reach, and the slices of the core inside that window."""
    ey, ex, eh, ew = _extent(core, reach, *t.shape[2:])
    top, left, h, w = core
    return t[:, :, ey:ey + eh, ex:ex + ew], (slice(top - ey, top - ey + h), slice(left - ex, left - ex + w))


def alone(h: int, w: int) -> Window:
    """The window of a single tile of h x w latent positions."""
    return Window((0, 0, h, w), (0, 0, h, w))


def z_core(win: Window) -> tuple[int, int, int, int]:
    """A tile's core in z positions (tile cores lie on the z grid)."""
    return tuple(v // Y_PER_Z for v in win.core)


def hyper_analyse(model, y: torch.Tensor, s: Structure, wins: list[Window], workers: int,
                  reach: int = H_A_REACH) -> torch.Tensor:
    """z = h_a(y) of the whole latent (1, M, h, w), window by window, each on one thread (z
    decides symbols: the same input gives the same z whatever the thread count). A plain tensor
    (not an inference tensor): encoder effort writes refined tiles into it."""
    wha = s.widths(model.cfg)[1]
    z = torch.empty(1, model.cfg.hyper_channels, y.shape[2] // Y_PER_Z, y.shape[3] // Y_PER_Z)

    def one(win: Window) -> None:
        part, (iy, ix) = _window(y, win.core, reach * Y_PER_Z)
        zy, zx, zh, zw = z_core(win)
        with torch.inference_mode():
            part = model.h_a(part, wha)
        z[:, :, zy:zy + zh, zx:zx + zw] = part[:, :, iy.start // Y_PER_Z:iy.stop // Y_PER_Z,
                                                   ix.start // Y_PER_Z:ix.stop // Y_PER_Z]

    from .codec import one_thread

    with one_thread():
        map_tiles(one, wins, workers)
    return z


@dataclass
class _Tile:
    """One tile's state through the partite loop (the networks' inputs only while it runs)."""

    win: Window
    sym_map: torch.Tensor  # int32 (M, h, w) y symbols in place (for the checksum)
    hyper: torch.Tensor | None = None  # h_s features over the tile's core (int32: exact integers)
    pmap: torch.Tensor | None = None  # int8 (M, h, w) partite of each element
    window_pmap: torch.Tensor | None = None  # the same over the window its context reads
    done: int = 0  # partite steps decoded


def _hyper(model, zc: torch.Tensor, whs: int, win: Window, reach: int) -> torch.Tensor:
    """Exact h_s features of one tile's core from the whole z_hat (int64, 1, C, H/64, W/64)."""
    part, (iy, ix) = _window(zc, z_core(win), reach)
    feats = model.h_s(part, whs)
    return feats[:, :, iy.start * Y_PER_Z:iy.stop * Y_PER_Z, ix.start * Y_PER_Z:ix.stop * Y_PER_Z].clone()


def _grid_neighbours(wins: list[Window], reach: Reach) -> tuple[list[list[int]], list[int]]:
    """The tiles whose context reads each tile (the 8 around it; none at reach 0), and each
    tile's distance in tiles from tile 0."""
    rows = {top: r for r, top in enumerate(sorted({w.core[0] for w in wins}))}
    cols = {left: c for c, left in enumerate(sorted({w.core[1] for w in wins}))}
    rc = [(rows[w.core[0]], cols[w.core[1]]) for w in wins]
    index = {p: i for i, p in enumerate(rc)}
    around = [[index[(r + dr, c + dc)] for dr in (-1, 0, 1) for dc in (-1, 0, 1)
               if (dr or dc) and (r + dr, c + dc) in index] if reach.context else [] for r, c in rc]
    dist = [max(r, c) if reach.context else (0 if (r, c) == (0, 0) else len(wins) + 8) for r, c in rc]
    return around, dist


def _partite_loop(model, s: Structure, zc: torch.Tensor, wins: list[Window], reach: Reach, workers: int,
                  symbols_for: Callable[[int, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor],
                  finished: Callable[[int, _Tile], None] | None = None,
                  load_z: Callable[[list[int]], None] | None = None,
                  progress=None) -> tuple[torch.Tensor, list[_Tile]]:
    """The exact partite loop over all tiles, shared by encoder and decoder.

    zc: the whole z_hat as int64 on the 2^-10 grid (`load_z(tiles)` fills in those tiles' z
    before their h_s reads it, if given). `symbols_for(tile index, mask, mean, index)` returns
    the int64 symbols of one tile's step (the encoder computes them, the decoder reads them);
    `finished(tile index, tile)` runs as soon as a tile's last step is done (the decoder checks
    its checksum there). -> (the whole y_hat (int32 on the 2^-10 grid), each tile's state).

    A tile's step n may run once the tiles around it have done steps < n; its context reads
    only their partites < its own (masked), so neighbours that are ahead do not change it. The
    loop first finishes tile 0, the tiles around it only as far as it needs them, so a damaged
    or forged file fails on tile 0 after little work; then it runs every tile in rounds."""
    whs = s.widths(model.cfg)[2]
    m = model.cfg.latent_channels
    h, w = zc.shape[2] * Y_PER_Z, zc.shape[3] * Y_PER_Z
    y_hat = torch.zeros(1, m, h, w, dtype=torch.int32)  # exact: |y_hat| < 2^22 + 2^20 on the grid
    tiles = [_Tile(win, torch.zeros(m, *win.core[2:], dtype=torch.int32)) for win in wins]
    steps = sorted(decode_steps(model._partites(s, 2, 2)))  # every tile holds every 2x2 phase
    around, dist = _grid_neighbours(wins, reach)
    loaded: set[int] = set()

    def start(t: _Tile) -> None:
        ext = _extent(t.win.core, reach.context, h, w)  # window origins are even: same 2x2 phase
        # held for every tile while the rounds run: the features fit int32 exactly (|a| < 2^22),
        # partites int8 (K <= 8): a quarter of the memory of int64
        t.hyper = _hyper(model, zc, whs, t.win, reach.h_s).to(torch.int32)
        t.pmap = model._partites(s, *t.win.core[2:]).to(torch.int8)
        t.window_pmap = model._partites(s, *ext[2:]).to(torch.int8)

    def context(t: _Tile) -> torch.Tensor:
        """Context features of the tile's next step. Tiles around it may be writing their own
        step into y_hat meanwhile, but only partites >= this one's, which the mask drops."""
        if t.done == 0:
            return model.context.context(None, t.hyper.long())
        part, (iy, ix) = _window(y_hat, t.win.core, reach.context)
        part = torch.where(t.window_pmap[None] < steps[t.done], part, 0).long()
        return model.context.context_conv(part)[:, :, iy, ix]

    def step(i: int) -> None:
        t = tiles[i]
        mask = t.pmap == steps[t.done]
        mean, raw = model.context.params(t.hyper.long(), context(t))
        if bool(mask.any()):
            mu = mean[0][mask]
            sym = symbols_for(i, mask, mu, model.y_entropy.index(raw[0][mask]))
            cy, cx, ch, cw = t.win.core
            y_hat[0, :, cy:cy + ch, cx:cx + cw][mask] = ((sym << fx.ACT_BITS) + mu).to(torch.int32)
            t.sym_map[mask] = sym.to(torch.int32)
        t.done += 1
        if t.done == len(steps):
            t.hyper = t.pmap = t.window_pmap = None
            if finished is not None:
                finished(i, t)
            if progress is not None:
                progress.update(1)

    for target in ([max(0, len(steps) - d) for d in dist], [len(steps)] * len(tiles)):
        while True:
            ready = [i for i, t in enumerate(tiles)
                     if t.done < target[i] and all(tiles[j].done >= t.done for j in around[i])]
            if not ready:
                break
            new = [i for i in ready if tiles[i].hyper is None]
            if load_z is not None:  # h_s of a tile reads the z of the tiles around it
                need = sorted({j for i in new for j in [i, *around[i]] if reach.h_s or j == i} - loaded)
                load_z(need)
                loaded.update(need)
            map_tiles(start, [tiles[i] for i in new], workers)
            map_tiles(step, ready, workers)
    return y_hat, tiles


def checksum(z_sym: np.ndarray, sym_map: torch.Tensor) -> int:
    """CRC32 of a tile's z symbols and of its y symbols in place (a decoder that put the right
    symbols in the wrong places, e.g. under another K, fails it too)."""
    return zlib.crc32(sym_map.numpy().tobytes(), zlib.crc32(z_sym.astype(np.int32).tobytes()))


def _z_rows(model, n: int) -> np.ndarray:
    """The z coding table's row of each of n z symbols of a tile, channel-major."""
    return np.repeat(model.z_pmf.cpu().numpy(), n // model.cfg.hyper_channels, axis=0)


@torch.inference_mode()
def symbols(model, y: torch.Tensor, z: torch.Tensor, s: Structure, wins: list[Window], workers: int,
            reach: Reach = Reach()) -> list[tuple[np.ndarray, list, int]]:
    """The network half of encoding: the whole y and z (float) -> per tile (z symbols,
    (y symbols, table indices) per partite step, CRC32)."""
    cfg = model.cfg
    zc = torch.round(z).clamp_(-cfg.z_bound, cfg.z_bound)

    chunks: list[list] = [[] for _ in wins]

    def symbols_for(i, mask, mean, index):
        cy, cx, ch, cw = wins[i].core
        y_tile = y[0, :, cy:cy + ch, cx:cx + cw]
        sym = torch.round(y_tile[mask] - fx.to_float(mean)).clamp_(-cfg.symbol_bound, cfg.symbol_bound).long()
        chunks[i].append((sym.to(torch.int32).numpy(), index.numpy()))
        return sym

    _, tiles = _partite_loop(model, s, fx.to_fixed(zc), wins, reach, workers, symbols_for)
    out = []
    for t, c in zip(tiles, chunks):
        zy, zx, zh, zw = z_core(t.win)
        z_sym = (zc[0, :, zy:zy + zh, zx:zx + zw].reshape(-1) + cfg.z_bound).to(torch.int32).numpy()
        out.append((z_sym, c, checksum(z_sym, t.sym_map)))
    return out


def encode(model, y: torch.Tensor, z: torch.Tensor, s: Structure, wins: list[Window], workers: int,
           progress=None, reach: Reach = Reach()) -> list[tuple[TileCode, float]]:
    """The whole y and z -> per tile (coded tile, ideal bits under the coding distributions)."""
    coded = symbols(model, y, z, s, wins, workers, reach)

    def one(item) -> tuple[TileCode, float]:
        z_sym, chunks, crc = item
        rows = _z_rows(model, len(z_sym))
        z_bytes = ans.encode_categorical(z_sym, rows)
        y_bytes = model.y_entropy.encode(chunks)
        est = float(-np.log2(rows[np.arange(len(z_sym)), z_sym] / rows.sum(1)).sum())
        est += sum(model.y_entropy.code_length(sym, idx) for sym, idx in chunks)
        return TileCode(z_bytes, y_bytes, crc), est

    return map_tiles(one, coded, workers, progress)


@torch.inference_mode()
def decode(model, codes: list[TileCode], s: Structure, wins: list[Window], reach: Reach, workers: int,
           progress=None) -> tuple[torch.Tensor, list[tuple[np.ndarray, torch.Tensor]]]:
    """Every tile's streams -> (the whole y_hat (int32 on the 2^-10 grid), per tile (z symbols,
    y symbol map)). Raises FormatError, naming the tile, when a stream is damaged or a tile's
    symbols fail the file's checksum."""
    cfg = model.cfg
    lh = max(w.core[0] + w.core[2] for w in wins)
    lw = max(w.core[1] + w.core[3] for w in wins)
    zc = torch.zeros(1, cfg.hyper_channels, lh // Y_PER_Z, lw // Y_PER_Z, dtype=torch.int64)

    def tile_error(i: int, message: str) -> FormatError:
        return FormatError(f"{message} in tile {i}" if len(codes) > 1 else message)

    def in_tile(i: int, fn: Callable):
        try:
            return fn()
        except FormatError as e:
            raise tile_error(i, str(e)) from None

    z_syms: list[np.ndarray | None] = [None] * len(codes)
    readers = [model.y_entropy.reader(code.y) for code in codes]

    def read_z(i: int) -> None:
        zy, zx, zh, zw = z_core(wins[i])
        rows = _z_rows(model, cfg.hyper_channels * zh * zw)
        z_syms[i] = in_tile(i, lambda: ans.decode_categorical(codes[i].z, rows)).astype(np.int32)
        z = torch.from_numpy(z_syms[i].astype(np.int64) - cfg.z_bound).reshape(-1, zh, zw)
        zc[0, :, zy:zy + zh, zx:zx + zw] = fx.to_fixed(z)

    def load_z(need: list[int]) -> None:
        map_tiles(read_z, need, workers)

    def symbols_for(i, mask, mean, index):
        return torch.from_numpy(in_tile(i, lambda: readers[i].read(index.numpy()))).long()

    def finished(i: int, t: _Tile) -> None:
        in_tile(i, readers[i].finish)
        if checksum(z_syms[i], t.sym_map) != codes[i].checksum:
            raise tile_error(i, "decoded symbols do not match the file's checksum (corrupt data)")

    y_hat, tiles = _partite_loop(model, s, zc, wins, reach, workers, symbols_for, finished, load_z, progress)
    return y_hat, [(z, t.sym_map[None]) for z, t in zip(z_syms, tiles)]
