"""Updates from different people handled side by side, each person's in order.

PTB handles updates one at a time by default: while one person's reply is on its way to
Telegram, everybody else waits. With this processor PTB runs up to `limit` updates at once,
but a person's next update waits for their previous one (the conversation is a sequence),
so waiting on the network overlaps with work for someone else.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

# Updates handled at once (different people; one person's always in order).
CONCURRENT_UPDATES = 32


class PerChatUpdateProcessor(BaseUpdateProcessor):
    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        # PTB starts one task per update in the order they arrived, and its slots are
        # handed out in that order; an asyncio.Lock queues in order too, so a person's
        # updates take their turns as they came.
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        lock = self._locks.setdefault(chat.id, asyncio.Lock())
        self._users[chat.id] = self._users.get(chat.id, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._users[chat.id] -= 1
            if not self._users[chat.id]:
                del self._users[chat.id], self._locks[chat.id]

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass
