"""One round of check-ins: settle what is past saving, keep quiet hours, then claim what is
due and send it, each row exactly once (see storage/checkins.py for the claim protocol).

A row is taken over into "sending" in the same transaction as its message is written to
the durable outbox (bot/outbox.py): both commit or neither does, so a crash can neither
lose a check-in that was taken over (the outbox delivers it after the restart) nor send one
twice. The outcomes of a batch are written together afterwards: a crash before that leaves
the rows "sending", which later rounds record as 'uncertain' and never take over again.
Batches overlap: the next is claimed as soon as the last send of the current one has
started, and a batch's outcomes are written while the next is being sent, so the sends
never stop between batches.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from dialogues.content import Texts
from dialogues.messages import Delivery, DurableOutbox, Outbound, Outbox
from scheduler import messages
from scheduler.planning import Rules
from storage import checkins, events
from storage.checkins import ASK, BRIDGE, CHECKIN, REMINDER, Claimed, Recipient, Sending
from storage.db import Database
from storage.limits import Pacer
from storage.models import Checkin
from storage.types import Clock

log = logging.getLogger(__name__)

ASK_AFTER_UNANSWERED = 3
MAX_ATTEMPTS = 5
_RETRY_AFTER = timedelta(seconds=30)
_PAGE = 200  # rows settled per transaction


@dataclass
class _Batch:
    token: str
    people: dict[int, Recipient]
    claimed: int
    sends: list[asyncio.Task[None]] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)


@dataclass(frozen=True)
class Outcome:
    row: Sending
    kind: str  # what was sent: a reminder may have become the question
    person: Recipient
    delivery: Delivery | None  # None: the send raised before anything reached the person


class Dispatcher:
    def __init__(
        self,
        database: Database,
        outbox: Outbox,
        texts: Texts,
        rules: Rules,
        *,
        clock: Clock,
        batch_size: int = 200,
        concurrency: int = 8,
        pacer: Pacer | None = None,
    ) -> None:
        self.database = database
        self.outbox = outbox
        self.texts = texts
        self.rules = rules
        self.clock = clock
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.pacer = pacer or Pacer()
        self.stopping = False
        self.tokens: set[str] = set()  # claims in hand, given back on stop
        self.sent = 0  # messages this instance delivered, for logs and tests

    async def run(self) -> None:
        now = self.clock()
        await self._settle_overdue(now)
        if self.rules.is_quiet(now):
            await self._defer_quiet(now)
            return
        free = asyncio.Semaphore(self.concurrency)  # sends in flight, across batches
        finishing: list[asyncio.Task[None]] = []
        try:
            # A failed batch (the database may be away) stops the round.
            while not self.stopping and not any(_failed(task) for task in finishing):
                token, now = uuid.uuid4().hex, self.clock()
                async with self.database.session() as session, session.begin():
                    claims = await checkins.claim_due(
                        session,
                        now=now,
                        stale_before=now - self.rules.stale_after,
                        token=token,
                        limit=self.batch_size,
                    )
                    people = await checkins.recipients(
                        session, {c.participant_id for c in claims}
                    )
                if not claims:
                    break
                self.tokens.add(token)
                batch = _Batch(token, people, len(claims))
                try:
                    await self._start_sends(batch, claims, free)
                finally:
                    finishing.append(asyncio.create_task(self._finish(batch)))
                finishing = [task for task in finishing if not task.done() or _failed(task)]
        finally:
            results = await asyncio.gather(*finishing, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def release(self) -> None:
        async with self.database.session() as session, session.begin():
            for token in self.tokens:
                await checkins.release(session, token)
        self.tokens.clear()

    # -- past saving, and quiet hours ------------------------------------------------------
    async def _settle_overdue(self, now: datetime) -> None:
        """Check-ins later than the grace period are missed (the next one is planned); a
        send abandoned half-way by a dead instance is 'uncertain' and never repeated."""
        while True:
            async with self.database.session() as session, session.begin():
                rows = await checkins.overdue(
                    session,
                    late_before=now - self.rules.grace,
                    stale_before=now - self.rules.stale_after,
                    limit=_PAGE,
                )
                people = await checkins.recipients(session, {r.participant_id for r in rows})
                for row in rows:
                    if row.status == checkins.SENDING:
                        log.warning("a check-in send was interrupted; not repeated")
                        row.status = checkins.UNCERTAIN
                    else:
                        row.status = checkins.MISSED
                        person = people.get(row.participant_id)
                        if person is not None:
                            await _record(session, person, "checkin_missed", row.kind, now)
                    self._plan_next(session, row, now)
            if len(rows) < _PAGE:
                return

    async def _defer_quiet(self, now: datetime) -> None:
        """Nothing is sent in quiet hours: what is due moves to their end."""
        end = self.rules.outside_quiet(now)
        while True:
            async with self.database.session() as session, session.begin():
                rows = await checkins.due_now(session, now, limit=_PAGE)
                for row in rows:
                    row.due_at = end
            if len(rows) < _PAGE:
                return

    # -- sending ---------------------------------------------------------------------------
    async def _start_sends(
        self, batch: _Batch, claims: list[Claimed], free: asyncio.Semaphore
    ) -> None:
        """Start a send for each claim as soon as fewer than `concurrency` are in flight,
        with no waiting for a whole wave: the pacer and the channel's rate limiter alone
        set the pace. Each check-in is taken over in its own transaction just before it is
        sent, so a crash leaves at most `concurrency` 'uncertain'."""

        async def take_over_and_send(claim: Claimed) -> None:
            try:
                async with self.pacer.turn(claim.participant_id):
                    outcome = await self._take_over_and_send(claim.id, batch)
                if outcome is not None:
                    batch.outcomes.append(outcome)
            finally:
                free.release()

        for claim in claims:
            await free.acquire()
            if self.stopping or any(_failed(task) for task in batch.sends):
                free.release()
                return
            batch.sends.append(asyncio.create_task(take_over_and_send(claim)))

    async def _finish(self, batch: _Batch) -> None:
        """Wait for the batch's sends, then write every outcome, even when a send failed
        badly; the claims are given up once all were sent (else `release` gives them back)."""
        try:
            results = await asyncio.gather(*batch.sends, return_exceptions=True)
        finally:
            await self._settle(batch.outcomes)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        if len(batch.sends) == batch.claimed:
            self.tokens.discard(batch.token)

    async def _take_over_and_send(self, claim_id: int, batch: _Batch) -> Outcome | None:
        """Take the row over into "sending" and write its message to the durable outbox in
        one transaction: both happen or neither does, so a crash can neither lose a check-in
        that was taken over nor send one that was not. Then wait for the first try."""
        outbox = self.outbox
        if not isinstance(outbox, DurableOutbox):
            return await self._take_over_then_send(claim_id, batch)
        async with self.database.session() as session, session.begin():
            rows = await checkins.begin_send(
                await session.connection(), [claim_id], batch.token, self.clock()
            )
            if not rows:
                return None
            row = rows[0]
            person = batch.people.get(row.participant_id)
            composed = await self._compose(session, row, person)
            if composed is None or person is None:
                return None
            message, kind = composed
            written = await outbox.write(session, row.participant_id, message)
        delivery = Delivery.BLOCKED if written is None else await outbox.deliver(written)
        if delivery is Delivery.SENT:
            self.sent += 1
        return Outcome(row, kind, person, delivery)

    async def _take_over_then_send(self, claim_id: int, batch: _Batch) -> Outcome | None:
        """For an outbox that cannot write in our transaction (tests' recording ones): the
        take-over commits first, so a crash after it never leads to a second send."""
        async with self.database.engine.begin() as connection:
            rows = await checkins.begin_send(connection, [claim_id], batch.token, self.clock())
        if not rows:
            return None
        row = rows[0]
        person = batch.people.get(row.participant_id)
        async with self.database.session() as session, session.begin():
            composed = await self._compose(session, row, person)
        if composed is None or person is None:
            return None
        message, kind = composed
        try:
            delivery: Delivery | None = await self.outbox.send(row.participant_id, message)
        except Exception as error:
            # Raised before anything reached the person (a 429 beyond the retries, the
            # network): tried again a little later, a few times.
            log.warning("check-in send failed: %s; retried later", type(error).__name__,
                        exc_info=True)
            delivery = None
        if delivery is Delivery.SENT:
            self.sent += 1
        return Outcome(row, kind, person, delivery)

    async def _compose(
        self, session: AsyncSession, row: Sending, person: Recipient | None
    ) -> tuple[Outbound, str] | None:
        """The message for a row and its kind, or None (and the row settled) when nothing
        is to be sent."""
        if person is None or not person.reachable:
            await checkins.settle(session, row.id, checkins.BLOCKED)
            await checkins.stop_all(session, row.participant_id, status=checkins.BLOCKED)
            return None
        kind = row.kind
        if kind == REMINDER:
            parent = await session.get(Checkin, row.follows_id) if row.follows_id else None
            if (
                parent is None
                or parent.status != checkins.SENT
                or parent.sent_at is None
                or await checkins.sent_since(session, row.participant_id, parent.sent_at)
            ):
                # Answered, or a newer check-in went out: the reminder is moot.
                await checkins.settle(session, row.id, checkins.CANCELLED)
                return None
            streak = await checkins.unanswered_in_a_row(session, row.participant_id)
            if streak >= ASK_AFTER_UNANSWERED and not await checkins.asked_without_answer(
                session, row.participant_id
            ):
                kind = ASK  # the question takes the reminder's place
                await checkins.settle(session, row.id, checkins.SENDING, kind=ASK)
        compose = {CHECKIN: messages.checkin, REMINDER: messages.reminder, ASK: messages.ask,
                   BRIDGE: messages.bridge}
        return compose[kind](self.texts, person.language, row.id), kind

    # -- outcomes --------------------------------------------------------------------------
    async def _settle(self, outcomes: list[Outcome]) -> None:
        if not outcomes:
            return
        now = self.clock()
        async with self.database.session() as session, session.begin():
            sent = [o for o in outcomes if o.delivery is Delivery.SENT]
            recorded = await checkins.mark_sent(session, [o.row.id for o in sent], now)
            for outcome in sent:
                if outcome.row.id in recorded:
                    await self._after_sent(session, outcome, now)
            for outcome in outcomes:
                if outcome.delivery is not Delivery.SENT:
                    await self._after_not_sent(session, outcome, now)

    async def _after_sent(self, session: AsyncSession, outcome: Outcome, now: datetime) -> None:
        row = outcome.row
        if outcome.kind == CHECKIN:
            checkins.add(
                session,
                row.participant_id,
                self.rules.reminder_due(now),
                kind=REMINDER,
                follows_id=row.id,
            )
            self._plan_next(session, row, now)
        elif outcome.kind == ASK:
            await checkins.pause_all(session, row.participant_id)
        await _record(session, outcome.person, "checkin_sent", outcome.kind, now)

    async def _after_not_sent(
        self, session: AsyncSession, outcome: Outcome, now: datetime
    ) -> None:
        row = outcome.row
        if outcome.delivery is Delivery.BLOCKED:
            if await checkins.settle(session, row.id, checkins.BLOCKED):
                await checkins.stop_all(session, row.participant_id, status=checkins.BLOCKED)
                await _record(session, outcome.person, "checkin_blocked", row.kind, now)
        elif outcome.delivery is not None or row.attempts >= MAX_ATTEMPTS:
            # Failed for good, or it may have arrived (a time-out): never repeated.
            if await checkins.settle(session, row.id, checkins.FAILED):
                self._plan_next(session, row, now)
        else:
            await checkins.settle(
                session,
                row.id,
                checkins.PLANNED,
                claimed_by=None,
                claimed_at=None,
                due_at=now + _RETRY_AFTER * row.attempts,
            )

    def _plan_next(self, session: AsyncSession, row: Checkin | Sending, now: datetime) -> None:
        """A weekly check-in that is done plans next week's, in the same transaction."""
        if row.kind != CHECKIN or row.weekday is None or not row.slot:
            return
        due = self.rules.next_weekly(row.weekday, row.slot, after=max(now, row.due_at))
        checkins.add(session, row.participant_id, due, slot=row.slot, weekday=row.weekday)


async def _record(
    session: AsyncSession, person: Recipient, kind: str, detail: str, now: datetime
) -> None:
    await events.record(
        session, kind, detail, channel=person.channel, language=person.language, at=now
    )


def _failed(task: asyncio.Task[None]) -> bool:
    return task.done() and not task.cancelled() and task.exception() is not None
