"""`bench --speed`: per level, encode/decode seconds split into network and entropy coding.

All levels are timed in one run on one image (median of `repeats`), so the ratios between
levels are meaningful even on a noisy machine; absolute seconds are this machine's only.
"""
from __future__ import annotations

import statistics
import time

import numpy as np
import torch

from .. import tile_coding, tiling
from ..api import Codec
from ..entropy import ans
from ..progress import Progress


def _timed(fn) -> tuple[float, float]:
    """-> (wall seconds, seconds spent inside the entropy coder) of one call."""
    ans.CODING.reset()
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0, ans.CODING.seconds


def measure_speed(codec: Codec, img: np.ndarray, quality: float = 0.5, repeats: int = 5) -> list[dict]:
    bar = Progress(len(codec.levels), "speed")
    rows = []
    for lv in codec.levels:
        data = codec.compress(img, quality, level=lv.level)  # warm-up (and the bytes to decode)
        enc = [_timed(lambda: codec.compress(img, quality, level=lv.level)) for _ in range(repeats)]
        dec = [_timed(lambda: codec.decompress_array(data)) for _ in range(repeats)]
        enc_s, dec_s = statistics.median(t for t, _ in enc), statistics.median(t for t, _ in dec)
        enc_ec, dec_ec = statistics.median(e for _, e in enc), statistics.median(e for _, e in dec)
        rows.append({"level": lv.level, "dec_kmac_per_px": lv.dec_kmac_per_px, "enc_kmac_per_px": lv.enc_kmac_per_px,
                     "bytes": len(data), "enc_s": enc_s, "enc_entropy_s": enc_ec, "enc_network_s": enc_s - enc_ec,
                     "dec_s": dec_s, "dec_entropy_s": dec_ec, "dec_network_s": dec_s - dec_ec})
        bar.update(1)
    return rows


def coder_throughput(codec: Codec, img: np.ndarray, quality: float = 0.5, repeats: int = 5) -> dict:
    """Symbols/s of our y decoder (one read per partite step, one constriction call per scale
    index within it) against one constriction call per scale index over the whole latent, on
    the very same symbols, at the top level: what the partite steps cost the coder."""
    top = codec.levels[-1]
    x = tiling.pad_to_stride(torch.from_numpy(np.array(img)).permute(2, 0, 1)[None].float().div_(255.0))
    y = codec.model.analyse(x, quality, top.structure)
    win = tile_coding.alone(*y.shape[2:])
    z = tile_coding.hyper_analyse(codec.model, y, top.structure, [win], 1)
    chunks = tile_coding.symbols(codec.model, y, z, top.structure, [win], 1)[0][1]
    entropy = codec.model.y_entropy
    n = sum(len(s) for s, _ in chunks)
    data = entropy.encode(chunks)
    indices = [i for _, i in chunks]
    merged = (np.concatenate([s for s, _ in chunks]), np.concatenate(indices))
    data_one = entropy.encode([merged])

    def ours() -> None:
        reader = entropy.reader(data)
        for i in indices:
            reader.read(i)

    def direct() -> None:
        entropy.reader(data_one).read(merged[1])

    t_ours = statistics.median(_timed(ours)[0] for _ in range(repeats))
    t_direct = statistics.median(_timed(direct)[0] for _ in range(repeats))
    return {"symbols": n, "steps": len(chunks), "ours_sym_per_s": n / t_ours, "constriction_sym_per_s": n / t_direct}
