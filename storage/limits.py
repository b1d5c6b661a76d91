"""Rate limiting, in one place: every limit snakkes keeps, in memory or in the database.

- `SlidingWindow`: at most so many in any period, as the receiver counts them (Telegram's
  30 a second for the bot, 20 a minute in a group; bot/telegram/limits.py adapts it to PTB).
- `Pacer`: one message a second per chat (the check-in runner's sends).
- `TokenBuckets`: a burst, then so many a second, per key (the web chat's messages, new
  sessions and connections, per session and per address; bot/webchat/limits.py sets them).
- `SharedWindow`: the sliding windows held in the database (storage/budget.py), for several
  instances on one PostgreSQL: the bot's 30 a second and each chat's own limit. Each
  instance asks for its sends in batches, one transaction for all that wait at a moment
  (and for all the answers since the last), so the budget's row lock is taken once per
  batch, not twice per send.
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
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import async_sessionmaker

from storage import budget
from storage.db import Database, create_unflushed_engine

log = logging.getLogger(__name__)
_SWEEP_EVERY = 1000  # token bucket checks between sweeps of buckets that have refilled
_PRUNE_EVERY = 30  # shared window transactions between deletions of the rows past it
_BATCH = 256  # sends decided in one shared window transaction, at most
_DATABASE_PAUSE = 1.0  # after a failed shared window transaction with only answers to mark


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
    a second, 1 a second per chat and 20 a minute per group.

    One task per instance asks the database for every send at once (a group commit): a
    send that wants a place joins the queue, and the task's next transaction gives places
    to everything queued at that moment, in the order it came, and marks the places whose
    sends were answered since its last transaction. Under load a transaction serves many
    sends, so the lock on the budget's one row is held once per batch, not twice per send
    (which serialised every instance at about 55 sends a second). Each answer is marked as
    of when it came, measured on the instance's monotonic clock (never earlier than the
    answer): marked late, a send would count longer and the bot send below the cap. A send
    whose chat is full waits for its chat and asks again while the others go; when the
    bot's window is full, the queue waits as a whole (first come, first served)."""

    def __init__(self, database: Database, limit: int, period: float = 1.0) -> None:
        self.database = database
        self.limit = limit
        self.period = period
        # Its own connections, whose commits do not wait for the disk: the window's rows
        # matter only for the next minute (see storage.db.create_unflushed_engine).
        self.engine = create_unflushed_engine(database.url)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._queue: deque[_Wanted] = deque()
        # Places whose sends were answered, not yet marked, with when (monotonic).
        self._answered: list[tuple[int, float]] = []
        self._held: set[int] = set()  # places taken and not yet marked answered
        self._work = asyncio.Event()
        self._asker: asyncio.Task[None] | None = None
        self._transactions = 0
        self._closed = False

    async def close(self) -> None:
        """Free what this instance still holds (a send cut short by the stop), so a person's
        chat does not wait for the places to be taken for gone; then close."""
        self._closed = True
        if self._asker is not None:
            self._asker.cancel()
            with suppress(asyncio.CancelledError):
                await self._asker
        while self._queue:  # sends still waiting for a place go no further
            wanted = self._queue.popleft()
            if not wanted.verdict.done():
                wanted.verdict.set_exception(RuntimeError("the shared send window is closed"))
        try:
            if self._held:
                async with self._sessions() as session, session.begin():
                    await budget.take(
                        session, self.limit, self.period, [],
                        answered=dict.fromkeys(self._held, 0.0), prune=False,
                    )
        except Exception as error:
            log.warning("shared send window not freed: %s", type(error).__name__)
        finally:
            self._held.clear()
            self._answered.clear()
            await self.engine.dispose()

    @asynccontextmanager
    async def slot(self, chat: budget.ChatLimit | None = None) -> AsyncIterator[None]:
        """Hold one place in the shared windows for one send (the body of the `async with`)."""
        place = await self._place(chat)
        try:
            yield
        finally:
            self._answered.append((place, time.monotonic()))  # marked by the next transaction
            self._wake()

    async def _place(self, chat: budget.ChatLimit | None) -> int:
        if self._closed:
            raise RuntimeError("the shared send window is closed")
        while True:
            wanted = _Wanted(chat, asyncio.get_running_loop().create_future())
            self._queue.append(wanted)
            self._wake()
            try:
                verdict = await wanted.verdict
            except asyncio.CancelledError:
                given = wanted.verdict  # decided just before the cancellation: given back
                if (
                    given.done()
                    and not given.cancelled()
                    and given.exception() is None
                    and (place := given.result().place) is not None
                ):
                    self._answered.append((place, time.monotonic()))
                    self._wake()
                raise
            if verdict.place is not None:
                return verdict.place
            await asyncio.sleep(verdict.wait)  # the chat's own window: the others go meanwhile

    def _wake(self) -> None:
        if self._closed:  # a send cut short by the stop: its place was freed by close()
            return
        if self._asker is None or self._asker.done():
            self._asker = asyncio.create_task(self._ask(), name="shared-window")
        self._work.set()

    async def _ask(self) -> None:
        """Ask the database for whatever is queued, one transaction at a time."""
        while True:
            await self._work.wait()
            self._work.clear()
            while self._queue or self._answered:
                pause = await self._ask_once()
                if pause:
                    await asyncio.sleep(pause)

    async def _ask_once(self) -> float:
        """One transaction for the queue's head and every answer so far; returns how long
        the queue must wait before it asks again (the bot's window is full), else 0."""
        batch = self._head()
        answered, self._answered = self._answered, []
        now = time.monotonic()
        if not batch:
            return await self._mark(answered, now) if answered else 0.0
        self._transactions += 1
        try:
            async with self._sessions() as session, session.begin():
                verdicts = await budget.take(
                    session,
                    self.limit,
                    self.period,
                    [wanted.chat for wanted in batch],
                    answered={place: now - at for place, at in answered},
                    prune=self._transactions % _PRUNE_EVERY == 1,
                )
                # Known before the commit: a place given is never lost.
                self._held.update(v.place for v in verdicts if v.place is not None)
        except Exception as error:
            self._answered.extend(answered)  # marked next time (or taken for gone)
            for wanted in batch:
                if not wanted.verdict.done():
                    wanted.verdict.set_exception(error)
            if not batch:
                log.warning("shared send window not updated: %s", type(error).__name__)
                return _DATABASE_PAUSE
            return 0.0
        self._held.difference_update(place for place, _ in answered)
        later: list[_Wanted] = []
        pause = 0.0
        for wanted, verdict in zip(batch, verdicts, strict=True):
            if verdict.place is None and not verdict.chat_full:
                later.append(wanted)  # the bot's window is full: keeps its turn
                pause = max(pause, verdict.wait)
            elif wanted.verdict.done():  # cancelled while the transaction ran
                if verdict.place is not None:
                    self._answered.append((verdict.place, time.monotonic()))
            else:
                wanted.verdict.set_result(verdict)
        self._queue.extendleft(reversed(later))
        return pause

    def _head(self) -> list[_Wanted]:
        """The sends at the queue's head, as many as one transaction decides."""
        batch: list[_Wanted] = []
        while self._queue and len(batch) < _BATCH:
            wanted = self._queue.popleft()
            if not wanted.verdict.done():  # its send was cancelled meanwhile
                batch.append(wanted)
        return batch

    async def _mark(self, answered: list[tuple[int, float]], now: float) -> float:
        """Only answers to mark (nothing waits): committed as they run, without the
        budget's lock (storage.budget.mark_answered), instead of a transaction that queues
        for the lock; each as of when it came (`now` is measured before they are sent).
        Returns the pause before the next try, if it failed."""
        try:
            async with self._autocommit.connect() as connection:
                await budget.mark_answered(
                    connection, {place: now - at for place, at in answered}
                )
        except Exception as error:
            self._answered.extend(answered)  # marked next time (or taken for gone)
            log.warning("shared send window not updated: %s", type(error).__name__)
            return _DATABASE_PAUSE
        self._held.difference_update(place for place, _ in answered)
        return 0.0


@dataclass(eq=False)
class _Wanted:
    """A send that waits for a place in the shared windows."""

    chat: budget.ChatLimit | None
    verdict: asyncio.Future[budget.Verdict]
