"""Issue #15, finding 7: statistics cannot be subtracted. Reports show only fixed calendar
periods (ISO weeks, months, quarters, the year) that have ended, suppressed once over
the whole year, so that no two reports, in any output, subtract to a count below 5."""

from __future__ import annotations

import itertools
import random
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from insights.calendar import GRAINS, Calendar, Cell
from insights.report import MARKS, Report, build
from storage.statistics import ALL, Figures, Periods

ZONE = ZoneInfo("Europe/Copenhagen")
ORGS = ["example", "other"]


def random_figures(rng: random.Random, calendar: Calendar) -> Figures:
    """Daily counts with many small days and quiet spells: the hard case."""
    periods = Periods.of(calendar.first, calendar.last, "day", ZONE)
    size = len(periods.starts)
    rate = rng.choice([0.02, 0.1, 0.3, 1.0])

    def series() -> list[int]:
        burst = rng.random() < 0.3
        return [rng.choice([0, 0, 1, 2, 3]) if rng.random() < rate or burst else 0
                for _ in range(size)]

    figures = Figures(periods)
    for detail in ("suicide", "self_harm", "abuse"):
        figures.events[("crisis", detail, None)] = series()
    for detail in ("friends", "family"):
        figures.events[("topic", detail, None)] = series()
    for org in ORGS:
        for rating in ("3", "4", "5"):
            figures.events[("feedback_rating", rating, org)] = series()
        figures.events[("handover_claimed", "", org)] = series()
    for channel, language in itertools.product(("telegram", "web"), ("da", "en")):
        figures.people[("new_person", "", channel, language)] = series()
    figures.first_scores = {score: series() for score in (4, 6, 8)}
    figures.changes = {way: series() for way in ("better", "same", "worse")}
    figures.change_sums = [0] * size
    for path in ("bot", "checkins", "volunteer", "community"):
        for way in ("better", "same", "worse"):
            figures.paths[(path, way)] = series()
        figures.path_sums[path] = [0] * size
    for answer in ("went", "not_yet", "not_for_me"):
        figures.events[("bridge_answer", answer, None)] = series()
    for day in range(size):
        for org in ORGS:
            if rng.random() < rate:
                figures.value_counts[("handover_claimed", org, day)] = Counter(
                    {rng.randint(60, 3600): rng.randint(1, 3)})
    return figures


@dataclass(frozen=True)
class Shown:
    table: str
    row: str
    cell: Cell
    value: int


def shown(report: Report) -> list[Shown]:
    """Every count a report shows (means and summaries are not counts)."""
    found: list[Shown] = []
    for table in report.tables:
        if table.key in ("waiting", "length"):
            continue
        for row in table.rows:
            if row.key.endswith("/mean"):
                continue
            for cell, text in zip(report.periods, row.cells, strict=True):
                if text not in MARKS:
                    found.append(Shown(table.key, row.key, cell, int(text)))
    return found


_LINKED = re.compile(r"feedback@[^/]+/(\d)")  # one organisation's rating


def rows_linked(inner: str, outer: str) -> bool:
    """The inner row is the outer row or a category of it."""
    linked = _LINKED.fullmatch(inner)
    return inner == outer or inner.startswith(outer + "/") or (
        outer == "feedback" and inner.startswith("feedback@")) or (
        linked is not None and outer == f"feedback/{linked.group(1)}")


def days_within(inner: Shown, outer: Shown) -> bool:
    """Over the same days or fewer; not the same cell."""
    days = outer.cell.first <= inner.cell.first and inner.cell.last <= outer.cell.last
    return days and (inner.row, inner.cell) != (outer.row, outer.cell)


def too_close(inners: list[Shown], outers: list[Shown]) -> list[tuple[Shown, Shown]]:
    """The (outer, inner) pairs of two linked rows where `days_within` holds and the outer
    count exceeds the inner by less than 5: every pair at once, as arrays (a test draws
    millions of pairs)."""
    def arrays(cells: list[Shown]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return (np.array([c.cell.first.toordinal() for c in cells]),
                np.array([c.cell.last.toordinal() for c in cells]),
                np.array([c.value for c in cells]))

    (o_first, o_last, o_value), (i_first, i_last, i_value) = arrays(outers), arrays(inners)
    within = (o_first[:, None] <= i_first[None, :]) & (i_last[None, :] <= o_last[:, None])
    close = within & (o_value[:, None] - i_value[None, :] < 5)
    return [(outers[o], inners[i]) for o, i in zip(*np.nonzero(close), strict=True)
            if days_within(inners[i], outers[o])]  # the same cell is no pair


def allowed_reports(figures: Figures, calendar: Calendar) -> list[Report]:
    """Every report one may ask for (the language changes the words, not the cells:
    `test_the_language_changes_words_not_cells`)."""
    return [build(figures, calendar, ORGS, grain=grain, scope=scope)
            for grain in GRAINS for scope in (ALL, *ORGS)]


def test_the_language_changes_words_not_cells() -> None:
    calendar = Calendar.of(2025, date(2026, 2, 1))
    figures = random_figures(random.Random(1), calendar)
    for grain in GRAINS:
        da, en = (build(figures, calendar, ORGS, grain=grain, language=lang)
                  for lang in ("da", "en"))
        assert [r.cells for t in da.tables for r in t.rows] == [
            r.cells for t in en.tables for r in t.rows]


@pytest.mark.parametrize("seed", range(40))
def test_no_two_reports_subtract_to_a_count_below_five(seed: int) -> None:
    rng = random.Random(seed)
    year = rng.choice([2025, 2026])
    today = rng.choice([date(year + 1, 2, 1), date(year, rng.randint(2, 12), rng.randint(1, 28))])
    calendar = Calendar.of(year, today)
    figures = random_figures(rng, calendar)
    reports = allowed_reports(figures, calendar)
    for first, second in [rng.sample(reports, 2) for _ in range(30)]:
        cells = set(shown(first) + shown(second))
        assert all(c.value >= 5 for c in cells)
        by_row: dict[tuple[str, str], list[Shown]] = {}
        for c in cells:
            by_row.setdefault((c.table, c.row), []).append(c)
        # Every inner count that is part of an outer one (the same row or a category of it,
        # over the same days or fewer, not the same cell) is at least 5 below it. Whether two
        # rows are linked is decided once for them, not again for each pair of their cells.
        for (table, row), inners in by_row.items():
            for (t, r), outers in by_row.items():
                if t != table or not rows_linked(row, r):
                    continue
                for outer, inner in too_close(inners, outers):
                    assert outer.value - inner.value >= 5, (outer, inner)


def test_a_report_shows_only_periods_that_have_ended() -> None:
    calendar = Calendar.of(2026, date(2026, 3, 11))  # a Wednesday of week 11
    assert [c.key for c in calendar.columns("week")][-1] == "2026-W10"
    assert [c.key for c in calendar.columns("month")] == ["2026-01", "2026-02"]
    assert calendar.columns("quarter") == []
    whole = Calendar.of(2026, date(2027, 1, 4))
    assert [c.key for c in whole.columns("quarter")] == [
        "2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4", "2026"]
    # ISO week 1 of 2026 starts on Monday 29 December 2025; 2026 has 53 weeks.
    weeks = whole.columns("week")
    assert (weeks[0].first, len(weeks)) == (date(2025, 12, 29), 53)
