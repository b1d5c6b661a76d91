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

from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    DateTime,
    Integer,
    Interval,
    String,
    and_,
    any_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

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
    connection = await session.connection()  # Core: statements built once, bound here
    now = await _lock(connection, answered)
    if prune:
        await connection.execute(
            _PRUNE,
            {
                "kept_since": now - max(_KEPT, timedelta(seconds=period)),
                "stale_since": now - _STALE,
            },
        )
    if not wanted:
        return []
    chats = _Chats(now)
    held, oldest, places = await _counts(connection, now, limit, period, wanted, chats)
    if places is not None:
        return [Verdict(place) for place in places]
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
        rows = [{"started_at": now, "chat": chat} for chat in given]
        ids = iter((await connection.execute(_INSERT, rows)).scalars())
        verdicts = [Verdict(next(ids)) if v.place == -1 else v for v in verdicts]
    return verdicts


async def _counts(  # noqa: PLR0917 - take's own values, passed on
    connection: AsyncConnection,
    now: datetime,
    limit: int,
    period: float,
    wanted: Sequence[ChatLimit | None],
    chats: _Chats,
) -> tuple[int, datetime | None, list[int] | None]:
    """The bot's count and its oldest answer, with each wanted chat's rows put in `chats`;
    and when every send in `wanted` is in a chat of its own (the usual batch), a place for
    each if the bot's window has room for them all and none of their chats holds a send,
    in the same statement (`_GIVE_ALL`); else None, and `take` decides send by send."""
    limits = [chat for chat in wanted if chat is not None]
    keys = [chat.chat for chat in limits]
    since = {"stale_since": now - _STALE, "overall_since": now - timedelta(seconds=period)}
    longest = max((chat.period for chat in limits), default=period)
    places: list[int] | None = None
    if len(set(keys)) == len(keys):
        held, oldest, chat_keys, answers, places = (
            await connection.execute(
                _GIVE_ALL,
                since
                | {
                    "chats": keys,
                    "chat_since": now - timedelta(seconds=longest),
                    "wanted": [chat.chat if chat is not None else None for chat in wanted],
                    "started_at": now,
                    "room": limit - len(wanted),
                },
            )
        ).one()
    else:
        held, oldest, chat_keys, answers = (
            await connection.execute(
                _BOTH,
                since
                | {"chats": sorted(set(keys)), "chat_since": now - timedelta(seconds=longest)},
            )
        ).one()
    chats.rows = list(zip(chat_keys or (), answers or (), strict=True))
    return held, oldest, places


async def _lock(connection: AsyncConnection, answered: Mapping[int, float] | None) -> datetime:
    """Take the budget's lock and mark the places in `answered`; the database's time."""
    if not answered:
        return (await connection.execute(_LOCK)).scalar_one()  # type: ignore[no-any-return]
    # Marked as of its answer, not of this transaction: a place marked a second late would
    # stay in the window a second too long, and the bot would send below the cap. In the
    # lock's statement (one round trip), each as of the lock's time less its age.
    ages = [timedelta(seconds=ago) for ago in answered.values()]
    return (  # type: ignore[no-any-return]
        await connection.execute(_LOCK_AND_MARK, {"places": list(answered), "ages": ages})
    ).scalar_one()


async def mark_answered(connection: AsyncConnection, answered: Mapping[int, float]) -> None:
    """Mark places answered, each so many seconds ago (as `take` does), outside the budget's
    lock, in statements committed as they run: the database's time when a statement runs
    less the seconds measured before it was sent is no earlier than the answer, and a
    `take` that counted the place before still counted it as in flight. Either way a send
    counts no shorter than it should; the lock only orders the decisions."""
    if answered:
        await connection.execute(
            _MARK_AGO,
            [
                {"place": place, "ago": timedelta(seconds=ago)}
                for place, ago in answered.items()
            ],
        )


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


def _counting(since: str) -> ColumnElement[bool]:
    """The sends a window holds: in flight (and not taken for gone: started after
    `stale_since`), or answered after the bound parameter `since` (now less the period)."""
    return or_(
        and_(
            TelegramSend.answered_at.is_(None),
            TelegramSend.started_at >= bindparam("stale_since"),
        ),
        TelegramSend.answered_at >= bindparam(since),
    )


