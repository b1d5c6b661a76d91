"""Telegram's budget shared by every instance on one PostgreSQL: at most `limit` sends in
any `period`, counted the way bot/telegram/limits.py counts them in one process (a send
holds its place from its start until `period` after its answer), here in a table that all
instances read under one row lock. Times are the database's own, so instances' clocks do
not matter."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import TelegramBudget, TelegramSend

# A send not answered within this is taken for gone (its instance died mid-send).
_STALE = timedelta(seconds=60)
_IN_FLIGHT_PAUSE = 0.02


async def reserve(session: AsyncSession, limit: int, period: float) -> tuple[int | None, float]:
    """Take a place: (its id, 0.0); or (None, seconds until one may be free)."""
    await session.execute(
        select(TelegramBudget.id).where(TelegramBudget.id == 1).with_for_update()
    )
    now: datetime = (await session.execute(select(func.clock_timestamp()))).scalar_one()
    window = timedelta(seconds=period)
    await session.execute(
        delete(TelegramSend).where(
            or_(
                TelegramSend.answered_at < now - window,
                and_(TelegramSend.answered_at.is_(None), TelegramSend.started_at < now - _STALE),
            )
        )
    )
    held, oldest = (
        await session.execute(select(func.count(), func.min(TelegramSend.answered_at)))
    ).one()
    if held < limit:
        taken = await session.scalar(
            insert(TelegramSend).values(started_at=now).returning(TelegramSend.id)
        )
        return taken, 0.0
    if oldest is None:  # every place is a send in flight
        return None, _IN_FLIGHT_PAUSE
    return None, max((oldest + window - now).total_seconds(), 0.001)


async def answered(session: AsyncSession, send_id: int) -> None:
    """The send was answered: its place is free a period from now."""
    await session.execute(
        update(TelegramSend)
        .where(TelegramSend.id == send_id)
        .values(answered_at=func.clock_timestamp())
    )
