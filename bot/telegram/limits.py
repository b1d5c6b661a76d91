"""Telegram's flood limits for PTB, counted as Telegram counts them.

Telegram allows about 30 messages in any second (and 20 a minute in one group) and answers
429 with retry_after beyond that; each 429 stops every send for a whole second. PTB's
AIORateLimiter spaces requests evenly, so any delay on either side (a garbage collection, a
busy event loop, another process on the CPU) bunches them and Telegram's sliding window
sees more than 30. Here a send holds its place in a sliding window from its start until a
period after its answer (see storage.limits.SlidingWindow), which no delay can overrun.
"""

from __future__ import annotations

import asyncio
import time
import warnings
from collections.abc import Callable, Coroutine
from contextlib import AbstractAsyncContextManager, nullcontext
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

from storage.limits import SharedWindow, SlidingWindow

_GROUP_LIMIT, _GROUP_PERIOD = 20, 60.0
_KEEP_GROUPS = 512  # idle group windows are dropped beyond this many

JSONDict = dict[str, Any]


class WindowRateLimiter(BaseRateLimiter[int]):
    """At most `max_rate` requests to chats in any second, 20 a minute in each group; a 429
    pauses every request for its retry_after, then the request is tried again (up to
    `max_retries` times). Requests without a chat (getUpdates and the like) are not held."""

    def __init__(
        self, max_rate: int = 30, *, max_retries: int = 0, shared: SharedWindow | None = None
    ) -> None:
        self.max_retries = max_retries
        self._overall = SlidingWindow(max_rate, 1.0)
        self._shared = shared
        self._groups: dict[int | str, SlidingWindow] = {}
        self._paused_until = 0.0

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    async def process_request(  # noqa: PLR0917 - PTB's signature
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | JSONDict | list[JSONDict]:
        retries = rate_limit_args if rate_limit_args is not None else self.max_retries
        chat = data.get("chat_id")
        if endpoint == "sendChatAction":
            # Best-effort (the console's typing indicator): never takes a message's place
            # in the windows, and is dropped rather than held while Telegram asks to wait.
            if self._paused_until > time.monotonic():
                return True
            return await callback(*args, **kwargs)
        for attempt in range(retries + 1):
            try:
                if chat is None:
                    await self._pause()
                    return await callback(*args, **kwargs)
                async with self._group(chat), self._overall.slot(), self._across():
                    await self._pause()
                    return await callback(*args, **kwargs)
            except RetryAfter as error:
                if attempt == retries:
                    raise
                self._paused_until = max(
                    self._paused_until, time.monotonic() + _seconds(error) + 0.1
                )
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _across(self) -> AbstractAsyncContextManager[None]:
        """The window shared with other instances, when there is one."""
        return self._shared.slot() if self._shared is not None else nullcontext()

    async def _pause(self) -> None:
        """Wait out a retry_after that Telegram asked for."""
        # A loop, not an Event: another 429 may extend the pause while this one sleeps.
        while (delay := self._paused_until - time.monotonic()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(delay)

    def _group(self, chat: object) -> AbstractAsyncContextManager[None]:
        """The group's own window (a negative id or a @channel name), else no limit."""
        try:
            key: int | str = int(str(chat))
        except ValueError:
            key = str(chat)
        if isinstance(key, int) and key > 0:
            return nullcontext()
        if len(self._groups) > _KEEP_GROUPS:
            self._groups = {k: w for k, w in self._groups.items() if not w.idle}
        window = self._groups.get(key)
        if window is None:
            window = self._groups[key] = SlidingWindow(_GROUP_LIMIT, _GROUP_PERIOD)
        return window.slot()


def _seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that retry_after becomes a timedelta
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
