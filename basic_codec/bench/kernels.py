"""Kernel settings a file must survive: oneDNN on/off and 1/2 threads, on the encoder and the
decoder side. PyTorch's CPU kernels differ in summation order between these settings, as they
do between CPUs and torch versions; a file coded under one and decoded under another checks
that nothing that decides the symbols depends on them."""
from __future__ import annotations

import contextlib
import hashlib
import warnings
from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class KernelSetting:
    onednn: bool
    threads: int

    def __str__(self) -> str:
        return f"oneDNN {'on' if self.onednn else 'off'}, {self.threads} thread{'s' * (self.threads > 1)}"

    @contextlib.contextmanager
    def active(self):
        old = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            with warnings.catch_warnings():  # flags() warns about TF32 on Intel GPUs, beside the point here
                warnings.simplefilter("ignore", UserWarning)
                flags = torch.backends.mkldnn.flags(enabled=self.onednn)
                flags.__enter__()
            try:
                yield
            finally:
                flags.__exit__(None, None, None)
        finally:
            torch.set_num_threads(old)


ON2, OFF1, ON1, OFF2 = KernelSetting(True, 2), KernelSetting(False, 1), KernelSetting(True, 1), KernelSetting(False, 2)
# (encoder's setting, decoder's setting): both directions of oneDNN, with the thread count changed too.
CROSSINGS: tuple[tuple[KernelSetting, KernelSetting], ...] = ((ON2, OFF1), (OFF1, ON2), (ON1, OFF2), (OFF2, ON1))


def symbols_sha256(tiles: list[tuple[np.ndarray, np.ndarray]]) -> str:
    """SHA-256 over every tile's z symbols then y symbol map (`Codec.decompress_symbols`), as
    little-endian int32: what must come out the same on every machine."""
    h = hashlib.sha256()
    for z, y in tiles:
        h.update(z.astype("<i4").tobytes())
        h.update(y.astype("<i4").tobytes())
    return h.hexdigest()


def cross_code(codec, img: np.ndarray, quality: float, level: int, enc: KernelSetting,
               dec: KernelSetting) -> str | None:
    """Code under `enc` (and decode there for reference), decode under `dec`: None when the
    decode works and its pixels are within one level of the reference, else what went wrong."""
    with enc.active():
        data = codec.compress(img, quality, level=level)
        ref = np.asarray(codec.decompress(data))
    try:
        with dec.active():
            out = np.asarray(codec.decompress(data))
    except Exception as e:  # noqa: BLE001 - every failure is reported, whatever it is
        return f"{enc} -> {dec}: {e}"
    diff = int(np.abs(out.astype(int) - ref).max())
    return None if diff <= 1 else f"{enc} -> {dec}: pixels differ by {diff} levels"
