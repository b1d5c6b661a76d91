"""Issue #15, finding 7, from the outside: a coordinator who asks the dashboard for many
overlapping reports (ranges of days, as the old dashboard took them, and every fixed
period it offers) cannot subtract two of them to a count below 5.

Every CSV the dashboard gives is read back with the days each of its columns covers;
for every two shown counts of the same row where one's days lie inside the other's, the
difference (a count of the days in between) must be 5 or more."""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta

import aiohttp
import pytest
import pytest_asyncio

from tests.dashboard.conftest import log_in
from tests.e2e.conftest import Snakkes

pytestmark = pytest.mark.asyncio(loop_scope="module")

MONTHS_DA = ("jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec")
ATTEMPTS = [
    # ranges of days, overlapping by a day or a week
    *(f"from={first}&to={last}&granularity={per}"
      for first, last in (("2026-03-01", "2026-03-31"), ("2026-03-02", "2026-03-31"),
                          ("2026-03-01", "2026-03-30"), ("2026-03-03", "2026-03-31"),
                          ("2026-03-02", "2026-03-15"), ("2026-03-09", "2026-03-15"))
      for per in ("day", "week", "month")),
    # the fixed periods
    *(f"year=2026&per={per}" for per in ("week", "month", "quarter")),
    *(f"year=2026&per={per}&lang=en" for per in ("week", "month", "quarter")),
]


@dataclass(frozen=True)
class Count:
    row: str
    first: date
    last: date
    value: int


def _week(year: int, week: int) -> tuple[date, date]:
    monday = date.fromisocalendar(year, week, 1)
    return monday, monday + timedelta(days=6)


def _month(year: int, month: int) -> tuple[date, date]:
    following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return date(year, month, 1), following - timedelta(days=1)


def column_days(label: str, first: date, last: date) -> tuple[date, date]:
    """The days a column covers, from its label (any format the dashboard has used),
    cut to the report's range."""
    label = label.strip()
    found: tuple[date, date] | None = None
    if m := re.fullmatch(r"(\d{4})-W(\d\d)", label):
        found = _week(int(m[1]), int(m[2]))
    elif m := re.fullmatch(r"(\d{4})-(\d\d)-(\d\d)", label):
        day = date(int(m[1]), int(m[2]), int(m[3]))
        found = day, day
    elif m := re.fullmatch(r"(\d{4})-(\d\d)", label):
        found = _month(int(m[1]), int(m[2]))
    elif m := re.fullmatch(r"(?:uge|Week) (\d+)", label):
        found = _week((first + timedelta(days=3)).isocalendar()[0], int(m[1]))
    elif m := re.fullmatch(r"(\w{3}) (\d{4})", label):
        names = [n.lower() for n in MONTHS_DA] + ["may", "oct"]
        month = names.index(m[1].lower()) + 1 if m[1].lower() in MONTHS_DA else (
            ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
             "dec").index(m[1].lower()) + 1)
        found = _month(int(m[2]), month)
    elif m := re.fullmatch(r"(?:(\d)\. kvt\. |Q(\d) )(\d{4})", label):
        quarter, year = int(m[1] or m[2]), int(m[3])
        found = date(year, 3 * quarter - 2, 1), _month(year, 3 * quarter)[1]
    elif m := re.fullmatch(r"(?:Hele|All) (\d{4})", label):
        found = date(int(m[1]), 1, 1), date(int(m[1]), 12, 31)
    elif label in ("Total", "I alt"):
        found = first, last
    assert found is not None, f"a column the test cannot place: {label!r}"
    return max(found[0], first), min(found[1], last)


def counts_of(text: str, filename: str) -> list[Count]:
    m = re.search(r"(\d{4}-\d\d-\d\d)-(\d{4}-\d\d-\d\d)-\w+\.csv", filename)
    assert m, filename
    first, last = date.fromisoformat(m[1]), date.fromisoformat(m[2])
    text = text.lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text), delimiter=";" if ";" in text[:200] else ","))
    header, body = rows[0], rows[1:]
    days = [column_days(label, first, last) for label in header[2:]]
    found: list[Count] = []
    for row in body:
        if len(row) != len(header) or row[0].lower().startswith(("mean", "gennemsnit")):
            continue
        if "median" in row[1] or "percentil" in row[1] or "fraktil" in row[1] or \
                "mean" in row[1] or "gennemsnit" in row[1]:
            continue
        for (start, end), cell in zip(days, row[2:], strict=True):
            if re.fullmatch(r"\d+", cell):
                found.append(Count(f"{row[0]}|{row[1]}", start, end, int(cell)))
    return found


@pytest_asyncio.fixture(loop_scope="module")
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


async def test_no_two_reports_of_the_dashboard_subtract_to_a_count_below_five(
    service: Snakkes, client: aiohttp.ClientSession
) -> None:
    await log_in(client, service.url, "ada")
    reports: list[list[Count]] = []
    for query in ATTEMPTS:
        async with client.get(f"{service.url}/dashboard/export.csv?{query}") as answer:
            assert answer.status == 200, query
            filename = answer.headers["Content-Disposition"]
            reports.append(counts_of(await answer.text(), filename))
    shown = [count for report in reports for count in report]
    assert shown, "no counts at all: the test would prove nothing"
    by_row: dict[str, list[Count]] = {}
    for count in shown:
        by_row.setdefault(count.row, []).append(count)
    for counts in by_row.values():
        for outer, inner in itertools.product(counts, counts):
            nested = outer.first <= inner.first and inner.last <= outer.last
            if nested and (outer.first, outer.last) != (inner.first, inner.last):
                assert outer.value - inner.value >= 5, (
                    f"{outer.row}: {outer.first}..{outer.last} ({outer.value}) minus "
                    f"{inner.first}..{inner.last} ({inner.value})")
