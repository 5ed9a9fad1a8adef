"""Thin wrapper over constriction's ANS coder: whole arrays per call, never a Python loop per symbol.

A stream is a list of chunks (arrays of symbols with their model parameters) that the decoder
will read back in the same order. ANS is a stack, so chunks are pushed in reverse.
"""
from __future__ import annotations

import functools
import threading
import time

import constriction
import numpy as np

from ..errors import FormatError

_coders: dict[tuple, object] = {}


class Stopwatch:
    """Seconds spent inside the coder since `reset`: lets `bench --speed` split a decode into
    network time and entropy-coding time without a second code path. Tiles are coded on
    several threads at once, so additions hold a lock."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self.seconds = 0.0

    def add(self, seconds: float) -> None:
        with self._lock:
            self.seconds += seconds


CODING = Stopwatch()


def _clocked(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            CODING.add(time.perf_counter() - t0)
    return wrapper


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


def categorical_model(probs: np.ndarray):
    """A fixed categorical model over 0..len(probs)-1 (probabilities as exact dyadic floats)."""
    return constriction.stream.model.Categorical(probs, perfect=False)


def _groups(index: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions sorted by model index (stable), each index present and where its run starts."""
    order = np.argsort(index, kind="stable")
    values, starts = np.unique(index[order], return_index=True)
    return order, values, np.append(starts, len(index))


@_clocked
def encode_indexed(chunks: list[tuple[np.ndarray, np.ndarray]], models: tuple) -> bytes:
    """chunks: (symbols, model indices) in decoding order. Within a chunk the symbols are coded
    grouped by model (one constriction call per model), in a order the decoder rebuilds from
    the indices alone."""
    coder = constriction.stream.stack.AnsCoder()
    for symbols, index in reversed(chunks):
        order, values, starts = _groups(index)
        for g in reversed(range(len(values))):
            part = symbols[order[starts[g]:starts[g + 1]]].astype(np.int32)
            coder.encode_reverse(part, models[values[g]])
    return to_bytes(coder)


class IndexedReader:
    """Decodes the chunks of an `encode_indexed` stream one at a time, in order."""

    def __init__(self, data: bytes, models: tuple) -> None:
        self.coder = from_bytes(data)
        self.models = models

    @_clocked
    def read(self, index: np.ndarray) -> np.ndarray:
        if len(index) and self.coder.is_empty():
            # every coded symbol leaves information in the state (no pmf entry is 1), so a valid
            # stream never runs dry before its last symbol: damaged or forged data stops here,
            # not after the whole image has been decoded (constriction would go on reading zeros)
            raise FormatError("corrupt y stream (it ends before its last symbol)")
        out = np.zeros(len(index), dtype=np.int32)
        order, values, starts = _groups(index)
        try:
            for g in range(len(values)):
                n = int(starts[g + 1] - starts[g])
                out[order[starts[g]:starts[g + 1]]] = self.coder.decode(self.models[values[g]], n)
        except Exception as e:  # constriction raises plain errors on exhausted/garbled input
            raise FormatError(f"corrupt y stream ({e})") from None
        return out

    def finish(self) -> None:
        if not self.coder.is_empty():
            raise FormatError("corrupt y stream (data after its last symbol)")


@_clocked
def encode_categorical(symbols: np.ndarray, probs: np.ndarray) -> bytes:
    """symbols (n,) in 0..L-1 with one probability row (n, L) each."""
    coder = constriction.stream.stack.AnsCoder()
    if symbols.size:
        coder.encode_reverse(symbols.astype(np.int32), _categorical(), probs)
    return to_bytes(coder)


@_clocked
def decode_categorical(data: bytes, probs: np.ndarray) -> np.ndarray:
    """The symbols of an `encode_categorical` stream; the stream must hold exactly them (see
    IndexedReader.read: a valid stream is not empty before its last symbol, and empty after)."""
    coder = from_bytes(data)
    if probs.shape[0] == 0:
        return np.zeros(0, dtype=np.int32)
    try:
        head = coder.decode(_categorical(), probs[:-1]) if len(probs) > 1 else np.zeros(0, np.int32)
        if coder.is_empty():
            raise FormatError("corrupt z stream (it ends before its last symbol)")
        last = coder.decode(_categorical(), probs[-1:])
    except FormatError:
        raise
    except Exception as e:
        raise FormatError(f"corrupt z stream ({e})") from None
    if not coder.is_empty():
        raise FormatError("corrupt z stream (data after its last symbol)")
    return np.concatenate([head, last]).astype(np.int32)
