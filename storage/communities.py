"""The community directory's rows: read whole, seeded once, edited one at a time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import CommunityEntry


async def every(session: AsyncSession) -> Sequence[CommunityEntry]:
    found = await session.scalars(select(CommunityEntry).order_by(CommunityEntry.id))
    return found.all()


async def seed(session: AsyncSession, entries: Sequence[dict[str, Any]]) -> int:
    """Add `entries` if the directory is empty (a fresh deployment); how many were added."""
    if await session.scalar(select(func.count()).select_from(CommunityEntry)):
        return 0
    session.add_all(CommunityEntry(**entry) for entry in entries)
    return len(entries)


async def get(session: AsyncSession, entry_id: int) -> CommunityEntry | None:
    return await session.get(CommunityEntry, entry_id)


async def remove(session: AsyncSession, entry_id: int) -> None:
    await session.execute(delete(CommunityEntry).where(CommunityEntry.id == entry_id))
