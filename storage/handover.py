"""Queries of the handover: invites, volunteers, the queue, relayed messages.

Taking a waiting person is one conditional UPDATE (`claim`): it changes the row only while
its status is still "waiting", so of two volunteers pressing at once exactly one sees a
rowcount of 1. On PostgreSQL, /next first picks candidates with FOR UPDATE SKIP LOCKED,
so two volunteers asking at once are handed different people instead of queueing on one;
on SQLite every write transaction begins IMMEDIATE, so writers take turns anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Handover, Invite, Participant, RelayMessage, Volunteer

DRAFT, WAITING, ACTIVE = "draft", "waiting", "active"
ENDED, WITHDRAWN, TIMED_OUT = "ended", "withdrawn", "timed_out"
OPEN = (DRAFT, WAITING, ACTIVE)
YOUNG, VOLUNTEER = "young", "volunteer"


def _rowcount(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


# -- invites ------------------------------------------------------------------------------
async def redeem_invite(session: AsyncSession, code_hash: str, now: datetime) -> Invite | None:
    """Use the invite once: the conditional update lets exactly one redemption through."""
    result = await session.execute(
        update(Invite)
        .where(Invite.code_hash == code_hash, Invite.used_at.is_(None), Invite.expires_at > now)
        .values(used_at=now)
    )
    if _rowcount(result) != 1:
        return None
    return await session.scalar(select(Invite).where(Invite.code_hash == code_hash))


# -- volunteers ---------------------------------------------------------------------------
# Asked for every message, so built once (bound parameters), not per call.
_VOLUNTEER_OF = select(Volunteer).where(Volunteer.participant_id == bindparam("participant"))


async def volunteer_of(session: AsyncSession, participant_id: int) -> Volunteer | None:
    return await session.scalar(_VOLUNTEER_OF, {"participant": participant_id})


async def has_volunteers(session: AsyncSession, org_slugs: Sequence[str]) -> bool:
    """Whether any of these organisations has a registered (active) volunteer or
    coordinator at all, available now or not."""
    found = await session.scalar(
        select(Volunteer.id)
        .where(Volunteer.active.is_(True), Volunteer.org_slug.in_(list(org_slugs)))
        .limit(1)
    )
    return found is not None


async def alias_taken(session: AsyncSession, org_slug: str, alias: str) -> bool:
    found = await session.scalar(
        select(func.count())
        .select_from(Volunteer)
        .where(Volunteer.org_slug == org_slug, func.lower(Volunteer.alias) == alias.lower())
    )
    return bool(found)


async def on_duty(session: AsyncSession) -> Sequence[Volunteer]:
    """Registered volunteers who said /available and can be written to."""
    rows = await session.scalars(
        select(Volunteer)
        .join(Participant, Participant.id == Volunteer.participant_id)
        .where(Volunteer.active, Volunteer.available, Participant.reachable)
        .order_by(Volunteer.id)
    )
    return rows.all()


async def all_volunteers(session: AsyncSession) -> Sequence[Volunteer]:
    rows = await session.scalars(select(Volunteer).order_by(Volunteer.org_slug, Volunteer.alias))
    return rows.all()


async def coordinators(session: AsyncSession, org_slug: str) -> Sequence[Volunteer]:
    rows = await session.scalars(
        select(Volunteer).where(
            Volunteer.org_slug == org_slug, Volunteer.role == "coordinator", Volunteer.active
        )
    )
    return rows.all()


async def lock_volunteer(session: AsyncSession, volunteer_id: int) -> Volunteer | None:
    """The volunteer's row, locked on PostgreSQL until the transaction ends, so one volunteer
    taking two people at once from two instances cannot go over their capacity."""
    statement = select(Volunteer).where(Volunteer.id == volunteer_id)
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update()
    return await session.scalar(statement.execution_options(populate_existing=True))


# -- handovers ----------------------------------------------------------------------------
_OPEN_FOR = select(Handover).where(
    Handover.participant_id == bindparam("participant"), Handover.status.in_(OPEN)
)


async def open_for(session: AsyncSession, participant_id: int) -> Handover | None:
    """The young person's draft, wait or conversation, if any (at most one)."""
    return await session.scalar(_OPEN_FOR, {"participant": participant_id})


async def active_for(session: AsyncSession, volunteer_id: int) -> Sequence[Handover]:
    rows = await session.scalars(
        select(Handover)
        .where(Handover.volunteer_id == volunteer_id, Handover.status == ACTIVE)
        .order_by(Handover.claimed_at)
    )
    return rows.all()


async def waiting(
    session: AsyncSession,
    *,
    languages: Sequence[str] | None = None,
    age_bands: Sequence[str] | None = None,
    limit: int | None = None,
    skip_locked: bool = False,
) -> Sequence[Handover]:
    """Waiting people in the order they are served: crisis first, then the longest wait."""
    statement = select(Handover).where(Handover.status == WAITING)
    if languages is not None:
        statement = statement.where(Handover.language.in_(languages))
    if age_bands is not None:
        statement = statement.where(Handover.age_band.in_(age_bands))
    statement = statement.order_by(
        Handover.crisis.desc(), Handover.requested_at, Handover.id
    ).limit(limit)
    if skip_locked and session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    return (await session.scalars(statement)).all()


async def claim(
    session: AsyncSession, handover_id: int, volunteer_id: int, org_slug: str, now: datetime
) -> bool:
    """Take one waiting person; True for exactly one of any number of concurrent takers."""
    result = await session.execute(
        update(Handover)
        .where(Handover.id == handover_id, Handover.status == WAITING)
        .values(
            status=ACTIVE,
            volunteer_id=volunteer_id,
            org_slug=org_slug,
            claimed_at=now,
            last_message_at=now,
            idle_asked_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


async def mark_once(
    session: AsyncSession, handover_id: int, column: str, now: datetime, **where: object
) -> bool:
    """Set a notice time (timeout_noticed_at, idle_asked_at, resumed_at) if it is still as
    `where` says; True for the one instance that should send the notice."""
    conditions = [getattr(Handover, key) == value for key, value in where.items()]
    result = await session.execute(
        update(Handover)
        .where(Handover.id == handover_id, *conditions)
        .values({column: now})
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


async def recent_waits(session: AsyncSession, since: datetime, limit: int = 20) -> list[float]:
    """Seconds from joining the queue to being taken, newest first."""
    rows = await session.execute(
        select(Handover.requested_at, Handover.claimed_at)
        .where(
            Handover.claimed_at.is_not(None),
            Handover.requested_at.is_not(None),
            Handover.claimed_at >= since,
        )
        .order_by(Handover.claimed_at.desc())
        .limit(limit)
    )
    return [
        (claimed - requested).total_seconds()
        for requested, claimed in rows.all()
        if requested is not None and claimed is not None
    ]


async def needing_attention(
    session: AsyncSession, *, timeout_before: datetime, idle_before: datetime
) -> Sequence[Handover]:
    """Rows the runner may have to act on: waits past the time-out, quiet conversations,
    and open handovers of someone who can no longer be written to."""
    unreachable = select(Participant.id).where(Participant.reachable.is_(False))
    lost = select(Volunteer.id).where(
        or_(Volunteer.participant_id.in_(unreachable), Volunteer.active.is_(False))
    )
    rows = await session.scalars(
        select(Handover).where(
            or_(
                (Handover.status == WAITING)
                & Handover.timeout_noticed_at.is_(None)
                & (Handover.waiting_since <= timeout_before),
                (Handover.status == ACTIVE) & (Handover.last_message_at <= idle_before),
                (Handover.status == ACTIVE) & Handover.idle_asked_at.is_not(None),
                Handover.status.in_(OPEN) & Handover.participant_id.in_(unreachable),
                (Handover.status == ACTIVE)
                & (Handover.volunteer_id.in_(lost) | Handover.volunteer_id.is_(None)),
            )
        )
    )
    return rows.all()


async def in_progress(session: AsyncSession) -> Sequence[Handover]:
    rows = await session.scalars(
        select(Handover).where(Handover.status.in_((WAITING, ACTIVE))).order_by(Handover.id)
    )
    return rows.all()


# -- relayed text -------------------------------------------------------------------------
def keep_message(session: AsyncSession, handover_id: int, sender: str, text: str,
                 now: datetime) -> None:
    session.add(RelayMessage(handover_id=handover_id, sender=sender, text=text, sent_at=now))


async def forget_text(session: AsyncSession, handover_id: int) -> None:
    """The end of a conversation without retention: its text and notes go."""
    await session.execute(delete(RelayMessage).where(RelayMessage.handover_id == handover_id))
    await session.execute(
        update(Handover)
        .where(Handover.id == handover_id)
        .values(note=None, handback_note=None)
        .execution_options(synchronize_session=False)
    )


async def clear_abandoned_drafts(session: AsyncSession, created_before: datetime) -> int:
    """Drafts nobody finished (the preview read, a note perhaps written, never sent to the
    queue): deleted with their notes. A later tap on the old preview is answered as stale."""
    result = await session.execute(
        delete(Handover).where(Handover.status == DRAFT, Handover.created_at < created_before)
    )
    return _rowcount(result)


async def prune_text(session: AsyncSession, ended_before: datetime) -> int:
    """Past the retention period: delete text and notes of conversations ended before."""
    ended = select(Handover.id).where(
        Handover.status.not_in(OPEN), Handover.ended_at < ended_before
    )
    result = await session.execute(
        delete(RelayMessage).where(RelayMessage.handover_id.in_(ended))
    )
    await session.execute(
        update(Handover)
        .where(
            Handover.status.not_in(OPEN),
            Handover.ended_at < ended_before,
            or_(Handover.note.is_not(None), Handover.handback_note.is_not(None)),
        )
        .values(note=None, handback_note=None)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result)


async def messages_of(session: AsyncSession, handover_id: int) -> Sequence[RelayMessage]:
    rows = await session.scalars(
        select(RelayMessage)
        .where(RelayMessage.handover_id == handover_id)
        .order_by(RelayMessage.id)
    )
    return rows.all()
