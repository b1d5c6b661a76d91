"""Coordinators and their dashboard sessions. Password hashing is the caller's (argon2 in
`bot/dashboard/auth.py`); session tokens are random and stored only as SHA-256 hashes
(storage/sessions.py, as the console's are).

A session ends when it expires, at log-out, and whenever what it was opened for changes:
a new password, another role or organisation, a deactivation, or an explicit "end
sessions". The CLI and the dashboard call these same functions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Coordinator, DashboardSession
from storage.sessions import Sessions


async def by_name(session: AsyncSession, name: str) -> Coordinator | None:
    return await session.scalar(select(Coordinator).where(Coordinator.name == name))


async def add(
    session: AsyncSession, name: str, org_slug: str, password_hash: str, *, admin: bool,
    now: datetime,
) -> Coordinator:
    """A new coordinator, or a new password and organisation for an existing name (whose
    open sessions end: they were opened with the old password and role)."""
    found = await by_name(session, name)
    if found is None:
        found = Coordinator(name=name, created_at=now)
        session.add(found)
    else:
        await _end_sessions_of(session, found.id)
    found.org_slug, found.password_hash, found.admin, found.active = (
        org_slug, password_hash, admin, True,
    )
    await session.flush()
    return found


async def deactivate(session: AsyncSession, name: str) -> bool:
    """No more log-ins, and every open session ends now; False for an unknown name."""
    found = await by_name(session, name)
    if found is None:
        return False
    found.active = False
    await _end_sessions_of(session, found.id)
    return True


async def end_sessions(session: AsyncSession, name: str) -> int | None:
    """End every open session of the coordinator; how many, or None for an unknown name."""
    found = await by_name(session, name)
    if found is None:
        return None
    return await _end_sessions_of(session, found.id)


async def _end_sessions_of(session: AsyncSession, coordinator_id: int) -> int:
    return await SESSIONS.close_all_of(session, coordinator_id)


async def open_sessions(
    session: AsyncSession, now: datetime, name: str | None = None
) -> Sequence[tuple[str, DashboardSession]]:
    """(coordinator name, session) for every session not yet expired, oldest first."""
    statement = (
        select(Coordinator.name, DashboardSession)
        .join(Coordinator, Coordinator.id == DashboardSession.coordinator_id)
        .where(DashboardSession.expires_at > now, Coordinator.active)
        .order_by(Coordinator.name, DashboardSession.created_at)
    )
    if name is not None:
        statement = statement.where(Coordinator.name == name)
    return [(row[0], row[1]) for row in (await session.execute(statement)).all()]


async def all_coordinators(session: AsyncSession) -> Sequence[Coordinator]:
    return (await session.scalars(select(Coordinator).order_by(Coordinator.name))).all()


SESSIONS = Sessions(DashboardSession, Coordinator, "coordinator_id")


async def open_session(
    session: AsyncSession, coordinator: Coordinator, now: datetime, lifetime: timedelta
) -> str:
    """A new session; returns the token for the cookie (not stored as it is)."""
    coordinator.last_login_at = now
    return await SESSIONS.open(session, coordinator.id, now, lifetime)


async def find_session(
    session: AsyncSession, token: str, now: datetime
) -> tuple[DashboardSession, Coordinator] | None:
    return await SESSIONS.find(session, token, now)


async def close_session(session: AsyncSession, token: str) -> None:
    await SESSIONS.close(session, token)
