"""Rate limiting, in one place: every limit snakkes keeps, in memory or in the database.

- `SlidingWindow`: at most so many in any period, as the receiver counts them (Telegram's
  30 a second for the bot, 20 a minute in a group; bot/telegram/limits.py adapts it to PTB).
- `Pacer`: one message a second per chat (the check-in runner's sends).
- `TokenBuckets`: a burst, then so many a second, per key (the web chat's messages, new
  sessions and connections, per session and per address; bot/webchat/limits.py sets them).
- `SharedWindow`: the sliding windows held in the database (storage/budget.py), for several
  instances on one PostgreSQL: the bot's 30 a second and each chat's own limit.
- Failed log-ins are counted by the dashboard (bot/dashboard/auth.py); that count moves to
  the database with an exponential back-off of its own, and belongs here once it has.

Pacing sends the way Telegram counts them: PTB's rate limiter paces the whole bot, but it has
no per-chat limit for private chats; without the Pacer, a check-in and a reminder due
together would reach one person in the same second and draw a 429 (which costs a whole
second). Sends to one chat take turns, and the second counts from when the previous send
was answered: Telegram counts a message when it receives it, which is no later than that.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import async_sessionmaker

from storage import budget
from storage.db import Database, create_unflushed_engine

log = logging.getLogger(__name__)
_SWEEP_EVERY = 1000  # token bucket checks between sweeps of buckets that have refilled
_PRUNE_EVERY = 30  # shared window reservations between deletions of the rows past it


class SlidingWindow:
    """At most `limit` sends in any `period` seconds, as the receiver counts them.

    A send counts from when it starts until `period` after its answer: the receiver counted
    it somewhere in between, so no `period` of the receiver's ever holds more than `limit`,
    however late either side's event loop runs. Waiters are served first come, first served.
    """

    def __init__(
        self, limit: int, period: float, *, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        if limit < 1:
            raise ValueError("a window holds at least one send")
        self.limit = limit
        self.period = period
        self._monotonic = monotonic
        self._in_flight = 0
        self._answered: deque[float] = deque()  # answer times, oldest first
        self._queue = asyncio.Lock()  # FIFO: only the first waiter watches the window
        self._answer = asyncio.Event()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one place in the window for one send (the body of the `async with`)."""
        async with self._queue:
            await self._room()
            self._in_flight += 1
        try:
            yield
        finally:
            self._in_flight -= 1
            self._answered.append(self._monotonic())
            self._answer.set()

    @property
    def idle(self) -> bool:
        """Nobody waits or sends, and the last answer is older than the period."""
        return (
            not self._in_flight
            and not self._queue.locked()
            and (not self._answered or self._answered[-1] <= self._monotonic() - self.period)
        )

    async def _room(self) -> None:
        while True:
            now = self._monotonic()
            while self._answered and self._answered[0] <= now - self.period:
                self._answered.popleft()
            if self._in_flight + len(self._answered) < self.limit:
                return
            if self._answered:
                await asyncio.sleep(self._answered[0] + self.period - now)
            else:  # every place is taken by a send in flight
                self._answer.clear()
                await self._answer.wait()


class Pacer:
    """One message a second (`interval`) per chat."""

    def __init__(
        self, *, interval: float = 1.0, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.interval = interval
        self._monotonic = monotonic
        self._chats: dict[int, SlidingWindow] = {}  # least recently used first

    @asynccontextmanager
    async def turn(self, chat: int) -> AsyncIterator[None]:
        """Hold the chat's turn for one send; waits until a second after the last one."""
        window = self._chats.pop(chat, None) or SlidingWindow(
            1, self.interval, monotonic=self._monotonic
        )
        self._chats[chat] = window
        self._forget_idle()
        async with window.slot():
            yield

    def _forget_idle(self) -> None:
        """Drop the chats at the old end that no longer hold anybody back: O(1) amortised."""
        while len(self._chats) > 1:
            chat, window = next(iter(self._chats.items()))
            if not window.idle:
                return
            del self._chats[chat]


@dataclass(frozen=True)
class Rate:
    """`burst` at once, then `per_second` on average."""

    burst: int
    per_second: float


class TokenBuckets:
    """Token buckets by key. `take(key)` is 0.0 when allowed, else seconds to wait.

    A key (an IP address, for one) lives only in memory, and is forgotten once its bucket
    is full again."""

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


class SharedWindow:
    """The bot's overall window, and each chat's own, held in the database
    (storage/budget.py), so instances on one PostgreSQL together stay within Telegram's 30
    a second, 1 a second per chat and 20 a minute per group. One waiter per instance asks
    the database at a time, in the order they came."""

    def __init__(self, database: Database, limit: int, period: float = 1.0) -> None:
        self.database = database
        self.limit = limit
        self.period = period
        self._queue = asyncio.Lock()
        # Its own connections, whose commits do not wait for the disk: the window's rows
        # matter only for the next minute (see storage.db.create_unflushed_engine).
        self._engine = create_unflushed_engine(database.url)
        self._sessions = async_sessionmaker(self._engine, expire_on_commit=False)
        self._held: set[int] = set()  # places taken and not yet answered
        self._reservations = 0

    async def close(self) -> None:
        """Free what this instance still holds (a send cut short by the stop), so a person's
        chat does not wait for the places to be taken for gone; then close."""
        try:
            if self._held:
                async with self._sessions() as session, session.begin():
                    for place in list(self._held):
                        await budget.answered(session, place)
        except Exception as error:
            log.warning("shared send window not freed: %s", type(error).__name__)
        finally:
            self._held.clear()
            await self._engine.dispose()

    @asynccontextmanager
    async def slot(self, chat: budget.ChatLimit | None = None) -> AsyncIterator[None]:
        while True:
            async with self._queue:
                while True:
                    async with self._sessions() as session, session.begin():
                        self._reservations += 1
                        taken, wait, chat_full = await budget.reserve(
                            session,
                            self.limit,
                            self.period,
                            chat,
                            prune=self._reservations % _PRUNE_EVERY == 1,
                        )
                        if taken is not None:  # known before the commit: never lost
                            self._held.add(taken)
                    if taken is not None or chat_full:
                        break
                    await asyncio.sleep(wait)  # the bot's window: first come, first served
            if taken is not None:
                break
            await asyncio.sleep(wait)  # the chat's own window: the others go meanwhile
        try:
            yield
        finally:
            try:
                async with self._sessions() as session, session.begin():
                    await budget.answered(session, taken)
                self._held.discard(taken)
            except Exception as error:  # freed at close, or taken for gone a minute later
                log.warning("shared send window not updated: %s", type(error).__name__)
