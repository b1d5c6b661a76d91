"""The console's log-in and sign-up throttle, in memory: failures per IP address and per
name over a sliding window; then no attempt is even checked until the oldest ages out.

Kept apart from the dashboard's on purpose: the dashboard's throttle is moving into the
database (issue #15, storage/login_throttle.py); once that has landed, the console should
count its attempts there too, and this module goes.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass
class Throttle:
    per_name: int = 5
    per_address: int = 20
    window: timedelta = timedelta(minutes=15)
    _failures: dict[str, deque[datetime]] = field(default_factory=dict)

    def blocked(self, address: str, name: str, now: datetime) -> bool:
        return (
            self._count(f"ip:{address}", now) >= self.per_address
            or self._count(f"name:{name.lower()}", now) >= self.per_name
        )

    def failed(self, address: str, name: str, now: datetime) -> None:
        for key in (f"ip:{address}", f"name:{name.lower()}"):
            self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, name: str) -> None:
        self._failures.pop(f"name:{name.lower()}", None)

    def _count(self, key: str, now: datetime) -> int:
        found = self._failures.get(key)
        if found is None:
            return 0
        while found and found[0] <= now - self.window:
            found.popleft()
        if not found:
            del self._failures[key]
            return 0
        return len(found)
