"""A dependency-free progress bar on stderr (redraws in a terminal, prints lines every few seconds otherwise)."""
from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, total: int, desc: str = "", start: int = 0, every: float = 10.0,
                 enabled: bool = True) -> None:
        self.total, self.desc, self.n = total, desc, start
        self.t0 = time.monotonic()
        self.n0 = start
        self.tty = sys.stderr.isatty()
        self.every = 0.2 if self.tty else every
        self.last = 0.0
        self.enabled = enabled

    def update(self, n: int = 1, **fields) -> None:
        self.n += n
        now = time.monotonic()
        if self.enabled and (now - self.last >= self.every or self.n >= self.total):
            self.last = now
            self._draw(now, fields)

    def rate(self) -> float:
        dt = time.monotonic() - self.t0
        return (self.n - self.n0) / dt if dt > 0 else 0.0

    def _draw(self, now: float, fields: dict) -> None:
        rate = self.rate()
        left = (self.total - self.n) / rate if rate > 0 else 0.0
        frac = self.n / self.total if self.total else 1.0
        bar = "#" * int(20 * frac) + "-" * (20 - int(20 * frac))
        extra = " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in fields.items())
        line = (f"{self.desc} [{bar}] {self.n}/{self.total} {rate:.2f}/s "
                f"eta {int(left // 60)}m{int(left % 60):02d}s {extra}")
        if self.tty:
            sys.stderr.write("\r" + line[:200].ljust(120))
            if self.n >= self.total:
                sys.stderr.write("\n")
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()
