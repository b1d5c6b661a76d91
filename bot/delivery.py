"""The sender of the durable outbox: every message to a person is a row (storage/outbox.py)
written with the state change that caused it; this delivers the rows.

- Each chat's messages go out in order, one at a time; different chats side by side.
- A try that may be repeated (network error, 5xx, time-out, a 429 beyond the limiter's
  patience) is repeated with growing pauses; a time-out too, since a crisis answer that
  arrives twice is better than none. 403 marks the person unreachable and drops what waits
  for them; 400 is recorded as failed with Telegram's reason (never the text).
- Lanes: when places are short, crisis answers and alerts go first, then live replies, then
  the relay, then check-ins and reminders (`LaneSlots`).
- The instance that wrote a row holds it (a lease) and sends it at once. Rows that come
  free for any sender (an instance stopping gives its rows back; a row for a channel this
  instance does not run) wake every sender at once: `pg_notify` in the same transaction on
  PostgreSQL (bot/notify.py), this process's own event on SQLite. A sweep every
  `sweep_every` seconds is the safety net: it renews this instance's leases and takes rows
  nobody holds any more (an instance that died, whose lease ran out), so a crash loses
  nothing. A row is deleted as soon as the channel has it, before its send's place is
  given back (see `_work`).
"""

from __future__ import annotations

import asyncio
import functools
import heapq
import itertools
import logging
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar, Protocol

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from dialogues.messages import Choice, Delivery, Lane, Outbound
from storage import outbox, participants
from storage.crypto import Keyring, SealError
from storage.db import Database
from storage.models import OutboxMessage
from storage.types import Clock, utcnow

log = logging.getLogger(__name__)

_FIRST_PAUSE, _LONGEST_PAUSE = 0.5, 30.0
_DATABASE_PAUSE = 1.0
_SWEEP_LIMIT = 500


async def wait_for_event(event: asyncio.Event, timeout: float) -> bool:  # noqa: ASYNC109
    """Wait until `event` is set or `timeout` passes; True when set. (Not asyncio.wait_for:
    on Python 3.11 it can swallow a cancellation that comes as the event is set, and a
    loop around it then never stops.)"""
    waiter = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait({waiter}, timeout=timeout)
    finally:
        waiter.cancel()
    return event.is_set()


class Result(StrEnum):
    SENT = "sent"
    BLOCKED = "blocked"  # 403: the person blocked the bot
    FAILED = "failed"  # 400 and the like: repeating it cannot help
    RETRY = "retry"  # the network, 5xx, a time-out: try again


@dataclass(frozen=True)
class Attempt:
    result: Result
    reason: str = ""  # Telegram's description or an error class; never message text


SENT = Attempt(Result.SENT)


class Transport(Protocol):
    """A channel's way of trying to deliver one message to one address, once."""

    async def attempt(self, address: str, message: Outbound) -> Attempt: ...


def body_of(message: Outbound) -> outbox.Body:
    return outbox.Body(
        message.text, tuple(tuple((c.label, c.data) for c in line) for line in message.choices)
    )


def message_of(body: outbox.Body) -> Outbound:
    rows = tuple(tuple(Choice(label, data) for label, data in line) for line in body.choices)
    return Outbound(body.text, rows)


@dataclass(eq=False)
class Parcel:
    """One outbox row in this instance's hands."""

    id: int
    chat: str
    channel: str
    address: str
    message: Outbound
    lane: Lane
    created_at: datetime
    attempts: int = 0
    outcome: Delivery | None = None  # set when settled for good
    tried: asyncio.Event = field(default_factory=asyncio.Event)

    async def first_try(self, timeout: float) -> Delivery:  # noqa: ASYNC109 - a bound wait
        """Wait (at most `timeout`) for the first try; SENT means sent or in the outbox's
        hands (being repeated), never lost."""
        await wait_for_event(self.tried, timeout)
        return self.outcome or Delivery.SENT


async def first_tries(parcels: Sequence[Parcel], timeout: float) -> list[Delivery]:  # noqa: ASYNC109
    return list(await asyncio.gather(*(p.first_try(timeout) for p in parcels)))


class LaneSlots:
    """Sends in flight at once, shared by the lanes. A lane starts a send only while fewer
    than its share of the places are taken, so check-ins never fill the places a crisis
    answer needs; whoever waits is served most urgent lane first, then first come."""

    SHARES: ClassVar[dict[Lane, float]] = {
        Lane.CRISIS: 1.0,
        Lane.LIVE: 0.875,
        Lane.RELAY: 0.625,
        Lane.ROUTINE: 0.25,
    }

    def __init__(self, total: int = 32) -> None:
        self.caps = {lane: max(1, int(total * share)) for lane, share in self.SHARES.items()}
        self.in_use = 0
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    @asynccontextmanager
    async def slot(self, lane: Lane) -> AsyncIterator[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (int(lane), next(self._order), future))
        self._grant()
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self._release()
            raise
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        self.in_use -= 1
        self._grant()

    def _grant(self) -> None:
        while self._waiting:
            lane, _, future = self._waiting[0]
            if future.done():
                heapq.heappop(self._waiting)
                continue
            if self.in_use >= self.caps[Lane(lane)]:
                return
            heapq.heappop(self._waiting)
            self.in_use += 1
            future.set_result(None)


