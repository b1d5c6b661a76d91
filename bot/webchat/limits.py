"""Rate limits for the web chat, held in memory only.

The client's IP address is used here and nowhere else: it is a key in a dictionary of
token buckets, never logged and never stored, and forgotten once its bucket is full again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

_SWEEP_EVERY = 1000  # checks between sweeps of buckets that have refilled


@dataclass(frozen=True)
class Rate:
    """`burst` at once, then `per_second` on average."""

    burst: int
    per_second: float


@dataclass(frozen=True)
class WebLimits:
    message_per_session: Rate = Rate(burst=20, per_second=1.0)
    message_per_ip: Rate = Rate(burst=60, per_second=3.0)
    session_per_ip: Rate = Rate(burst=40, per_second=1 / 10)  # new cookies handed out
    connect_per_ip: Rate = Rate(burst=30, per_second=1.0)  # WebSocket handshakes


class RateLimiter:
    """Token buckets by key. `take(key)` is 0.0 when allowed, else seconds to wait."""

    def __init__(self, rate: Rate, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._checks = 0

    def take(self, key: str) -> float:
        now = self.clock()
        self._checks += 1
        if self._checks % _SWEEP_EVERY == 0:
            self._sweep(now)
        tokens = self._tokens(key, now)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1.0 - tokens) / self.rate.per_second

    def forget(self, key: str) -> None:
        self._buckets.pop(key, None)

    def __len__(self) -> int:
        return len(self._buckets)

    def _tokens(self, key: str, now: float) -> float:
        tokens, at = self._buckets.get(key, (float(self.rate.burst), now))
        return min(float(self.rate.burst), tokens + (now - at) * self.rate.per_second)

    def _sweep(self, now: float) -> None:
        full = [k for k in self._buckets if self._tokens(k, now) >= self.rate.burst]
        for key in full:
            del self._buckets[key]
