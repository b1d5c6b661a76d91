"""Queries of the volunteers' console: log-in sessions, the coordinators' inbox, canned
responses and the read-along audit log. Session tokens are random and stored only as
SHA-256 hashes (storage/sessions.py, as the dashboard's are)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    CannedResponse,
    ConsoleSession,
    Handover,
    InboxItem,
    Participant,
    ReadAlong,
    Volunteer,
)
from storage.sessions import Sessions

FLAG, FOLLOW_UP = "flag", "follow_up"
OPEN, HANDLED = "open", "handled"


# -- volunteers who log in -----------------------------------------------------------------
async def volunteer_by_alias(session: AsyncSession, org_slug: str, alias: str) -> Volunteer | None:
    return await session.scalar(
        select(Volunteer).where(
            Volunteer.org_slug == org_slug, func.lower(Volunteer.alias) == alias.lower()
        )
    )


SESSIONS = Sessions(ConsoleSession, Volunteer, "volunteer_id")


async def use_totp_step(session: AsyncSession, volunteer_id: int, step: int) -> bool:
    """Take a code's time step for a log-in, once: False when it (or a later one) was used
    already, by this request or one in parallel on any instance."""
    result = await session.execute(
        update(Volunteer)
        .where(Volunteer.id == volunteer_id,
               (Volunteer.totp_step.is_(None)) | (Volunteer.totp_step < step))
        .values(totp_step=step)
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1


async def open_session(
    session: AsyncSession, volunteer: Volunteer, now: datetime, lifetime: timedelta
) -> str:
    """A new console session; returns the cookie's token (not stored as it is)."""
    volunteer.last_active_at = now
    return await SESSIONS.open(session, volunteer.id, now, lifetime)


async def find_session(
    session: AsyncSession, token: str, now: datetime
) -> tuple[ConsoleSession, Volunteer] | None:
    return await SESSIONS.find(session, token, now)


async def close_session(session: AsyncSession, token: str) -> None:
    await SESSIONS.close(session, token)


async def close_sessions_of(session: AsyncSession, volunteer_id: int) -> None:
    await SESSIONS.close_all_of(session, volunteer_id)


async def colleagues_with_room(
    session: AsyncSession, volunteer: Volunteer, capacity: int
) -> Sequence[Volunteer]:
    """Available volunteers of the same organisation, reachable, with fewer than
    `capacity` conversations: whom a conversation can be transferred to. One statement."""
    rows = await session.scalars(_with_room(select(Volunteer), volunteer, capacity))
    return rows.all()


async def colleague_aliases(
    session: AsyncSession, volunteer: Volunteer, capacity: int
) -> list[str]:
    """The same colleagues' aliases only: what every console refresh shows (no rows
    loaded into the session)."""
    rows = await session.scalars(_with_room(select(Volunteer.alias), volunteer, capacity))
    return [alias or "" for alias in rows]


def _with_room(query: Select[Any], volunteer: Volunteer, capacity: int) -> Select[Any]:
    busy = (
        select(Handover.volunteer_id, func.count().label("open"))
        .where(Handover.status == "active", Handover.volunteer_id.is_not(None))
        .group_by(Handover.volunteer_id)
        .subquery()
    )
    return (
        query
        .join(Participant, Participant.id == Volunteer.participant_id)
        .outerjoin(busy, busy.c.volunteer_id == Volunteer.id)
        .where(
            Volunteer.org_slug == volunteer.org_slug,
            Volunteer.id != volunteer.id,
            Volunteer.active,
            Volunteer.available,
            Participant.reachable,
            func.coalesce(busy.c.open, 0) < capacity,
        )
        .order_by(Volunteer.alias)
    )


# -- the coordinators' inbox ---------------------------------------------------------------
def add_to_inbox(
    session: AsyncSession, kind: str, row: Handover, *, org_slug: str, alias: str,
    now: datetime,
) -> None:
    session.add(InboxItem(
        org_slug=org_slug, kind=kind, handover_id=row.id, young_number=row.young_number,
        volunteer_alias=alias, created_at=now, status=OPEN,
    ))


async def inbox(session: AsyncSession, org_slugs: Sequence[str] | None) -> Sequence[InboxItem]:
    """Open items first, newest first; `None` for every organisation."""
    statement = select(InboxItem)
    if org_slugs is not None:
        statement = statement.where(InboxItem.org_slug.in_(org_slugs))
    statement = statement.order_by(
        (InboxItem.status == OPEN).desc(), InboxItem.created_at.desc(), InboxItem.id.desc()
    ).limit(200)
    return (await session.scalars(statement)).all()


async def mark_handled(
    session: AsyncSession, item_id: int, org_slugs: Sequence[str] | None, by: str,
    now: datetime,
) -> bool:
    statement = update(InboxItem).where(InboxItem.id == item_id, InboxItem.status == OPEN)
    if org_slugs is not None:
        statement = statement.where(InboxItem.org_slug.in_(org_slugs))
    result = await session.execute(
        statement.values(status=HANDLED, handled_by=by, handled_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1


# -- canned responses ----------------------------------------------------------------------
async def canned(session: AsyncSession, org_slug: str) -> Sequence[CannedResponse]:
    rows = await session.scalars(
        select(CannedResponse)
        .where(CannedResponse.org_slug == org_slug)
        .order_by(CannedResponse.language, CannedResponse.title, CannedResponse.id)
    )
    return rows.all()


def add_canned(
    session: AsyncSession, org_slug: str, language: str, *, title: str, text: str,
    now: datetime,
) -> None:
    session.add(CannedResponse(
        org_slug=org_slug, language=language, title=title, text=text, created_at=now
    ))


async def remove_canned(session: AsyncSession, item_id: int, org_slugs: Sequence[str] | None
                        ) -> None:
    statement = delete(CannedResponse).where(CannedResponse.id == item_id)
    if org_slugs is not None:
        statement = statement.where(CannedResponse.org_slug.in_(org_slugs))
    await session.execute(statement)


# -- read-along ----------------------------------------------------------------------------
def log_read_along(
    session: AsyncSession, coordinator: str, row: Handover, alias: str, now: datetime
) -> None:
    session.add(ReadAlong(
        org_slug=row.org_slug or "", coordinator_name=coordinator, handover_id=row.id,
        young_number=row.young_number, volunteer_alias=alias, viewed_at=now,
    ))


async def read_alongs(session: AsyncSession, org_slugs: Sequence[str] | None
                      ) -> Sequence[ReadAlong]:
    statement = select(ReadAlong)
    if org_slugs is not None:
        statement = statement.where(ReadAlong.org_slug.in_(org_slugs))
    return (await session.scalars(statement.order_by(ReadAlong.id.desc()).limit(200))).all()


async def read_along_by(session: AsyncSession, handover_id: int, since: datetime
                        ) -> Sequence[str]:
    """Coordinators who opened this conversation since `since` (its start)."""
    rows = await session.scalars(
        select(ReadAlong.coordinator_name)
        .where(ReadAlong.handover_id == handover_id, ReadAlong.viewed_at >= since)
        .distinct()
    )
    return rows.all()
