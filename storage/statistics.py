"""Anonymised statistics over the event log (`stat_events`: no pseudonym, no text, time
to the hour) and the loneliness measurements.

A year of events is millions of rows, so the figures are read from totals folded from
them (`storage/totals.py`: counts and values per local day, each measurement's score),
with what is not folded yet counted the same way and added, in one snapshot: the figures
are the same whether the fold has run or not.

What comes back is counts and summaries per period bucket, never a row per person. The
buckets are local days, ISO weeks or months in the deployment's zone; the totals are kept
per local day, so a bucket is a set of days. Small cells are not suppressed here: that is
done once, for every output, by `insights/` (the statistics package).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Date,
    String,
    Subquery,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    DailyCount,
    DailyValue,
    Measurement,
    MeasurementScore,
    ParticipantPath,
    StatEvent,
)
from storage.totals import (
    VALUED_KINDS,
    EventRange,
    Rows,
    event_days,
    scored_measurements,
    value_days,
    watermarks,
)
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
    "bridge_planned",
    "bridge_answer",
    "bridge_why",
)
# The kinds counted by channel and language as well.
PEOPLE_KINDS = ("new_person", "bot_conversation")
WAIT, LENGTH = VALUED_KINDS  # the kinds whose `value` is summarised


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

    @cached_property
    def of_day(self) -> dict[str, int]:
        """The period of each day of the range, by ISO date."""
        found: dict[str, int] = {}
        day, index = self.first, 0
        while day <= self.last:
            if index + 1 < len(self.starts) and day >= self.starts[index + 1]:
                index += 1
            found[day.isoformat()] = index
            day += timedelta(days=1)
        return found


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
    # (kind, organisation, period) → how often each value (seconds) occurred: the waits
    # and lengths behind the percentiles, for summaries over unions of periods
    value_counts: dict[tuple[str, str, int], Counter[int]] = field(default_factory=dict)
    # What helps: the same pairs by the path taken before the latest measurement
    # (storage/paths.py; "bot" where none): (path, "better" | "same" | "worse") → pairs
    # per period, and the sum of the changes per path
    paths: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    path_sums: dict[str, list[int]] = field(default_factory=dict)

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
    """Every figure of a report over `periods`, from the folded totals and, added to them,
    what is not folded yet. All in one snapshot (on PostgreSQL, a REPEATABLE READ
    transaction when this starts it), so a fold committing meanwhile counts once."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql" and not session.in_transaction():
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    marks = await watermarks(session, periods.zone)
    last_event = await session.scalar(select(func.max(StatEvent.id))) or 0
    last_measurement = await session.scalar(select(func.max(Measurement.id))) or 0
    unfolded = EventRange(marks.events, last_event, periods.start_utc, periods.end_utc)
    c, v = DailyCount, DailyValue
    counts = _parts(
        select(c.day, c.kind, c.detail, c.channel, c.language, c.org, c.n),
        event_days(dialect, periods.zone, unfolded),
    )
    values = _parts(
        select(v.day, v.kind, v.org, v.value, v.n), value_days(dialect, periods.zone, unfolded)
    )
    if not marks.events:
        counts, values = counts[1:], values[1:]
    if last_event == marks.events:
        counts, values = counts[:1], values[:1]
    figures = Figures(periods)
    await _counts(session, periods, counts, figures)
    figures.waits, figures.lengths = await _percentiles(session, periods, values,
                                                        figures.value_counts)
    scores = _scores(dialect, periods, marks.measurements, last_measurement)
    await _first_scores(session, periods, scores, figures)
    await _changes(session, periods, scores, figures)
    await _paths(session, periods, scores, figures)
    return figures


# -- the figures: the folded totals with what is not folded yet ------------------------------
def _parts(*parts: Rows) -> list[Subquery]:
    return [part.subquery() for part in parts]


def _in_days(day: Any, periods: Periods) -> ColumnElement[bool]:
    return and_(day >= literal(periods.first, Date()), day <= literal(periods.last, Date()))


def _iso(day: Any) -> ColumnElement[str]:
    """The day as 'YYYY-MM-DD' text, the key of `Periods.of_day` (no date parsing per row)."""
    return cast(day, String())


async def _days_as_json(
    session: AsyncSession, periods: Periods, days: Subquery, *columns: Any
) -> AsyncIterator[tuple[str, list[list[Any]]]]:
    """The rows of each day in range as one JSON array: tens of thousands of rows come
    back as a few hundred, which saves the driver and SQLAlchemy most of their work."""
    if session.get_bind().dialect.name == "postgresql":
        rows = func.json_agg(func.json_build_array(*columns))
    else:
        rows = func.json_group_array(func.json_array(*columns))
    day = days.c.day
    query = select(_iso(day), cast(rows, String())).where(_in_days(day, periods)).group_by(day)
    for found, listed in await session.execute(query):
        yield found, json.loads(listed)


async def _counts(session: AsyncSession, periods: Periods, parts: list[Subquery],
                  figures: Figures) -> None:
    size = len(periods.starts)
    events: dict[Any, list[int]] = figures.events
    people: dict[Any, list[int]] = figures.people
    counted = frozenset(COUNTED_KINDS)
    for days in parts:
        d = days.c
        columns = (d.kind, d.detail, d.channel, d.language, d.org, d.n)
        async for day, listed in _days_as_json(session, periods, days, *columns):
            index = periods.of_day[day]
            for kind, detail, channel, language, org, n in listed:
                into, key = (
                    (events, (kind, detail, org or None)) if kind in counted
                    else (people, (kind, detail, channel, language))
                )
                if key not in into:
                    into[key] = [0] * size
                into[key][index] += n


