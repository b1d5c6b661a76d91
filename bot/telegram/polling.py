"""Lossless polling: snakkes's own getUpdates loop, with the inbox in the database.

python-telegram-bot's Updater confirms each fetched batch (asks for the next offset) as soon
as it is queued in memory, so a crash loses what was fetched and not yet handled; and one
update it cannot parse stops its loop for good while it logs the batch, content and all.
Here a batch is stored (storage/inbox.py) before the next offset is asked for, and an
update is deleted there once handled: in the transaction of the turn that handled it when
it reaches the core (`settle`), else just after. A stored batch goes to the handlers as
fetched when nothing older waits; what waits (after a restart, a failed update, handlers
full) the handlers take from the inbox, oldest first, and a look there every second is the
safety net. An update that cannot be read is set aside without its content and counted; the loop
goes on.

PTB's Bot still makes the calls (`do_api_request`, with the raw JSON back, so nothing is
parsed before it is stored); Telegram's method names are case-insensitive, and the
lower-case name keeps PTB from suggesting its own get_updates.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Any

from telegram import Bot, Update
from telegram.error import Conflict, InvalidToken

from bot.delivery import wait_for_event
from storage import inbox
from storage.crypto import Keyring
from storage.db import Database
from storage.types import utcnow

log = logging.getLogger(__name__)

_IN_HAND = 200  # updates being handled at once (PTB's processor runs 32 of them)
_LONGEST_PAUSE = 30.0
_SAFETY_NET = 1.0

Process = Callable[[Update], Awaitable[bool]]


class InboxPoller:
    def __init__(
        self,
        bot: Bot,
        database: Database,
        keyring: Keyring,
        process: Process,
        *,
        timeout: int,
        allowed_updates: list[str],
    ) -> None:
        self.bot = bot
        self.database = database
        self.keyring = keyring
        self.process = process
        self.timeout = timeout
        self.allowed_updates = allowed_updates
        self.set_aside = 0  # updates that could not be read, since the start
        self._in_hand: set[int] = set()
        self._done: list[int] = []  # handled, their rows not yet deleted (still in hand)
        self._settled: set[int] = set()  # rows deleted by the turn that handled them
        # Whether updates may wait in the inbox that no handler has (at the start: maybe);
        # while they may, fetched ones go through the inbox too, behind them.
        self._backlog = True
        self._generation = 0  # counts the times updates were left waiting
        self._look = True  # look into the inbox at the feed's next round
        self._next_look = 0.0
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._handling: set[asyncio.Task[None]] = set()
        self._stopping = False

    def start(self) -> None:
        self._spawn(self._fetch(), "telegram-fetch")
        self._spawn(self._feed(), "telegram-inbox")

    async def stop(self) -> None:
        """Stop fetching; let what is being handled finish; note what was handled."""
        self._stopping = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.gather(*self._handling, return_exceptions=True)
        with suppress(Exception):
            await self._note_done()

    # -- fetching ----------------------------------------------------------------------------
    async def _fetch(self) -> None:
        offset: int | None = None
        pause = 1.0
        while not self._stopping:
            try:
                batch = await self.bot.do_api_request(
                    "getupdates",
                    api_kwargs={
                        "offset": offset,
                        "timeout": self.timeout,
                        "allowed_updates": self.allowed_updates,
                    },
                    read_timeout=self.timeout + 10,
                )
                updates = [u for u in batch if _update_id(u) is not None] if batch else []
                if updates:
                    await self._keep(updates)
                    offset = max(_update_id(u) or 0 for u in updates) + 1
                pause = 1.0
            except (Conflict, InvalidToken) as error:
                log.error("telegram polling refused: %s", type(error).__name__)
                await asyncio.sleep(_LONGEST_PAUSE)
            except Exception as error:  # the network, Telegram, the database
                log.warning("telegram polling failed: %s; again", type(error).__name__)
                await asyncio.sleep(pause)
                pause = min(pause * 2, _LONGEST_PAUSE)

    async def _keep(self, batch: list[dict[str, Any]]) -> None:
        """Store a fetched batch; then, when nothing older waits in the inbox and there is
        room, hand it to the handlers as fetched (the inbox is read back only after a
        restart, a failure, or when the handlers were full: the safety net)."""
        ids = [_update_id(item) or 0 for item in batch]
        direct = not self._backlog and len(self._in_hand) + len(ids) <= _IN_HAND
        if direct:
            # In hand before they are stored: the feed's look into the inbox skips them.
            self._in_hand.update(ids)
        try:
            # Stored before the next call confirms them: a crash now loses nothing.
            await inbox.keep(self.database, self.keyring, batch, utcnow())
        except BaseException:
            self._in_hand.difference_update(ids)
            raise
        if not direct:
            self._left_waiting()
            return
        for update_id, item in zip(ids, batch, strict=True):
            try:
                update = Update.de_json(item, self.bot)
                if update is None:
                    raise ValueError("empty")
            except Exception:
                # The feed reads it from the inbox and sets it aside; the rest of the batch
                # is for it too, so a person's updates keep their order.
                rest = ids[ids.index(update_id) :]
                self._in_hand.difference_update(rest)
                self._left_waiting()
                return
            self._start(update_id, update)

    def _left_waiting(self) -> None:
        """Updates wait in the inbox that no handler has: the feed takes them, oldest
        first, and fetched ones go through the inbox until it has caught up."""
        self._backlog = True
        self._generation += 1
        self._look = True
        self._wake.set()

    # -- handling ----------------------------------------------------------------------------
    async def _feed(self) -> None:
        while not self._stopping:
            try:
                await self._note_done()
                if self._look or time.monotonic() >= self._next_look:
                    self._look = False
                    self._next_look = time.monotonic() + _SAFETY_NET
                    await self._take_waiting()
            except Exception as error:
                self._look = True
                log.warning("telegram inbox failed: %s; again", type(error).__name__)
            await wait_for_event(self._wake, _SAFETY_NET)
            self._wake.clear()

    async def _take_waiting(self) -> None:
        room = _IN_HAND - len(self._in_hand)
        if room <= 0:
            self._look = True  # full: look again once a handler is done
            return
        generation = self._generation
        async with self.database.session() as session, session.begin():
            rows = await inbox.waiting(session, limit=room, skip=self._in_hand)
            updates: list[tuple[int, Update]] = []
            for row in rows:
                try:
                    update = Update.de_json(inbox.payload_of(self.keyring, row), self.bot)
                    if update is None:
                        raise ValueError("empty")
                except Exception as error:
                    await inbox.set_aside(session, row.update_id, utcnow())
                    self.set_aside += 1
                    log.warning(
                        "a Telegram update could not be read and was set aside (%s); %d so far",
                        type(error).__name__,
                        self.set_aside,
                    )
                    continue
                updates.append((row.update_id, update))
        if len(rows) < room and generation == self._generation:
            self._backlog = False  # all that waited is in hand: fetched ones go directly
        elif len(rows) >= room:
            self._look = True
        for update_id, update in updates:  # in order: PTB keeps a person's updates in turn
            self._in_hand.add(update_id)
            self._start(update_id, update)

    def _start(self, update_id: int, update: Update) -> None:
        task = asyncio.create_task(self._handle(update_id, update), name="telegram-update")
        self._handling.add(task)
        task.add_done_callback(self._handling.discard)

    def settle(self, update_id: int) -> int | None:
        """For the core (`Envelope.inbox_update_id`): the update's inbox row, to delete in
        the transaction of the turn that handles it (then `settled`), instead of in a
        transaction of its own after; None when it is not in hand."""
        return update_id if update_id in self._in_hand else None

    def settled(self, update_id: int) -> None:
        """The turn that deleted the update's row committed."""
        self._settled.add(update_id)

    async def _handle(self, update_id: int, update: Update) -> None:
        ok = False
        try:
            ok = await self.process(update)
        finally:
            if update_id in self._settled:  # its row went with its turn
                self._settled.discard(update_id)
                self._in_hand.discard(update_id)
            elif ok:
                # Still in hand until its row is deleted: the feed must not take it again.
                self._done.append(update_id)
            else:  # left in the inbox; tried again a little later
                await asyncio.sleep(_SAFETY_NET)
                self._in_hand.discard(update_id)
                self._left_waiting()
            self._wake.set()

    async def _note_done(self) -> None:
        """Delete what was handled (a crash before this handles it again, and the core's
        claim on the update id then answers nothing twice)."""
        if not self._done:
            return
        done, self._done = self._done, []
        try:
            async with self.database.session() as session, session.begin():
                await inbox.handled(session, done)
        except Exception:
            self._done.extend(done)
            raise
        self._in_hand.difference_update(done)

    def _spawn(self, coroutine: Any, name: str) -> None:
        task = asyncio.create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _update_id(item: object) -> int | None:
    if isinstance(item, dict):
        value = item.get("update_id")
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None
