"""Passwords (argon2id), checked off the event loop, and the keys of the log-in throttle
(the throttle itself is in the database: storage/login_throttle.py)."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()
MIN_PASSWORD = 12


@functools.cache
def _dummy() -> str:
    """Verified against when the name is unknown, so a wrong name takes as long as a wrong
    password and the time of an answer does not tell which names exist. Made at the first
    check, whichever name it is for, not at import: a command line that checks no password
    does not pay for a hash (0.1-0.3 s of CPU)."""
    return _HASHER.hash("no such coordinator")


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"a password needs at least {MIN_PASSWORD} characters")
    return _HASHER.hash(password)


def verify(password_hash: str | None, password: str) -> bool:
    dummy = _dummy()
    try:
        return _HASHER.verify(password_hash or dummy, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


class PasswordCheck:
    """Checks passwords in worker threads, at most `parallel` at once and `queue` waiting:
    argon2 (64 MiB, 3 passes) takes about 0.1 s of CPU, which on the event loop would
    stall every chat message, webhook and check-in for as long as log-ins keep coming. One
    at a time by default: on a small machine the event loop keeps a core of its own."""

    def __init__(self, parallel: int = 1, queue: int = 256) -> None:
        self._slots = asyncio.Semaphore(parallel)
        self._room = queue
        self._waiting = 0

    async def verify(self, password_hash: str | None, password: str) -> bool | None:
        """True or False; None when too many checks are already waiting (answer 429)."""
        if self._waiting >= self._room:
            return None
        self._waiting += 1
        try:
            async with self._slots:
                return await asyncio.to_thread(verify, password_hash, password)
        finally:
            self._waiting -= 1


class LoginKeys:
    """The throttle's keys: keyed hashes, so the table holds neither names nor addresses."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def _of(self, kind: str, value: str) -> str:
        return hmac.new(self._key, f"{kind}\x1f{value}".encode(), hashlib.sha256).hexdigest()

    def name(self, name: str) -> str:
        return self._of("name", name.strip().lower())

    def address(self, address: str) -> str:
        return self._of("address", address)
