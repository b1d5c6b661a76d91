"""The totals the statistics read (storage/models/statistics.py): what their rows are,
counted from the event log and the measurements, and the fold that stores them,
incrementally and exactly once.

What is folded is told by a watermark (the last event id and measurement id folded) kept
in the same transaction as the totals, so a crash folds nothing and the next fold does it
all. Events are folded by id, not by hour, so an event recorded late for an hour already
folded is still counted, into its own day. Two instances folding at once take turns on the
watermark's row. Ids are only a safe watermark once every lower id is committed: on SQLite
one writer at a time guarantees it; PostgreSQL hands sequence values out before commit,
so there a brief SHARE lock first waits for the writers in flight (see `committed_up_to`).

Reads never wait for the fold: `storage.statistics` adds what is not folded yet.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    Select,
    and_,
    case,
    cast,
    delete,
    exists,
    func,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from storage.models import (
    DailyCount,
    DailyValue,
    FoldState,
    Measurement,
    MeasurementScore,
    StatEvent,
)
from storage.types import UTCDateTime

log = logging.getLogger(__name__)

VALUED_KINDS = ("handover_claimed", "handover_ended")  # events whose `value` is kept
Rows = Select[*tuple[Any, ...]]
# How long a fold on PostgreSQL waits for the writers in flight (new writers queue behind
# it meanwhile) before it gives up until the next round.
LOCK_TIMEOUT = "2s"
# Ids folded in one transaction at most: a year's log is folded in steps of a second or so.
STEP = 200_000
_LOCK_NOT_AVAILABLE = "55P03"


@dataclass(frozen=True)
class Watermarks:
    """How much the totals hold: events and measurements up to these ids, folded into the
    local days of the zone asked for. 0 where nothing is, or where it was folded into
    another zone's days, or where the watermark's measurement was erased since (SQLite
    may then give its id out again)."""

    events: int
    measurements: int


async def watermarks(session: AsyncSession, zone: ZoneInfo, *, lock: bool = False) -> Watermarks:
    """The fold's watermarks as they stand; `lock`: for the fold, which holds the row."""
    f, m = FoldState, Measurement
    same = and_(m.id == f.measurements_to, m.taken_at == f.measurements_to_at)
    query = select(f.zone, f.events_to, f.measurements_to, exists().where(same)).where(f.id == 1)
    if lock:
        query = query.with_for_update(of=f)
    state_zone, events_to, measurements_to, measurement_kept = (await session.execute(query)).one()
    if state_zone != zone.key:
        return Watermarks(0, 0)
    return Watermarks(events_to, measurements_to if measurement_kept else 0)


def local_day(dialect: str, zone: ZoneInfo, column: Any, start: datetime,
              end: datetime) -> ColumnElement[date]:
    """The day in `zone` of a UTC timestamp; exact from `start` to `end` on SQLite, which
    knows no zones: the offsets in force over that span, from `zoneinfo`, as a CASE."""
    if dialect == "postgresql":
        return func.date(func.timezone(zone.key, column), type_=Date())
    segments = offsets(zone, start, end)
    shift: Any = literal(_modifier(segments[0][1]))
    if len(segments) > 1:
        whens = [
            (column < literal(until, UTCDateTime()), _modifier(offset))
            for (_, offset), (until, _) in pairwise(segments)
        ]
        shift = case(*whens, else_=_modifier(segments[-1][1]))
    return func.date(column, shift, type_=Date())


def _modifier(offset: timedelta) -> str:
    return f"{int(offset.total_seconds() // 60):+d} minutes"


def offsets(zone: ZoneInfo, start: datetime, end: datetime) -> list[tuple[datetime, timedelta]]:
    """The zone's UTC offsets from `start` to `end`: (from when, offset), to the hour (the
    event log's resolution)."""
    def offset_at(moment: datetime) -> timedelta:
        found = moment.astimezone(zone).utcoffset()
        return found if found is not None else timedelta()

    segments = [(start, offset_at(start))]
    day = start
    while day < end:
        following = min(day + timedelta(days=1), end)
        if offset_at(following) != segments[-1][1]:
            hour = day
            while offset_at(hour) == segments[-1][1]:
                hour += timedelta(hours=1)
            segments.append((hour, offset_at(hour)))
        day = following
    return segments


# -- the rows of the totals, counted from the log (by the fold, and by reads for the rest) ---
@dataclass(frozen=True)
class EventRange:
    """The events with an id above `after` and up to `upto`. Their local days are exact for
    hours from `start` to `end` (SQLite's offsets), so a reader keeps to those days."""

    after: int
    upto: int
    start: datetime
    end: datetime


def event_days(dialect: str, zone: ZoneInfo, events: EventRange) -> Rows:
    """The events counted per local day and every dimension (`DailyCount`'s columns)."""
    e = StatEvent
    org = func.coalesce(e.org, "")
    dimensions = {"kind": e.kind, "detail": e.detail, "channel": e.channel,
                  "language": e.language, "org": org}
    return _by_day(dialect, zone, events, dimensions)


def value_days(dialect: str, zone: ZoneInfo, events: EventRange) -> Rows:
    """Their measured values counted per local day, kind, organisation and value
    (`DailyValue`'s columns)."""
    e = StatEvent
    dimensions = {"kind": e.kind, "org": func.coalesce(e.org, ""), "value": e.value}
    return _by_day(dialect, zone, events, dimensions, e.kind.in_(VALUED_KINDS),
                   e.value.is_not(None))


def _by_day(
    dialect: str, zone: ZoneInfo, events: EventRange, dimensions: dict[str, Any],
    *where: ColumnElement[bool],
) -> Rows:
    """Grouped by hour first, on the id range alone (the primary key: SQLite takes a range
    bounded on both sides, not one bounded on one), so the zone's arithmetic runs once per
    hour and group, not once per event."""
    e = StatEvent
    hourly = (
        select(e.hour, *(d.label(name) for name, d in dimensions.items()),
               func.count().label("n"))
        .where(*where, e.id > events.after, e.id <= events.upto)
        .group_by(e.hour, *dimensions.values())
        .subquery()
    )
    h = hourly.c
    day = local_day(dialect, zone, h.hour, events.start, events.end).label("day")
    columns = [h[name] for name in dimensions]
    n = cast(func.sum(h.n), Integer)  # PostgreSQL sums counts (bigint) as numeric
    return select(day, *columns, n.label("n")).group_by(day, *columns)


def scored_measurements(
    dialect: str, zone: ZoneInfo, span: tuple[datetime, datetime], *,
    participants: Any = None, upto: int | None = None,
) -> Rows:
    """The complete measurements of `participants` (None: everyone's), up to id `upto`
    (`MeasurementScore`'s columns): each one's local day (exact within `span`), score,
    the change since the person's first (but for the first) and when they were measured
    next."""
    m = Measurement
    score = m.companionship + m.left_out + m.isolated
    order = (m.taken_at, m.id)
    first = func.first_value(score).over(partition_by=m.participant_id, order_by=order)
    rank = func.row_number().over(partition_by=m.participant_id, order_by=order)
    change = case((rank == 1, None), else_=score - first)
    following = func.lead(m.taken_at, type_=UTCDateTime()).over(
        partition_by=m.participant_id, order_by=order
    )
    where: list[ColumnElement[bool]] = [
        m.companionship.is_not(None), m.left_out.is_not(None), m.isolated.is_not(None),
    ]
    if participants is not None:
        where.append(m.participant_id.in_(participants))
    if upto is not None:
        where.append(m.id <= upto)
    return select(
        m.participant_id, m.id.label("measurement_id"), m.taken_at,
        local_day(dialect, zone, m.taken_at, *span).label("day"),
        score.label("score"), change.label("change"), following.label("next_at"),
    ).where(*where)


# -- the fold ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Folded:
    events: int  # how far the watermarks now are
    measurements: int


async def fold(session: AsyncSession, zone: ZoneInfo) -> Folded | None:
    """Fold everything committed so far; None when PostgreSQL's writers held the log past
    `LOCK_TIMEOUT` (nothing is lost: the next fold, or the reads, take it)."""
    try:
        events_to = await committed_up_to(session, StatEvent.id)
        measurements_to = await committed_up_to(session, Measurement.id)
    except DBAPIError as error:
        if getattr(error.orig, "sqlstate", None) != _LOCK_NOT_AVAILABLE:
            raise
        log.info("statistics fold postponed: the event log stayed busy")
        return None
    while True:  # in steps, so no transaction holds the database for long
        async with session.begin():
            folded = await fold_up_to(session, zone, events_to, measurements_to, STEP)
        if folded.events >= events_to and folded.measurements >= measurements_to:
            return folded


