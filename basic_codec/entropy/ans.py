"""Thin wrapper over constriction's ANS coder: whole arrays per call, never a Python loop per symbol.

A stream is a list of chunks (arrays of symbols with their model parameters) that the decoder
will read back in the same order. ANS is a stack, so chunks are pushed in reverse.
"""
from __future__ import annotations

import functools
import time

import constriction
import numpy as np

from ..errors import FormatError

_coders: dict[tuple, object] = {}


class Stopwatch:
    """Seconds spent inside the coder since `reset`: lets `bench --speed` split a decode into
    network time and entropy-coding time without a second code path."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def reset(self) -> None:
        self.seconds = 0.0


CODING = Stopwatch()


def _clocked(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            CODING.seconds += time.perf_counter() - t0
    return wrapper


def gaussian_model(bound: int):
    key = ("g", bound)
    if key not in _coders:
        _coders[key] = constriction.stream.model.QuantizedGaussian(-bound, bound)
    return _coders[key]


def _categorical():
    key = ("c",)
    if key not in _coders:
        _coders[key] = constriction.stream.model.Categorical(perfect=False)
    return _coders[key]


def to_bytes(coder) -> bytes:
    return coder.get_compressed().astype("<u4").tobytes()


def from_bytes(data: bytes):
    if len(data) % 4:
        raise FormatError("corrupt stream: length is not a whole number of 32-bit words")
    words = np.frombuffer(data, dtype="<u4").astype(np.uint32)
    return constriction.stream.stack.AnsCoder(words)


@_clocked
def encode_gaussian_chunks(chunks: list[tuple[np.ndarray, np.ndarray]], bound: int) -> bytes:
    """chunks: (int32 symbols, float64 stds) in decoding order; zero-mean Gaussians."""
    coder = constriction.stream.stack.AnsCoder()
    model = gaussian_model(bound)
    for symbols, stds in reversed(chunks):
        if symbols.size:
            coder.encode_reverse(symbols.astype(np.int32), model, np.zeros_like(stds), stds)
    return to_bytes(coder)


class GaussianReader:
    """Decodes the chunks of a Gaussian stream one at a time, in order."""

    def __init__(self, data: bytes, bound: int) -> None:
        self.coder = from_bytes(data)
        self.model = gaussian_model(bound)

    @_clocked
    def read(self, stds: np.ndarray) -> np.ndarray:
        if stds.size == 0:
            return np.zeros(0, dtype=np.int32)
        try:
            return self.coder.decode(self.model, np.zeros_like(stds), stds)
        except Exception as e:  # constriction raises plain errors on exhausted/garbled input
            raise FormatError(f"corrupt y stream ({e})") from None


@_clocked
def encode_categorical(symbols: np.ndarray, probs: np.ndarray) -> bytes:
    """symbols (n,) in 0..L-1 with one probability row (n, L) each."""
    coder = constriction.stream.stack.AnsCoder()
    if symbols.size:
        coder.encode_reverse(symbols.astype(np.int32), _categorical(), probs)
    return to_bytes(coder)


@_clocked
def decode_categorical(data: bytes, probs: np.ndarray) -> np.ndarray:
    coder = from_bytes(data)
    if probs.shape[0] == 0:
        return np.zeros(0, dtype=np.int32)
    try:
        return coder.decode(_categorical(), probs)
    except Exception as e:
        raise FormatError(f"corrupt z stream ({e})") from None
