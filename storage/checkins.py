"""Check-in rows: planning, claiming what is due, and the answers.

Sending exactly once rests on two conditional updates. `claim_due` moves due rows from
"planned" to "claimed" under a fresh token (PostgreSQL: FOR UPDATE SKIP LOCKED, so two
instances take disjoint rows without waiting; SQLite: one writer at a time, and the update
re-checks the status). `begin_send` then moves rows from "claimed" by that token to
"sending" just before they are sent: whoever lost a claim (it went stale and another
instance took it over) finds no row and sends nothing. A "claimed" row whose instance died
is claimed again after the stale timeout; a "sending" row whose instance died may or may
not have reached the person, so it is never sent again (see `overdue`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from storage.models import Checkin, Participant

CHECKIN, REMINDER, ASK = "checkin", "reminder", "ask"
# The community follow-up ("did you go?"): sent by the same machinery, answered by its
# own buttons (scheduler/bridging.py), and then "replied".
BRIDGE = "bridge"
PLANNED, PAUSED, CLAIMED, SENDING = "planned", "paused", "claimed", "sending"
SENT, ANSWERED, MISSED, CANCELLED = "sent", "answered", "missed", "cancelled"
REPLIED = "replied"
FAILED, BLOCKED, UNCERTAIN = "failed", "blocked", "uncertain"
UPCOMING = (PLANNED, PAUSED)


@dataclass(frozen=True)
class Claimed:
    id: int
    participant_id: int


def add(
    session: AsyncSession,
    participant_id: int,
    due_at: datetime,
    *,
    kind: str = CHECKIN,
    slot: str = "",
    weekday: int | None = None,
    follows_id: int | None = None,
) -> Checkin:
    checkin = Checkin(
        participant_id=participant_id,
        kind=kind,
        slot=slot,
        weekday=weekday,
        due_at=due_at,
        status=PLANNED,
        follows_id=follows_id,
        attempts=0,
    )
    session.add(checkin)
    return checkin


def _claimable(now: datetime, stale_before: datetime) -> ColumnElement[bool]:
    return or_(
        and_(Checkin.status == PLANNED, Checkin.due_at <= now),
        and_(Checkin.status == CLAIMED, Checkin.claimed_at < stale_before),
    )


async def claim_due(
    session: AsyncSession, *, now: datetime, stale_before: datetime, token: str, limit: int
) -> list[Claimed]:
    """Claim up to `limit` rows that are due (or whose claim went stale), oldest first."""
    condition = _claimable(now, stale_before)
    due = (
        select(Checkin.id)
        .where(condition)
        .order_by(Checkin.due_at, Checkin.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("due")
    )
    statement = (
        update(Checkin)
        .where(Checkin.id.in_(select(due.c.id)), condition)
        .values(status=CLAIMED, claimed_by=token, claimed_at=now, attempts=Checkin.attempts + 1)
        .returning(Checkin.id, Checkin.participant_id)
    )
    rows = (await session.execute(statement)).all()
    return sorted((Claimed(row.id, row.participant_id) for row in rows), key=lambda c: c.id)


@dataclass(frozen=True)
class Sending:
    """A row taken over for sending: what the runner needs of it, without the ORM."""

    id: int
    participant_id: int
    kind: str
    slot: str
    weekday: int | None
    due_at: datetime
    follows_id: int | None
    attempts: int


async def begin_send(
    connection: AsyncConnection, ids: Sequence[int], token: str, now: datetime
) -> list[Sending]:
    """Take claimed rows over into "sending", just before they are sent; rows whose claim
    is no longer ours are left out. (On a bare connection: it is done for every send, and
    the ORM adds nothing here.)"""
    if not ids:
        return []
    rows = await connection.execute(
        update(Checkin)
        .where(Checkin.id.in_(ids), Checkin.status == CLAIMED, Checkin.claimed_by == token)
        .values(status=SENDING, claimed_at=now)
        .returning(
            Checkin.id,
            Checkin.participant_id,
            Checkin.kind,
            Checkin.slot,
            Checkin.weekday,
            Checkin.due_at,
            Checkin.follows_id,
            Checkin.attempts,
        )
    )
    return sorted((Sending(**row._mapping) for row in rows), key=lambda row: row.id)


async def settle(
    session: AsyncSession, checkin_id: int, status: str, *, was: str = SENDING, **values: object
) -> bool:
    """Move a row from status `was` to `status` (with `values`); False when it was not in
    `was` any more, so two outcomes can never both be recorded."""
    result = await session.execute(
        update(Checkin)
        .where(Checkin.id == checkin_id, Checkin.status == was)
        .values(status=status, **values)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def mark_sent(session: AsyncSession, ids: Sequence[int], now: datetime) -> set[int]:
    """Record sends; the ids that were still "sending" (their follow-ups are the caller's).
    A row given up on as 'uncertain' meanwhile is only corrected to "sent"."""
    if not ids:
        return set()
    result = await session.execute(
        update(Checkin)
        .where(Checkin.id.in_(ids), Checkin.status == SENDING)
        .values(status=SENT, sent_at=now)
        .returning(Checkin.id)
        .execution_options(synchronize_session=False)
    )
    recorded = set(result.scalars().all())
    if len(recorded) < len(ids):
        await session.execute(
            update(Checkin)
            .where(Checkin.id.in_(ids), Checkin.status == UNCERTAIN)
            .values(status=SENT, sent_at=now)
            .execution_options(synchronize_session=False)
        )
    return recorded


async def release(session: AsyncSession, token: str) -> int:
    """Give claimed rows back (an instance stopping), so another need not wait them out."""
    result = await session.execute(
        update(Checkin)
        .where(Checkin.status == CLAIMED, Checkin.claimed_by == token)
        .values(status=PLANNED, claimed_by=None, claimed_at=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def overdue(
    session: AsyncSession, *, late_before: datetime, stale_before: datetime, limit: int = 200
) -> Sequence[Checkin]:
    """Rows past saving, locked for the caller: planned rows later than the grace period,
    and sends abandoned half-way by an instance that died."""
    statement = (
        select(Checkin)
        .where(
            or_(
                and_(Checkin.status == PLANNED, Checkin.due_at < late_before),
                and_(Checkin.status == SENDING, Checkin.claimed_at < stale_before),
            )
        )
        .order_by(Checkin.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (await session.scalars(statement)).all()


async def due_now(session: AsyncSession, now: datetime, *, limit: int = 200) -> Sequence[Checkin]:
    """Planned rows that are due, locked for the caller (to move them out of quiet hours)."""
    statement = (
        select(Checkin)
        .where(Checkin.status == PLANNED, Checkin.due_at <= now)
        .order_by(Checkin.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (await session.scalars(statement)).all()


async def next_due(session: AsyncSession) -> datetime | None:
    return await session.scalar(select(func.min(Checkin.due_at)).where(Checkin.status == PLANNED))


async def upcoming(session: AsyncSession, participant_id: int) -> Sequence[Checkin]:
    """The person's planned (or paused) check-ins, soonest first: what /checkins lists."""
    statement = (
        select(Checkin)
        .where(
            Checkin.participant_id == participant_id,
            Checkin.kind == CHECKIN,
            Checkin.status.in_(UPCOMING),
        )
        .order_by(Checkin.due_at, Checkin.id)
    )
    return (await session.scalars(statement)).all()


async def own_upcoming(
    session: AsyncSession, participant_id: int, checkin_id: int
) -> Checkin | None:
    """One of the person's upcoming check-ins, or None (someone else's, or already done)."""
    checkin = await session.get(Checkin, checkin_id)
    if (
        checkin is None
        or checkin.participant_id != participant_id
        or checkin.kind != CHECKIN
        or checkin.status not in UPCOMING
    ):
        return None
    return checkin


async def stop_all(session: AsyncSession, participant_id: int, *, status: str = CANCELLED) -> int:
    """Stop everything still to be sent to the person; the count of rows stopped."""
    result = await session.execute(
        update(Checkin)
        .where(Checkin.participant_id == participant_id, Checkin.status.in_(UPCOMING))
        .values(status=status)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


# Run for every message a person sends, so built once (bound parameters), not per call.
_ANSWER = (
    update(Checkin)
    .where(Checkin.participant_id == bindparam("participant"), Checkin.status == SENT)
    .values(status=ANSWERED, answered_at=bindparam("now"))
    .returning(Checkin.kind)
    .execution_options(synchronize_session=False)
)


async def note_answer(session: AsyncSession, participant_id: int, now: datetime) -> bool:
    """The person wrote or pressed a button: what was sent counts as answered, pending
    reminders and questions are dropped, paused check-ins go on. True when a check-in,
    reminder or question was waiting for an answer (a community follow-up alone is not
    a check-in kept)."""
    answered = (
        await session.execute(_ANSWER, {"participant": participant_id, "now": now})
    ).scalars().all()
    if not answered:
        return False
    await session.execute(
        update(Checkin)
        .where(
            Checkin.participant_id == participant_id,
            Checkin.kind.in_((REMINDER, ASK)),
            Checkin.status == PLANNED,
        )
        .values(status=CANCELLED)
        .execution_options(synchronize_session=False)
    )
    return any(kind != BRIDGE for kind in answered)


async def reply_to_bridge(session: AsyncSession, participant_id: int, checkin_id: int) -> bool:
    """The person answered their community follow-up with its buttons: True the first time
    (the answer is recorded once, however often a button is pressed)."""
    result = await session.execute(
        update(Checkin)
        .where(
            Checkin.id == checkin_id,
            Checkin.participant_id == participant_id,
            Checkin.kind == BRIDGE,
            Checkin.status.in_((SENT, ANSWERED)),
        )
        .values(status=REPLIED)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def bridge_planned(session: AsyncSession, participant_id: int) -> Checkin | None:
    """The person's community follow-up still to be sent, if there is one."""
    return await session.scalar(
        select(Checkin).where(
            Checkin.participant_id == participant_id,
            Checkin.kind == BRIDGE,
            Checkin.status.in_(UPCOMING),
        ).order_by(Checkin.due_at).limit(1)
    )


async def paused(session: AsyncSession, participant_id: int) -> Sequence[Checkin]:
    statement = select(Checkin).where(
        Checkin.participant_id == participant_id, Checkin.status == PAUSED
    )
    return (await session.scalars(statement)).all()


async def pause_all(session: AsyncSession, participant_id: int) -> None:
    await session.execute(
        update(Checkin)
        .where(Checkin.participant_id == participant_id, Checkin.status == PLANNED)
        .values(status=PAUSED)
        .execution_options(synchronize_session=False)
    )


async def unanswered_in_a_row(session: AsyncSession, participant_id: int) -> int:
    """Check-ins sent and not answered since the person last answered anything (an answer
    marks everything sent before it answered)."""
    count = await session.scalar(
        select(func.count())
        .select_from(Checkin)
        .where(
            Checkin.participant_id == participant_id,
            Checkin.kind == CHECKIN,
            Checkin.status == SENT,
        )
    )
    return int(count or 0)


async def asked_without_answer(session: AsyncSession, participant_id: int) -> bool:
    found = await session.scalar(
        select(Checkin.id).where(
            Checkin.participant_id == participant_id,
            Checkin.kind == ASK,
            Checkin.status.in_((SENT, SENDING, CLAIMED, PLANNED)),
        )
    )
    return found is not None


async def sent_since(session: AsyncSession, participant_id: int, moment: datetime) -> bool:
    """Whether a newer check-in reached the person after `moment` (a reminder is then moot)."""
    found = await session.scalar(
        select(Checkin.id).where(
            Checkin.participant_id == participant_id,
            Checkin.kind == CHECKIN,
            Checkin.sent_at > moment,
        )
    )
    return found is not None


@dataclass(frozen=True)
class Recipient:
    channel: str
    language: str
    reachable: bool


async def recipient(session: AsyncSession, participant_id: int) -> Recipient | None:
    """What the runner needs to know of the person: no address, no pseudonym."""
    row = (
        await session.execute(
            select(Participant.channel, Participant.language, Participant.reachable).where(
                Participant.id == participant_id
            )
        )
    ).first()
    return None if row is None else Recipient(row.channel, row.language, row.reachable)


async def recipients(session: AsyncSession, ids: set[int]) -> dict[int, Recipient]:
    if not ids:
        return {}
    rows = await session.execute(
        select(
            Participant.id, Participant.channel, Participant.language, Participant.reachable
        ).where(Participant.id.in_(ids))
    )
    return {row.id: Recipient(row.channel, row.language, row.reachable) for row in rows}
