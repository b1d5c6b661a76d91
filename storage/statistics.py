"""Anonymised statistics: aggregations in SQL over the event log (`stat_events`: no
pseudonym, no text, time to the hour) and over the loneliness measurements.

What comes back is counts and summaries per period bucket, never a row per person. The
buckets are local days, ISO weeks or months in the deployment's zone, computed in SQL
(PostgreSQL: `AT TIME ZONE`; SQLite, which knows no zones: the UTC offsets in force over
the range, from `zoneinfo`, as a CASE). Small cells are not suppressed here: that is done
once, for every output, by the report (`bot/report.py`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Measurement, StatEvent
from storage.types import UTCDateTime

Granularity = Literal["day", "week", "month"]
GRANULARITIES: tuple[Granularity, ...] = ("day", "week", "month")
ALL = "*"  # the key of "every organisation" in per-organisation summaries

# The event kinds counted by (kind, detail, organisation).
COUNTED_KINDS = (
    "topic",
    "crisis",
    "age_band",
    "checkin_planned",
    "checkin_sent",
    "checkin_answered",
    "checkin_missed",
    "handover_requested",
    "handover_left",
    "handover_timed_out",
    "handover_claimed",
    "handover_ended",
    "feedback_rating",
)
# The kinds counted by channel and language as well.
PEOPLE_KINDS = ("new_person", "bot_conversation")
WAIT, LENGTH = "handover_claimed", "handover_ended"  # kinds whose `value` is summarised


@dataclass(frozen=True)
class Periods:
    """The buckets of a report: local dates from `first` to `last` inclusive, by day, ISO
    week (Monday) or month. The first and last bucket may be cut short by the range."""

    first: date
    last: date
    granularity: Granularity
    zone: ZoneInfo
    starts: tuple[date, ...]

    @classmethod
    def of(cls, first: date, last: date, granularity: Granularity, zone: ZoneInfo) -> Periods:
        if last < first:
            raise ValueError("the range ends before it starts")
        if (last - first).days > 3 * 366:
            raise ValueError("the range is longer than three years")
        starts: list[date] = []
        current = bucket_start(first, granularity)
        while current <= last:
            starts.append(current)
            current = next_start(current, granularity)
        return cls(first, last, granularity, zone, tuple(starts))

    @property
    def start_utc(self) -> datetime:
        return datetime.combine(self.first, time(), self.zone).astimezone(UTC)

    @property
    def end_utc(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(), self.zone).astimezone(UTC)

    def labels(self) -> list[str]:
        return [label(start, self.granularity) for start in self.starts]

    def index(self, start: str) -> int | None:
        try:
            return self._positions[start]
        except KeyError:
            return None

    @property
    def _positions(self) -> dict[str, int]:
        return {start.isoformat(): i for i, start in enumerate(self.starts)}


def bucket_start(day: date, granularity: Granularity) -> date:
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    return day


def next_start(start: date, granularity: Granularity) -> date:
    if granularity == "week":
        return start + timedelta(days=7)
    if granularity == "month":
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start + timedelta(days=1)


def label(start: date, granularity: Granularity) -> str:
    if granularity == "week":
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    if granularity == "month":
        return start.strftime("%Y-%m")
    return start.isoformat()


@dataclass(frozen=True)
class Percentiles:
    """Nearest-rank median and 90th percentile of `n` values (seconds)."""

    n: int
    median: int
    p90: int


@dataclass
class Figures:
    """Everything a report shows, unsuppressed; lists run over the periods."""

    periods: Periods
    # (kind, detail, organisation or None) → count per period
    events: dict[tuple[str, str, str | None], list[int]] = field(default_factory=dict)
    # (kind, detail, channel, language) → count per period
    people: dict[tuple[str, str, str, str], list[int]] = field(default_factory=dict)
    # organisation (ALL for every one) → per period and, last, the whole range
    waits: dict[str, list[Percentiles | None]] = field(default_factory=dict)
    lengths: dict[str, list[Percentiles | None]] = field(default_factory=dict)
    # Three-Item Loneliness Scale (3-9) at each person's first complete measurement
    first_scores: dict[int, list[int]] = field(default_factory=dict)
    # first vs latest later measurement: "better" | "same" | "worse" → pairs per period
    changes: dict[str, list[int]] = field(default_factory=dict)
    change_sums: list[int] = field(default_factory=list)

    def zeros(self) -> list[int]:
        return [0] * len(self.periods.starts)

    def count(
        self, kind: str, detail: str | None = None, org: str | None = ALL
    ) -> list[int]:
        """Counts per period of a kind, over every detail and organisation unless given."""
        total = self.zeros()
        for (k, d, o), counts in self.events.items():
            if k == kind and detail in (None, d) and org in (ALL, o):
                total = [a + b for a, b in zip(total, counts, strict=True)]
        return total

    def details(self, kind: str) -> list[str]:
        return sorted({d for k, d, _ in self.events if k == kind})

    def organisations(self) -> list[str]:
        return sorted({o for _, _, o in self.events if o is not None})


async def compute(session: AsyncSession, periods: Periods) -> Figures:
    """Every figure of a report over `periods`: a handful of grouped queries."""
    figures = Figures(periods)
    bucket = Bucket(session.get_bind().dialect.name, periods)
    await _count_events(session, bucket, figures)
    await _count_people(session, bucket, figures)
    figures.waits = await _percentiles(session, bucket, WAIT)
    figures.lengths = await _percentiles(session, bucket, LENGTH)
    await _measurements(session, bucket, figures)
    return figures


class Bucket:
    """The SQL expression turning a UTC timestamp into the ISO date of its local bucket."""

    def __init__(self, dialect: str, periods: Periods) -> None:
        self.dialect = dialect
        self.periods = periods

    def of(self, column: Any) -> ColumnElement[str]:
        granularity = self.periods.granularity
        if self.dialect == "postgresql":
            local = func.timezone(self.periods.zone.key, column)
            return func.to_char(func.date_trunc(granularity, local), "YYYY-MM-DD")
        shift = self._sqlite_shift(column)
        if granularity == "week":
            return func.date(column, shift, "-6 days", "weekday 1")
        if granularity == "month":
            return func.strftime("%Y-%m-01", column, shift)
        return func.date(column, shift)

    def _sqlite_shift(self, column: Any) -> ColumnElement[str]:
        """'+60 minutes' (or whatever the zone's offset is at that instant)."""
        segments = offsets(self.periods.zone, self.periods.start_utc, self.periods.end_utc)
        if len(segments) == 1:
            return literal(_modifier(segments[0][1]))
        whens = [
            (column < literal(until, UTCDateTime()), _modifier(offset))
            for (_, offset), (until, _) in pairwise(segments)
        ]
        return case(*whens, else_=_modifier(segments[-1][1]))

    def in_range(self, column: Any) -> ColumnElement[bool]:
        return and_(
            column >= literal(self.periods.start_utc, UTCDateTime()),
            column < literal(self.periods.end_utc, UTCDateTime()),
        )


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


async def _count_events(session: AsyncSession, bucket: Bucket, figures: Figures) -> None:
    e = StatEvent
    # By hour first, along the covering index; the bucket expression then runs once per
    # hour and group, not once per event.
    hourly = (
        select(e.kind, e.detail, e.org, e.hour, func.count().label("n"))
        .where(e.kind.in_(COUNTED_KINDS), bucket.in_range(e.hour))
        .group_by(e.kind, e.hour, e.detail, e.org)
        .subquery()
    )
    b = bucket.of(hourly.c.hour).label("b")
    query = select(hourly.c.kind, hourly.c.detail, hourly.c.org, b, func.sum(hourly.c.n)).group_by(
        hourly.c.kind, hourly.c.detail, hourly.c.org, b
    )
    for kind, detail, org, start, n in await session.execute(query):
        _add(figures, figures.events, (kind, detail, org), start, int(n))


async def _count_people(session: AsyncSession, bucket: Bucket, figures: Figures) -> None:
    e = StatEvent
    hourly = (
        select(e.kind, e.detail, e.channel, e.language, e.hour, func.count().label("n"))
        .where(e.kind.in_(PEOPLE_KINDS), bucket.in_range(e.hour))
        .group_by(e.kind, e.hour, e.channel, e.language, e.detail)
        .subquery()
    )
    c = hourly.c
    b = bucket.of(c.hour).label("b")
    query = select(c.kind, c.detail, c.channel, c.language, b, func.sum(c.n)).group_by(
        c.kind, c.detail, c.channel, c.language, b
    )
    for kind, detail, channel, language, start, n in await session.execute(query):
        _add(figures, figures.people, (kind, detail, channel, language), start, int(n))


def _add(figures: Figures, into: dict[Any, list[int]], key: Any, start: str, n: int) -> None:
    index = figures.periods.index(str(start))
    if index is None:
        return
    counts = into.setdefault(key, figures.zeros())
    counts[index] += n


async def _percentiles(
    session: AsyncSession, bucket: Bucket, kind: str
) -> dict[str, list[Percentiles | None]]:
    """Nearest-rank median and p90 of the events' values, per (bucket, organisation), with
    every organisation (ALL) and the whole range ("total") as partitions of their own."""
    e = StatEvent
    where = (e.kind == kind, e.value.is_not(None), bucket.in_range(e.hour))
    b = bucket.of(e.hour)
    org = func.coalesce(e.org, "")
    parts = [
        select(b.label("b"), org.label("o"), e.value.label("v")).where(*where),
        select(b.label("b"), literal(ALL).label("o"), e.value.label("v")).where(*where),
        select(literal("total").label("b"), org.label("o"), e.value.label("v")).where(*where),
        select(literal("total").label("b"), literal(ALL).label("o"), e.value.label("v")).where(
            *where
        ),
    ]
    values = union_all(*parts).subquery()
    ranked = select(
        values.c.b,
        values.c.o,
        values.c.v,
        func.row_number().over(partition_by=(values.c.b, values.c.o), order_by=values.c.v)
        .label("rn"),
        func.count().over(partition_by=(values.c.b, values.c.o)).label("n"),
    ).subquery()
    r = ranked.c
    median_rank, p90_rank = (r.n + 1) // 2, (r.n * 9 + 9) // 10
    query = select(r.b, r.o, r.n, r.rn, r.v).where((r.rn == median_rank) | (r.rn == p90_rank))
    found: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for start, organisation, n, rn, value in await session.execute(query):
        entry = found[(str(start), str(organisation))]
        entry["n"] = int(n)
        if int(rn) == (int(n) + 1) // 2:
            entry["median"] = int(value)
        if int(rn) == (int(n) * 9 + 9) // 10:
            entry["p90"] = int(value)
    periods = bucket.periods
    result: dict[str, list[Percentiles | None]] = {}
    for (start, organisation), entry in found.items():
        row = result.setdefault(organisation, [None] * (len(periods.starts) + 1))
        index = len(periods.starts) if start == "total" else periods.index(start)
        if index is not None:
            row[index] = Percentiles(entry["n"], entry["median"], entry["p90"])
    return result


async def _measurements(session: AsyncSession, bucket: Bucket, figures: Figures) -> None:
    """The first complete Three-Item Loneliness Scale per person, and for those measured
    again, the change from the first to the latest (up to the end of the range)."""
    m = Measurement
    score = case(
        (
            and_(m.companionship.is_not(None), m.left_out.is_not(None), m.isolated.is_not(None)),
            m.companionship + m.left_out + m.isolated,
        ),
        else_=None,
    )
    complete = (
        select(m.id, m.participant_id, m.taken_at, score.label("score"))
        .where(m.taken_at < literal(bucket.periods.end_utc, UTCDateTime()))
        .subquery()
    )
    c = complete.c
    ranked = (
        select(
            c.participant_id,
            c.taken_at,
            c.score,
            func.row_number()
            .over(partition_by=c.participant_id, order_by=(c.taken_at, c.id))
            .label("first_rank"),
            func.row_number()
            .over(partition_by=c.participant_id, order_by=(c.taken_at.desc(), c.id.desc()))
            .label("last_rank"),
        )
        .where(c.score.is_not(None))
        .subquery()
    )
    r = ranked.c
    b = bucket.of(r.taken_at).label("b")
    firsts = (
        select(b, r.score, func.count())
        .where(r.first_rank == 1, bucket.in_range(r.taken_at))
        .group_by(b, r.score)
    )
    for start, value, n in await session.execute(firsts):
        _add(figures, figures.first_scores, int(value), start, int(n))
    first = ranked.alias("first")
    latest = ranked.alias("latest")
    change = (latest.c.score - first.c.score).label("change")
    lb = bucket.of(latest.c.taken_at).label("b")
    direction = case((change < 0, "better"), (change > 0, "worse"), else_="same").label("d")
    pairs = (
        select(lb, direction, func.count(), func.sum(change))
        .select_from(first.join(latest, first.c.participant_id == latest.c.participant_id))
        .where(
            first.c.first_rank == 1,
            latest.c.last_rank == 1,
            latest.c.first_rank > 1,
            bucket.in_range(latest.c.taken_at),
        )
        .group_by(lb, direction)
    )
    figures.change_sums = figures.zeros()
    for start, way, n, total in await session.execute(pairs):
        _add(figures, figures.changes, str(way), start, int(n))
        index = figures.periods.index(str(start))
        if index is not None:
            figures.change_sums[index] += int(total)


def every(values: Iterable[list[int]], size: int) -> list[int]:
    """The sum, per period, of several count lists."""
    total = [0] * size
    for counts in values:
        total = [a + b for a, b in zip(total, counts, strict=True)]
    return total
