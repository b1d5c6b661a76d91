"""Pacing sends the way Telegram counts them: at most so many in any sliding window.

PTB's rate limiter paces the whole bot, but it has no per-chat limit for private chats;
without the Pacer, a check-in and a reminder due together would reach one person in the same
second and draw a 429 (which costs a whole second). Sends to one chat take turns, and the
second counts from when the previous send was answered: Telegram counts a message when it
receives it, which is no later than that.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager


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