class Postman:
    """This instance's sender: takes parcels from the core and the outbox, delivers them."""

    def __init__(
        self,
        database: Database,
        keyring: Keyring,
        *,
        lease: float = 10.0,
        sweep_every: float = 1.0,
        in_flight: int = 32,
        max_age: timedelta = timedelta(hours=24),
        clock: Clock = utcnow,
    ) -> None:
        self.database = database
        self.keyring = keyring
        self.owner = uuid.uuid4().hex
        self.lease = timedelta(seconds=lease)
        self.sweep_every = sweep_every
        self.max_age = max_age
        self.clock = clock
        self.slots = LaneSlots(in_flight)
        self.transports: dict[str, Transport] = {}
        self.blocked_listeners: list[Callable[[], None]] = []
        # Tells every instance's sender, in the caller's transaction, that rows came free
        # (PostgreSQL: bot.notify.Announcer on OUTBOX); None: this process alone.
        self.announce: Callable[[AsyncSession], Coroutine[Any, Any, None]] | None = None
        self.sent = 0  # messages this instance delivered, for logs and tests
        self._queues: dict[str, deque[Parcel]] = {}
        self._held: set[int] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._wake = asyncio.Event()
        self._to_delete: list[int] = []
        self._deleting: asyncio.Task[None] | None = None
        self._running = False

    def register(self, channel: str, transport: Transport) -> None:
        self.transports[channel] = transport

    def held_until(self, now: datetime) -> datetime:
        return now + self.lease

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        # What an instance that died held comes free when its lease runs out (the sweep
        # renews this instance's leases all the time), on SQLite too: two processes may
        # share a file for a while, during a restart.
        self._running = True
        self._spawn(self._sweep(), "outbox-sweep")

    async def stop(self) -> None:
        """Stop sending; what is in hand goes back to the outbox for the next instance."""
        self._running = False
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._queues.clear()
        self._held.clear()
        with suppress(Exception):
            async with self.database.session() as session, session.begin():
                await outbox.release(session, self.owner, self.clock())
                await self.rows_free(session)

    def wake(self) -> None:
        """Look for rows now (another instance wrote or gave some up)."""
        self._wake.set()

    async def rows_free(self, session: AsyncSession) -> None:
        """Rows for any sender are in the caller's transaction: once it commits, every
        instance's sender looks for them (NOTIFY), or this one (SQLite's one instance)."""
        if self.announce is not None:
            await self.announce(session)
        else:
            event.listen(session.sync_session, "after_commit", lambda _s: self.wake(), once=True)

    # -- taking parcels --------------------------------------------------------------------
    def take(self, parcels: Sequence[Parcel]) -> None:
        """Deliver these (rows this instance holds), each chat's after what it already has."""
        for parcel in parcels:
            if parcel.id in self._held:
                continue
            self._held.add(parcel.id)
            queue = self._queues.get(parcel.chat)
            if queue is not None:
                queue.append(parcel)
                continue
            self._queues[parcel.chat] = deque([parcel])
            self._spawn(self._work(parcel.chat), "outbox-chat")

    async def sweep_once(self) -> int:
        """Take what nobody holds; renew the lease on what this instance holds."""
        now = self.clock()
        async with self.database.session() as session, session.begin():
            await outbox.renew(session, self.owner, self._held, self.held_until(now))
            rows = await outbox.claim(
                session,
                owner=self.owner,
                now=now,
                held_until=self.held_until(now),
                limit=_SWEEP_LIMIT,
                skip=self._held,
                channels=self.transports,
            )
            parcels, unreadable = self._unpack(rows)
            for row in unreadable:
                await outbox.failed(session, row.id, "unreadable")
        if parcels:
            log.info("outbox: %d message(s) taken up", len(parcels))
        self.take(parcels)
        return len(parcels)

    def _unpack(
        self, rows: Sequence[OutboxMessage]
    ) -> tuple[list[Parcel], list[OutboxMessage]]:
        parcels, unreadable = [], []
        for row in rows:
            try:
                address = self.keyring.open(row.sealed_address, row.chat)
                message = message_of(outbox.open_body(self.keyring, row))
            except (SealError, ValueError, KeyError):
                unreadable.append(row)
                continue
            parcels.append(
                Parcel(
                    row.id,
                    row.chat,
                    row.channel,
                    address,
                    message,
                    Lane(row.lane),
                    row.created_at,
                    row.attempts,
                )
            )
        return parcels, unreadable

    async def _sweep(self) -> None:
        every = max(self.sweep_every, 0.05)
        while self._running:
            try:
                await self.sweep_once()
            except Exception as error:
                log.warning("outbox sweep failed: %s", type(error).__name__)
            await wait_for_event(self._wake, every)
            self._wake.clear()

    # -- sending one chat's messages -------------------------------------------------------
    async def _work(self, chat: str) -> None:
        queue = self._queues[chat]
        try:
            while queue:
                parcel = queue[0]
                if parcel.channel not in self.transports:
                    await self._give_back(queue)
                    break
                async with self.slots.slot(parcel.lane):
                    attempt = await self._try(parcel)
                    if attempt.result is Result.SENT:
                        # Marked before the place is given back: a message the channel took
                        # and whose row is not deleted yet (sent again after a kill -9) holds
                        # a place, so there are never more of them than places.
                        queue.popleft()
                        await self._settle(parcel, attempt)
                        continue
                if attempt.result is Result.RETRY and await self._later(parcel, attempt):
                    continue
                if attempt.result is Result.BLOCKED:
                    await self._blocked(chat, queue)
                    break
                queue.popleft()
                await self._settle(parcel, attempt)
        finally:
            if self._queues.get(chat) is queue and not queue:
                del self._queues[chat]

    async def _give_back(self, queue: deque[Parcel]) -> None:
        """A chat on a channel this instance does not run: its rows go to a sender that
        does (woken at once); they stay in the outbox's hands, never lost."""
        ids = [parcel.id for parcel in queue]

        async def give_back(session: AsyncSession) -> None:
            await outbox.give_back(session, self.owner, ids)
            await self.rows_free(session)

        await self._write(give_back)
        log.info("outbox: %d message(s) left for an instance with their channel", len(ids))
        while queue:
            parcel = queue.popleft()
            self._held.discard(parcel.id)
            parcel.tried.set()

    async def _try(self, parcel: Parcel) -> Attempt:
        transport = self.transports[parcel.channel]
        try:
            return await transport.attempt(parcel.address, parcel.message)
        except Exception as error:
            return Attempt(Result.RETRY, type(error).__name__)

    async def _later(self, parcel: Parcel, attempt: Attempt) -> bool:
        """Wait and try again; False when the message is too old to be worth it."""
        parcel.attempts += 1
        now = self.clock()
        if now - parcel.created_at > self.max_age:
            return False
        pause = min(_FIRST_PAUSE * 2 ** (parcel.attempts - 1), _LONGEST_PAUSE)
        log.warning(
            "send failed (%s), try %d; again in %.1f s", attempt.reason, parcel.attempts, pause
        )
        due = now + timedelta(seconds=pause)
        await self._write(
            lambda session: outbox.later(
                session,
                parcel.id,
                attempts=parcel.attempts,
                due_at=due,
                held_until=self.held_until(due),
            )
        )
        parcel.tried.set()
        await asyncio.sleep(pause)
        return True

    async def _settle(self, parcel: Parcel, attempt: Attempt) -> None:
        if attempt.result is Result.SENT:
            await self._delivered(parcel.id)
            self.sent += 1
            parcel.outcome = Delivery.SENT
        else:
            reason = attempt.reason or attempt.result.value
            log.warning("message failed for good: %s", reason)
            await self._write(lambda session: outbox.failed(session, parcel.id, reason))
            parcel.outcome = Delivery.FAILED
        self._held.discard(parcel.id)
        parcel.tried.set()

    async def _blocked(self, chat: str, queue: deque[Parcel]) -> None:
        async def settle(session: Any) -> None:
            await outbox.drop_chat(session, chat)
            await participants.mark_unreachable(session, chat)

        await self._write(settle)
        log.info("participant unreachable; sends stopped")
        while queue:
            parcel = queue.popleft()
            parcel.outcome = Delivery.BLOCKED
            self._held.discard(parcel.id)
            parcel.tried.set()
        for listener in self.blocked_listeners:
            listener()

    async def _delivered(self, row_id: int) -> None:
        """Delete the row; deletions arriving while one is written go together (a group
        commit), so a busy instance writes one transaction for many messages."""
        self._to_delete.append(row_id)
        if self._deleting is None or self._deleting.done():
            self._deleting = asyncio.create_task(self._delete_all(), name="outbox-delete")
            self._tasks.add(self._deleting)
            self._deleting.add_done_callback(self._tasks.discard)
        await asyncio.shield(self._deleting)

    async def _delete_all(self) -> None:
        while self._to_delete:
            ids, self._to_delete = self._to_delete, []
            await self._until_written(
                functools.partial(outbox.forget_delivered, self.database, ids)
            )

    async def _write(self, work: Callable[[Any], Coroutine[Any, Any, None]]) -> None:
        """One transaction, repeated until the database takes it."""

        async def transaction() -> None:
            async with self.database.session() as session, session.begin():
                await work(session)

        await self._until_written(transaction)

    @staticmethod
    async def _until_written(write: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Repeated until the database takes it: what was sent must be written down, or it
        would be sent again."""
        while True:
            try:
                await write()
            except Exception as error:
                log.warning("outbox write failed: %s; again", type(error).__name__)
                await asyncio.sleep(_DATABASE_PAUSE)
            else:
                return

    def _spawn(self, coroutine: Coroutine[Any, Any, Any], name: str) -> None:
        task = asyncio.create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
