"""The handover runner: what happens to handovers with time rather than with a message.

Each round (every `tick_seconds`, or when woken): tell people who have waited past the
time-out; ask quiet conversations whether anyone is still there, and close them a while
later; settle handovers of people who blocked the bot; delete kept text past the retention
period. The first round after a start tells everyone waiting or in a conversation that
nothing was lost. Every notice is claimed by a conditional update first, so two instances
(or a round and a test calling `run_once`) never send one twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from dialogues.messages import Outbox
from storage import handover as store
from storage.db import Database
from storage.models import Handover, Participant, Volunteer
from storage.types import Clock, utcnow
from volunteers import lifecycle
from volunteers.messages import Post, Wording
from volunteers.queue import Policy

log = logging.getLogger(__name__)

_RESUME_WINDOW = timedelta(minutes=1)  # two instances starting together notify once
_Work = Callable[[AsyncSession, datetime], Awaitable[list[Post]]]


class HandoverRunner:
    def __init__(
        self,
        database: Database,
        outbox: Outbox,
        wording: Wording,
        policy: Policy,
        *,
        clock: Clock = utcnow,
        tick_seconds: float = 30.0,
    ) -> None:
        self.database = database
        self.outbox = outbox
        self.wording = wording
        self.policy = policy
        self.clock = clock
        self.tick_seconds = tick_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._resume_pending = True
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        self._resume_pending = True
        self._task = asyncio.create_task(self._loop(), name="handover-runner")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def wake(self) -> None:
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.run_once()
            except Exception as error:
                log.exception("handover round failed: %s", type(error).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.tick_seconds)

    async def run_once(self) -> None:
        """One round; rounds never overlap within an instance."""
        async with self._lock:
            now = self.clock()
            if self._resume_pending:
                await self._send(await self._in_transaction(self._resume, now))
                self._resume_pending = False
            if not await self._send(await self._in_transaction(self._attend, now)):
                await self._send(await self._in_transaction(self._attend, now))
            async with self.database.session() as session, session.begin():
                await store.clear_abandoned_drafts(session, now - self.policy.draft_lifetime)
                if self.policy.retention > timedelta():
                    await store.prune_text(session, now - self.policy.retention)

    async def _in_transaction(self, work: _Work, now: datetime) -> list[Post]:
        async with self.database.session() as session, session.begin():
            return await work(session, now)

    async def _send(self, posts: list[Post]) -> bool:
        return await lifecycle.deliver(self.outbox, posts) if posts else True

    # -- after a restart -----------------------------------------------------------------
    async def _resume(self, session: AsyncSession, now: datetime) -> list[Post]:
        posts: list[Post] = []
        for row in await store.in_progress(session):
            if row.resumed_at is not None and now - row.resumed_at < _RESUME_WINDOW:
                continue
            if not await store.mark_once(
                session, row.id, "resumed_at", now, resumed_at=row.resumed_at
            ):
                continue
            young = await lifecycle.language_of(session, row.participant_id)
            if row.status == store.WAITING:
                posts.append((row.participant_id, self.wording.say(
                    "handover_resumed_waiting", young
                )))
                continue
            volunteer = await session.get(Volunteer, row.volunteer_id or 0)
            if volunteer is None:
                continue
            language = await lifecycle.language_of(session, volunteer.participant_id)
            posts.append((row.participant_id, self.wording.say(
                "handover_resumed_young", young, self.wording.end_button(young),
                alias=volunteer.alias or "",
            )))
            posts.append((volunteer.participant_id, self.wording.say(
                "volunteer_resumed", language, *self.wording.volunteer_buttons(row, language),
                name=self.wording.name(row, language),
            )))
        return posts

    # -- time-outs, quiet conversations, blocks --------------------------------------------
    async def _attend(self, session: AsyncSession, now: datetime) -> list[Post]:
        policy = self.policy
        rows = await store.needing_attention(
            session, timeout_before=now - policy.wait_timeout, idle_before=now - policy.idle_ask
        )
        posts: list[Post] = []
        for row in rows:
            posts += await self._attend_one(session, row, now)
        return posts

    async def _attend_one(self, session: AsyncSession, row: Handover, now: datetime) -> list[Post]:
        policy, wording = self.policy, self.wording
        young = await session.get(Participant, row.participant_id)
        if young is None:
            return []
        if not young.reachable:
            if row.status == store.ACTIVE:
                return await lifecycle.end(
                    session, wording, policy, row, now, by=lifecycle.ENDED_BLOCKED
                )
            await lifecycle.leave_queue(session, row, now, blocked=True)
            return []
        if row.status == store.ACTIVE:
            return await self._attend_active(session, row, now, young.language)
        if row.status == store.WAITING and await store.mark_once(
            session, row.id, "timeout_noticed_at", now, timeout_noticed_at=None
        ):
            await lifecycle.record(session, row, "handover_timed_out", now=now)
            return [(row.participant_id, m) for m in wording.timeout(young.language, row.crisis)]
        return []

    async def _attend_active(
        self, session: AsyncSession, row: Handover, now: datetime, young: str
    ) -> list[Post]:
        policy, wording = self.policy, self.wording
        volunteer = await session.get(Volunteer, row.volunteer_id or 0)
        reachable = volunteer is not None and (
            (person := await session.get(Participant, volunteer.participant_id)) is not None
            and person.reachable
        )
        if volunteer is None or not reachable or not volunteer.active:
            if volunteer is not None:
                volunteer.available = False
            return await lifecycle.hand_back(session, wording, policy, row, now, note=None,
                                             lost=True)
        last = row.last_message_at or now
        if row.idle_asked_at is None:
            if now - last < policy.idle_ask or not await store.mark_once(
                session, row.id, "idle_asked_at", now, idle_asked_at=None
            ):
                return []
            language = await lifecycle.language_of(session, volunteer.participant_id)
            minutes = int(policy.idle_close.total_seconds() // 60)
            idle = int(policy.idle_ask.total_seconds() // 60)
            return [
                (row.participant_id, wording.say(
                    "handover_idle_ask", young, wording.end_button(young), minutes=minutes
                )),
                (volunteer.participant_id, wording.say(
                    "volunteer_idle_ask", language, *wording.volunteer_buttons(row, language),
                    idle=idle, minutes=minutes,
                )),
            ]
        if now - row.idle_asked_at >= policy.idle_close and last <= row.idle_asked_at:
            return await lifecycle.end(session, wording, policy, row, now, by=lifecycle.ENDED_IDLE)
        return []

