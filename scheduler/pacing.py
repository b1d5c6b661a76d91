"""Pacing sends to one chat: at most one message a second (Telegram's limit).

PTB's AIORateLimiter paces the whole bot (30 a second) and waits out 429s, but it has no
per-chat limit for private chats; without this, a check-in and a reminder due together would
reach one person in the same second and draw a 429. Sends to one chat take turns, and the
second counts from when the previous send was answered: Telegram counts a message when it
receives it, which is no later than that.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

_PRUNE_AT = 10_000


class Pacer:
    def __init__(
        self, *, interval: float = 1.0, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.interval = interval
        self._monotonic = monotonic
        self._locks: dict[int, asyncio.Lock] = {}
        self._free_at: dict[int, float] = {}
        self._users: dict[int, int] = {}

    @asynccontextmanager
    async def turn(self, chat: int) -> AsyncIterator[None]:
        """Hold the chat's turn for one send; waits until a second after the last one."""
        lock = self._locks.setdefault(chat, asyncio.Lock())
        self._users[chat] = self._users.get(chat, 0) + 1
        try:
            async with lock:
                delay = self._free_at.get(chat, 0.0) - self._monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                try:
                    yield
                finally:
                    self._free_at[chat] = self._monotonic() + self.interval
        finally:
            self._users[chat] -= 1
        self._prune()

    def _prune(self) -> None:
        if len(self._free_at) <= _PRUNE_AT:
            return
        now = self._monotonic()
        for chat, free_at in list(self._free_at.items()):
            if free_at <= now and not self._users.get(chat):
                del self._free_at[chat]
                self._locks.pop(chat, None)
                self._users.pop(chat, None)
