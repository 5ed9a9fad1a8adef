"""The parts of a training run that are not the model: the learning-rate plan, the spike guard,
the checkpoint clock and the run log. Each is small, has its own test (tests/test_train_parts.py)
and knows nothing of the others; `loop.train` wires them together."""
from __future__ import annotations

import json
import math
import signal
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import torch


def lr_at(step: int, peak: float, steps: int, warmup: int, floor: float) -> float:
    """Linear warm-up to `peak` over `warmup` steps, then cosine decay to `floor` at `steps`."""
    if step < warmup:
        return peak * (step + 1) / warmup
    t = min(1.0, (step - warmup) / max(1, steps - warmup))
    return floor + 0.5 * (peak - floor) * (1 + math.cos(math.pi * t))


def set_lr(optimizer: torch.optim.Optimizer, lr: float, peak: float) -> None:
    """Set every parameter group to `lr` scaled by its own peak (a group's "peak" key) / `peak`."""
    for g in optimizer.param_groups:
        g["lr"] = lr * g.get("peak", peak) / peak


@dataclass
class SpikeGuard:
    """Skips steps whose loss is not finite or above `factor` x its running mean: one bad step
    of a wide structure can otherwise wreck the shared weights (docs/TRAINING.md, run s2). When
    `limit` of the last `window` steps were skipped the run is diverging: roll back."""

    factor: float = 10.0
    window: int = 50
    limit: int = 10
    decay: float = 0.98  # of the running mean
    mean: float | None = None  # running mean of accepted losses (saved in checkpoints as "ema")
    skipped: int = 0
    recent: deque = field(default_factory=deque)

    def __post_init__(self) -> None:
        self.recent = deque(self.recent, maxlen=self.window)

    def is_spike(self, loss: float) -> bool:
        """Record one step's loss; True: skip this step (nothing is learned from it)."""
        spike = not math.isfinite(loss) or (self.mean is not None and loss > self.factor * self.mean)
        if not spike:
            self.mean = loss if self.mean is None else self.decay * self.mean + (1 - self.decay) * loss
        self.skipped += spike
        self.recent.append(spike)
        return spike

    @property
    def diverging(self) -> bool:
        return sum(self.recent) >= self.limit

    @property
    def healthy(self) -> bool:
        """No skipped step in the window: a checkpoint now is not the start of a divergence."""
        return not any(self.recent)

    def restart(self, mean: float | None) -> None:
        """After a rollback: the restored checkpoint's running mean, an empty window."""
        self.mean = mean
        self.recent.clear()


@dataclass
class CheckpointClock:
    """When to write a checkpoint: every `minutes`, only while healthy."""

    minutes: float
    last: float = field(default_factory=time.monotonic)

    def due(self, now: float, healthy: bool) -> bool:
        return healthy and now - self.last > self.minutes * 60

    def written(self, now: float) -> None:
        self.last = now


class RunLog:
    """log.jsonl of a run: one JSON object per line (every `every` steps and every event),
    appended so a resumed run continues the same file. Only process 0 writes (enabled)."""

    def __init__(self, path: Path, every: int, enabled: bool = True) -> None:
        self.every = every
        self.file: TextIO | None = open(path, "a") if enabled else None

    def wants(self, step: int, last: int) -> bool:
        return self.file is not None and (step % self.every == 0 or step == last)

    def write(self, record: dict) -> None:
        if self.file is not None:
            self.file.write(json.dumps({**record, "time": time.time()}) + "\n")
            self.file.flush()

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None


class StopRequest:
    """Ctrl-C (SIGINT) or SIGTERM during training ends the run at the next step boundary with a
    checkpoint and exported weights (`--resume` continues), instead of killing it mid-step. A
    second signal interrupts at once. Only installs handlers in the main thread."""

    def __init__(self) -> None:
        self.requested = False
        self._old: dict[int, object] = {}

    def __enter__(self) -> "StopRequest":
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if self.requested:  # asked twice: stop now
            raise KeyboardInterrupt
        self.requested = True
        print("\nstopping after this step (a checkpoint is written); signal again to stop at once",
              flush=True)

    def __exit__(self, *exc) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)
