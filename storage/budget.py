"""Telegram's budget shared by every instance on one PostgreSQL: at most `limit` sends in
any `period` for the whole bot, and at most `chat_limit` in any `chat_period` for one chat
(1 a second in a private chat, 20 a minute in a group), counted the way
bot/telegram/limits.py counts them in one process (a send holds its place from its start
until a period after its answer), here in a table that all instances read under one row
lock. Times are the database's own, so instances' clocks do not matter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import TelegramBudget, TelegramSend

# A send not answered within this is taken for gone (its instance died mid-send).
_STALE = timedelta(seconds=60)
# The longest window a send may count in (a group's minute): kept that long, no longer.
_KEPT = timedelta(seconds=60)
_IN_FLIGHT_PAUSE = 0.02


@dataclass(frozen=True)
class ChatLimit:
    """A chat's own window: `chat` is a keyed hash of the chat, never Telegram's id."""

    chat: str
    limit: int
    period: float


async def reserve(
    session: AsyncSession,
    limit: int,
    period: float,
    chat: ChatLimit | None = None,
    *,
    prune: bool = True,
) -> tuple[int | None, float, bool]:
    """Take a place: (its id, 0.0, False); or (None, seconds until one may be free, whether
    it is the chat's own window that is full). Three round trips under the lock: the lock
    with the database's time, both windows' counts in one statement, the insert; rows past
    every window are deleted when `prune` (now and then is enough: the counts skip them)."""
    now: datetime = (
        await session.execute(
            select(func.clock_timestamp()).where(TelegramBudget.id == 1).with_for_update()
        )
    ).scalar_one()
    if prune:
        await session.execute(
            delete(TelegramSend).where(
                or_(
                    TelegramSend.answered_at < now - max(_KEPT, timedelta(seconds=period)),
                    and_(
                        TelegramSend.answered_at.is_(None),
                        TelegramSend.started_at < now - _STALE,
                    ),
                )
            )
        )
    overall = _counting(now, period)
    columns: list[ColumnElement[Any]] = [
        func.count().filter(overall),
        func.min(TelegramSend.answered_at).filter(overall),
    ]
    if chat is not None:
        own = and_(TelegramSend.chat == chat.chat, _counting(now, chat.period))
        columns += [func.count().filter(own), func.min(TelegramSend.answered_at).filter(own)]
    counts = (await session.execute(select(*columns))).one()
    if chat is not None:
        wait = _wait(now, chat.limit, chat.period, counts[2], counts[3])
        if wait > 0:
            return None, wait, True
    wait = _wait(now, limit, period, counts[0], counts[1])
    if wait > 0:
        return None, wait, False
    taken = await session.scalar(
        insert(TelegramSend)
        .values(started_at=now, chat=chat.chat if chat is not None else None)
        .returning(TelegramSend.id)
    )
    return taken, 0.0, False


def _counting(now: datetime, period: float) -> ColumnElement[bool]:
    """The sends a window of `period` holds: in flight (and not taken for gone), or
    answered less than `period` ago."""
    return or_(
        and_(TelegramSend.answered_at.is_(None), TelegramSend.started_at >= now - _STALE),
        TelegramSend.answered_at >= now - timedelta(seconds=period),
    )


def _wait(now: datetime, limit: int, period: float, held: int, oldest: datetime | None) -> float:
    """0.0 when the window has room, else the seconds until its oldest answer leaves it."""
    if held < limit:
        return 0.0
    if oldest is None:  # every place is a send in flight
        return _IN_FLIGHT_PAUSE
    return max((oldest + timedelta(seconds=period) - now).total_seconds(), 0.001)


async def answered(session: AsyncSession, send_id: int) -> None:
    """The send was answered: its place is free a period from now."""
    await session.execute(
        update(TelegramSend)
        .where(TelegramSend.id == send_id)
        .values(answered_at=func.clock_timestamp())
    )