async def committed_up_to(session: AsyncSession, column: InstrumentedAttribute[int]) -> int:
    """The highest id of the table with every lower id committed (or rolled back for good).
    On PostgreSQL, taking a SHARE lock waits until no transaction is inserting."""
    async with session.begin():
        if session.get_bind().dialect.name == "postgresql":
            table = column.class_.__tablename__
            await session.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
            await session.execute(text(f"LOCK TABLE {table} IN SHARE MODE"))
        found = await session.scalar(select(func.max(column)))
    return found or 0


async def fold_up_to(
    session: AsyncSession, zone: ZoneInfo, events_to: int, measurements_to: int,
    step: int | None = None,
) -> Folded:
    """Fold events and measurements up to the given ids (at most `step` ids of each past
    the watermarks), inside the caller's transaction."""
    marks = await watermarks(session, zone, lock=True)  # a second instance waits here
    if step is not None:
        events_to = min(events_to, marks.events + step)
        measurements_to = min(measurements_to, marks.measurements + step)
    dialect = session.get_bind().dialect.name
    if not marks.events:  # nothing folded yet, or into another zone's days: start afresh
        await session.execute(delete(DailyCount))
        await session.execute(delete(DailyValue))
    events_to = max(events_to, marks.events)
    await _fold_events(session, dialect, zone, marks.events, events_to)
    measurements_to = max(measurements_to, marks.measurements)
    await _fold_measurements(session, dialect, zone, marks.measurements, measurements_to)
    f = FoldState
    await session.execute(
        update(f)
        .where(f.id == 1)
        .values(
            zone=zone.key,
            events_to=events_to,
            measurements_to=measurements_to,
            measurements_to_at=select(Measurement.taken_at)
            .where(Measurement.id == measurements_to)
            .scalar_subquery(),
        )
    )
    return Folded(events_to, measurements_to)


async def _fold_events(
    session: AsyncSession, dialect: str, zone: ZoneInfo, after: int, upto: int
) -> None:
    e = StatEvent
    span = await session.execute(
        select(func.min(e.hour), func.max(e.hour)).where(e.id > after, e.id <= upto)
    )
    start, last = span.one()
    if start is None:
        return
    events = EventRange(after, upto, start, last + timedelta(hours=1))
    await _add_up(session, dialect, DailyCount, event_days(dialect, zone, events))
    await _add_up(session, dialect, DailyValue, value_days(dialect, zone, events))


async def _add_up(
    session: AsyncSession, dialect: str, table: type[DailyCount] | type[DailyValue], rows: Rows
) -> None:
    """Insert the counted rows, adding to the counts already there."""
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    keys = [c.name for c in table.__table__.primary_key]
    columns = [*keys, "n"]
    statement = insert.from_select(columns, rows).on_conflict_do_update(
        index_elements=keys, set_={"n": table.n + insert.excluded.n}
    )
    await session.execute(statement)


async def _fold_measurements(
    session: AsyncSession, dialect: str, zone: ZoneInfo, after: int, upto: int
) -> None:
    """Score every measurement of the people measured after `after`, all over again: their
    first may be among the new ones (after 0: everyone's)."""
    if upto <= after:
        return
    m, s = Measurement, MeasurementScore
    participants = select(m.participant_id).where(m.id > after, m.id <= upto) if after else None
    scope = [m.id <= upto]
    if participants is not None:
        scope.append(m.participant_id.in_(participants))
    span = (await session.execute(select(func.min(m.taken_at), func.max(m.taken_at))
                                  .where(*scope))).one()
    if span[0] is None:
        return
    rows = scored_measurements(dialect, zone, (span[0], span[1] + timedelta(hours=1)),
                               participants=participants, upto=upto)
    insert: Any = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(s)
    columns = ["participant_id", "measurement_id", "taken_at", "day", "score", "change",
               "next_at"]
    statement = insert.from_select(columns, rows).on_conflict_do_update(
        index_elements=[s.measurement_id],
        set_={name: insert.excluded[name] for name in columns if name != "measurement_id"},
    )
    await session.execute(statement)
