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

from storage.budget import ChatLimit
from storage.limits import SharedWindow, SlidingWindow

_GROUP_LIMIT, _GROUP_PERIOD = 20, 60.0
_PRIVATE_LIMIT, _PRIVATE_PERIOD = 1, 1.0
_KEEP_GROUPS = 512  # idle chat windows are dropped beyond this many

JSONDict = dict[str, Any]


class WindowRateLimiter(BaseRateLimiter[int]):
    """At most `max_rate` requests to chats in any second, 20 a minute in each group; a 429
    pauses every request for its retry_after, then the request is tried again (up to
    `max_retries` times). Requests without a chat (getUpdates and the like) are not held.

    With `shared` (several instances on one PostgreSQL), the bot's window and each chat's
    own (1 a second in a private chat, 20 a minute in a group) are held in the database as
    well; a chat's is keyed by `chat_key(chat)`, a keyed hash, never Telegram's id. This
    instance then keeps a private chat's window in memory too, so its own messages to one
    person wait for their turn before they take a place in the bot's window."""

    def __init__(
        self,
        max_rate: int = 30,
        *,
        max_retries: int = 0,
        shared: SharedWindow | None = None,
        chat_key: Callable[[str], str] = str,
    ) -> None:
        self.max_retries = max_retries
        self._overall = SlidingWindow(max_rate, 1.0)
        self._shared = shared
        self._chat_key = chat_key
        self._groups: dict[int | str, SlidingWindow] = {}
        self._paused_until = 0.0

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release (the service closes the shared window, after its sender)."""

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
                key = _key_of(chat)
                # An edit (a pressed keyboard taken away) counts in the bot's window but not
                # in a private chat's: the double counts as Telegram does, and the answer
                # that follows it at once would otherwise wait a second behind it.
                own = not (_private(key) and endpoint.startswith("edit"))
                async with (
                    self._group(key, own=own),
                    self._overall.slot(),
                    self._across(chat, key, own=own),
                ):
                    await self._pause()
                    return await callback(*args, **kwargs)
            except RetryAfter as error:
                if attempt == retries:
                    raise
                self._paused_until = max(
                    self._paused_until, time.monotonic() + _seconds(error) + 0.1
                )
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _across(
        self, chat: object, key: int | str, *, own: bool
    ) -> AbstractAsyncContextManager[None]:
        """The windows shared with other instances, if any: the bot's, and the chat's when
        the request counts in it (`own`)."""
        if self._shared is None:
            return nullcontext()
        if not own:
            return self._shared.slot(None)
        limit, period = _limit_of(key)
        return self._shared.slot(ChatLimit(self._chat_key(str(chat)), limit, period))

    async def _pause(self) -> None:
        """Wait out a retry_after that Telegram asked for."""
        # A loop, not an Event: another 429 may extend the pause while this one sleeps.
        while (delay := self._paused_until - time.monotonic()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(delay)

    def _group(self, key: int | str, *, own: bool) -> AbstractAsyncContextManager[None]:
        """The group's own window (a negative id or a @channel name); a private chat's only
        when the windows are shared and the request counts in it (`own`: one instance
        alone leaves private chats to the check-in runner's pacer and to retries)."""
        if _private(key) and (self._shared is None or not own):
            return nullcontext()
        if len(self._groups) > _KEEP_GROUPS:
            self._groups = {k: w for k, w in self._groups.items() if not w.idle}
        window = self._groups.get(key)
        if window is None:
            window = self._groups[key] = SlidingWindow(*_limit_of(key))
        return window.slot()


def _key_of(chat: object) -> int | str:
    try:
        return int(str(chat))
    except ValueError:
        return str(chat)


def _private(key: int | str) -> bool:
    return isinstance(key, int) and key > 0


def _limit_of(key: int | str) -> tuple[int, float]:
    """A chat's own limit: 1 a second in a private chat, 20 a minute in a group."""
    return (_PRIVATE_LIMIT, _PRIVATE_PERIOD) if _private(key) else (_GROUP_LIMIT, _GROUP_PERIOD)


def _seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that retry_after becomes a timedelta
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
