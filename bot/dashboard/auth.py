"""Passwords (argon2id) and the log-in rate limit.

The limit counts failed log-ins in memory, per IP address and per user name, over a
sliding window: enough to stop guessing at one instance; a restart forgets it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()
# Verified against when the name is unknown, so a wrong name takes as long as a wrong
# password and the time of an answer does not tell which names exist.
_DUMMY = _HASHER.hash("no such coordinator")
MIN_PASSWORD = 12


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"a password needs at least {MIN_PASSWORD} characters")
    return _HASHER.hash(password)


def verify(password_hash: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash or _DUMMY, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


@dataclass
class LoginLimit:
    """At most `per_name` failures per user name and `per_address` per IP address in
    `window`; then no attempt is even checked until the oldest failure ages out."""

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