Summaries = dict[str, list[Percentiles | None]]


async def _percentiles(
    session: AsyncSession, periods: Periods, parts: list[Subquery],
    value_counts: dict[tuple[str, str, int], Counter[int]],
) -> tuple[Summaries, Summaries]:
    """Nearest-rank median and p90 of the waits and the lengths, per (bucket,
    organisation), with every organisation (ALL) and the whole range as partitions of their
    own, from how many times each value occurs."""
    total = len(periods.starts)
    counted: dict[tuple[str, str, int], list[int]] = defaultdict(list)
    for days in parts:
        d = days.c
        columns = (d.kind, d.org, d.value, d.n)
        async for day, listed in _days_as_json(session, periods, days, *columns):
            index = periods.of_day[day]
            for kind, org, value, n in listed:
                counted[(kind, org, index)] += [value] * n
                value_counts.setdefault((kind, org, index), Counter())[value] += n
    for (kind, org, index), values in list(counted.items()):
        for partition in ((kind, ALL, index), (kind, org, total), (kind, ALL, total)):
            counted[partition] += values
    found: dict[str, Summaries] = {WAIT: {}, LENGTH: {}}
    for (kind, org, index), values in counted.items():
        row = found[kind].setdefault(org, [None] * (total + 1))
        row[index] = nearest_rank(values)
    return found[WAIT], found[LENGTH]


def nearest_rank(values: list[int]) -> Percentiles:
    values.sort()
    n = len(values)
    return Percentiles(n, values[(n + 1) // 2 - 1], values[(n * 9 + 9) // 10 - 1])


def _scores(dialect: str, periods: Periods, after: int, last: int) -> list[Subquery]:
    """Every complete measurement's score, in two parts with no person in both: as folded,
    and scored afresh for the people measured after the watermark `after`."""
    m, s = Measurement, MeasurementScore
    fresh = select(m.participant_id).where(m.id > after)
    folded = select(s.participant_id, s.measurement_id, s.taken_at, s.day, s.score, s.change,
                    s.next_at)
    span = (periods.start_utc, periods.end_utc)
    unfolded = scored_measurements(dialect, periods.zone, span, participants=fresh)
    if last == after:
        return _parts(folded)
    if not after:
        return _parts(unfolded)
    return _parts(folded.where(s.participant_id.not_in(fresh)), unfolded)


async def _first_scores(
    session: AsyncSession, periods: Periods, parts: list[Subquery], figures: Figures
) -> None:
    """The first complete Three-Item Loneliness Scale per person, in its bucket."""
    for scores in parts:
        r = scores.c
        query = (
            select(_iso(r.day), r.score, func.count())
            .where(r.change.is_(None), _in_days(r.day, periods))
            .group_by(r.day, r.score)
        )
        for day, score, n in await session.execute(query):
            _add(figures, figures.first_scores, score, periods.of_day[day], n)


async def _changes(
    session: AsyncSession, periods: Periods, parts: list[Subquery], figures: Figures
) -> None:
    """For those measured again, the change from the first to the latest measurement up
    to the end of the range, counted in the bucket of the latest."""
    figures.change_sums = figures.zeros()
    end = literal(periods.end_utc, UTCDateTime())
    for scores in parts:
        r = scores.c
        direction = case((r.change < 0, "better"), (r.change > 0, "worse"), else_="same")
        query = (
            select(_iso(r.day), direction, func.count(), func.sum(r.change))
            .where(
                r.change.is_not(None),
                _in_days(r.day, periods),
                r.taken_at < end,  # the latest before the end: measured next after it, if at all
                or_(r.next_at.is_(None), r.next_at >= end),
            )
            .group_by(r.day, direction)
        )
        for day, way, n, total in await session.execute(query):
            index = periods.of_day[day]
            _add(figures, figures.changes, way, index, n)
            figures.change_sums[index] += total


BOT_ONLY = "bot"


async def _paths(
    session: AsyncSession, periods: Periods, parts: list[Subquery], figures: Figures
) -> None:
    """The pairs of `_changes` again, by each path the person took before their latest
    measurement; a person on two paths counts on both, one on none as "bot"."""
    end = literal(periods.end_utc, UTCDateTime())
    p = ParticipantPath
    for scores in parts:
        r = scores.c
        direction = case((r.change < 0, "better"), (r.change > 0, "worse"), else_="same")
        path = func.coalesce(p.path, literal(BOT_ONLY, String()))
        query = (
            select(_iso(r.day), path, direction, func.count(), func.sum(r.change))
            .select_from(scores)
            .outerjoin(p, and_(p.participant_id == r.participant_id, p.first_at <= r.taken_at))
            .where(
                r.change.is_not(None),
                _in_days(r.day, periods),
                r.taken_at < end,
                or_(r.next_at.is_(None), r.next_at >= end),
            )
            .group_by(r.day, path, direction)
        )
        for day, taken, way, n, total in await session.execute(query):
            index = periods.of_day[day]
            _add(figures, figures.paths, (taken, way), index, n)
            _add(figures, figures.path_sums, taken, index, total)


def _add(figures: Figures, into: dict[Any, list[int]], key: Any, index: int, n: int) -> None:
    into.setdefault(key, figures.zeros())[index] += n


def every(values: Iterable[list[int]], size: int) -> list[int]:
    """The sum, per period, of several count lists."""
    total = [0] * size
    for counts in values:
        total = [a + b for a, b in zip(total, counts, strict=True)]
    return total
