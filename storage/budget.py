"""Telegram's budget shared by every instance on one PostgreSQL: at most `limit` sends in
any `period` for the whole bot, and at most `chat_limit` in any `chat_period` for one chat
(1 a second in a private chat, 20 a minute in a group), counted the way
bot/telegram/limits.py counts them in one process (a send holds its place from its start
until a period after its answer), here in a table that all instances read under one row
lock. Times are the database's own, so instances' clocks do not matter.

One transaction serves many sends (`take`): it marks the places whose sends were answered
since the last one, then decides, in the order they came, for every send that waits in
the instance at that moment, with the bot's count and each chat's own from two statements,
and inserts the places it gives in one statement. An instance thus writes one transaction
per batch of sends, not two per send (storage/limits.py `SharedWindow` makes the batches)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

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


@dataclass(frozen=True)
class Verdict:
    """A place (its id), or none yet: then the seconds until one may be free, and whether
    it is the chat's own window that is full (else the bot's)."""

    place: int | None
    wait: float = 0.0
    chat_full: bool = False


async def take(
    session: AsyncSession,
    limit: int,
    period: float,
    wanted: Sequence[ChatLimit | None],
    *,
    answered: Mapping[int, float] | None = None,
    prune: bool = True,
) -> list[Verdict]:
    """Mark the places in `answered` as answered, each so many seconds before now (the
    instance measured that on its own monotonic clock before this transaction began, so it
    is never earlier than the answer: a send counts no shorter), then decide for each send
    in `wanted`, in order: a place, or how long to wait. A send whose chat is full waits
    for its chat alone; once the bot's window is full, every send after it waits too (first
    come, first served). Rows past every window are deleted when `prune` (now and then is
    enough: the counts skip them)."""
    now: datetime = (
        await session.execute(
            select(func.clock_timestamp()).where(TelegramBudget.id == 1).with_for_update()
        )
    ).scalar_one()
    if answered:
        # Marked as of its answer, not of this transaction: a place marked a second late
        # would stay in the window a second too long, and the bot would send below the cap.
        await session.execute(
            update(TelegramSend),
            [
                {"id": place, "answered_at": now - timedelta(seconds=ago)}
                for place, ago in answered.items()
            ],
        )
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
    if not wanted:
        return []
    overall = _counting(now, period)
    counts = select(
        func.count().filter(overall), func.min(TelegramSend.answered_at).filter(overall)
    )
    held, oldest = (await session.execute(counts)).one()
    chats = _Chats(now)
    limits = [chat for chat in wanted if chat is not None]
    if limits:
        longest = max(chat.period for chat in limits)
        rows = await session.execute(
            select(TelegramSend.chat, TelegramSend.answered_at).where(
                TelegramSend.chat.in_({chat.chat for chat in limits}),
                _counting(now, longest),
            )
        )
        chats.rows = [(chat, at) for chat, at in rows]
    verdicts: list[Verdict] = []
    given: list[str | None] = []
    overall_wait = 0.0
    for chat in wanted:
        if chat is not None:
            wait = chats.wait(chat)
            if wait > 0:
                verdicts.append(Verdict(None, wait, chat_full=True))
                continue
        if not overall_wait:
            overall_wait = _wait(now, limit, period, held + len(given), oldest)
        if overall_wait:
            verdicts.append(Verdict(None, overall_wait))
            continue
        given.append(chat.chat if chat is not None else None)
        if chat is not None:
            chats.given[chat.chat] += 1
        verdicts.append(Verdict(-1))  # the place's id comes from the insert below
    if given:
        places = iter(
            (
                await session.scalars(
                    insert(TelegramSend).returning(
                        TelegramSend.id, sort_by_parameter_order=True
                    ),
                    [{"started_at": now, "chat": chat} for chat in given],
                )
            ).all()
        )
        verdicts = [Verdict(next(places)) if v.place == -1 else v for v in verdicts]
    return verdicts


class _Chats:
    """Each chat's count in its own window: the rows read, plus the places given in this
    transaction (in flight)."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.rows: list[tuple[str | None, datetime | None]] = []
        self.given: Counter[str] = Counter()

    def wait(self, chat: ChatLimit) -> float:
        since = self.now - timedelta(seconds=chat.period)
        answers = [at for c, at in self.rows if c == chat.chat and at is not None and at >= since]
        in_flight = sum(1 for c, at in self.rows if c == chat.chat and at is None)
        held = len(answers) + in_flight + self.given[chat.chat]
        return _wait(self.now, chat.limit, chat.period, held, min(answers, default=None))


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