# Run for every batch of sends, so built once with bound parameters (building and keying
# them anew cost more of the event loop than their round trips).
_LOCK = select(func.clock_timestamp()).where(TelegramBudget.id == 1).with_for_update()
# The lock and the answers' marks in one statement: the marks are a data-modifying CTE
# whose value is computed from the lock's row (a subquery run before the first row is
# written), so they are written only once the lock is held (as when they were a statement
# after it: the same order of locks, the prune's included), each place's answered_at the
# lock's time less its age. The decision's counts stay a statement of
# their own: one read after the lock sees what the instance that held it before committed.
_LOCKED = (
    select(func.clock_timestamp().label("now"))
    .where(TelegramBudget.id == 1)
    .with_for_update()
    .cte("locked")
)
_ANSWERS = (
    func.unnest(
        bindparam("places", type_=ARRAY(BigInteger)), bindparam("ages", type_=ARRAY(Interval))
    )
    .table_valued("place", "age", name="answers")
    .render_derived()
)
_LOCK_AND_MARK = select(_LOCKED.c.now).add_cte(
    update(TelegramSend)
    .where(TelegramSend.id == _ANSWERS.c.place)
    .values(answered_at=select(_LOCKED.c.now).scalar_subquery() - _ANSWERS.c.age)
    .cte("marked")
)
# Outside the lock: the database's time when the statement runs, less how long ago the
# answer came by the instance's clock, measured before the statement was sent.
_MARK_AGO = (
    update(TelegramSend)
    .where(TelegramSend.id == bindparam("place"))
    .values(answered_at=func.clock_timestamp() - bindparam("ago", type_=Interval()))
)
_PRUNE = delete(TelegramSend).where(
    or_(
        TelegramSend.answered_at < bindparam("kept_since"),
        and_(
            TelegramSend.answered_at.is_(None),
            TelegramSend.started_at < bindparam("stale_since"),
        ),
    )
)
_OVERALL = _counting("overall_since")
# The bot's count and the chats' rows in one statement (one round trip): the two arrays
# are aggregated from the same rows in the same order, pair by pair.
_IN_CHATS = and_(
    # One array parameter, not an IN list expanded (and the SQL rendered) at every batch.
    TelegramSend.chat == any_(bindparam("chats", type_=ARRAY(String))),
    _counting("chat_since"),
)
_BOTH = select(
    func.count().filter(_OVERALL).label("held"),
    func.min(TelegramSend.answered_at).filter(_OVERALL).label("oldest"),
    func.array_agg(TelegramSend.chat).filter(_IN_CHATS).label("chat_keys"),
    func.array_agg(TelegramSend.answered_at).filter(_IN_CHATS).label("answers"),
).where(or_(_OVERALL, _IN_CHATS))
_INSERT = insert(TelegramSend).returning(TelegramSend.id, sort_by_parameter_order=True)
# _BOTH, and a place for every send in `wanted` (in order: the ids ascend with it) when the
# bot's window has room for them all (`room`: the limit less their number) and no send is
# counted in any of their chats (each appears once in `wanted`): then each send's own
# decision below would give it a place too. The counts read what committed before the lock
# was taken (a statement after the lock's), as the decision's do.
_COUNTED = _BOTH.cte("counted")
_WANTED = (
    func.unnest(bindparam("wanted", type_=ARRAY(String)))
    .table_valued("chat", with_ordinality="position", name="wanted")
    .render_derived()
)
_GIVEN = (
    insert(TelegramSend)
    .from_select(
        ["started_at", "chat"],
        select(bindparam("started_at", type_=DateTime(timezone=True)), _WANTED.c.chat)
        .where(
            select(_COUNTED.c.held).scalar_subquery() <= bindparam("room", type_=Integer),
            select(_COUNTED.c.chat_keys).scalar_subquery().is_(None),
        )
        .order_by(_WANTED.c.position),
    )
    .returning(TelegramSend.id)
    .cte("given")
)
_GIVE_ALL = select(
    _COUNTED.c.held,
    _COUNTED.c.oldest,
    _COUNTED.c.chat_keys,
    _COUNTED.c.answers,
    select(func.array_agg(aggregate_order_by(_GIVEN.c.id, _GIVEN.c.id))).scalar_subquery(),
)


def _wait(now: datetime, limit: int, period: float, held: int, oldest: datetime | None) -> float:
    """0.0 when the window has room, else the seconds until its oldest answer leaves it."""
    if held < limit:
        return 0.0
    if oldest is None:  # every place is a send in flight
        return _IN_FLIGHT_PAUSE
    return max((oldest + timedelta(seconds=period) - now).total_seconds(), 0.001)

