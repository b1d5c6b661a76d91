"""Fixed calendar periods: the only periods a report shows.

A report is a calendar year seen per ISO week, per month or per quarter, never a range
someone types. Why: if any range could be asked for, two reports would subtract to a
count suppression hid (March 1-31 minus March 1-30 is March 31). Here every period any
report can show belongs to one fixed family per year, the *calendar* of that year:

- the months, the quarters and the year itself (January 1 to December 31), and
- the ISO weeks of the ISO year of the same number (a week belongs to the year of its
  Thursday, so no week of it lies wholly in another calendar year).

Only periods that have ended are in it (a week that has not ended would fall from 400 to
100 and, asked for twice, would subtract to what came in between). Suppression is decided
once over the whole calendar (`insights.report`), so every report is a cut of the same
suppressed cells and no two reports tell more than one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

Grain = Literal["week", "month", "quarter"]
GRAINS: tuple[Grain, ...] = ("week", "month", "quarter")
YEAR = "year"


@dataclass(frozen=True)
class Cell:
    """One fixed period: days `first` to `last` (local dates, both included)."""

    key: str  # "2026-W10", "2026-03", "2026-Q1", "2026"
    kind: str  # a grain or YEAR
    first: date
    last: date

    def within(self, other: Cell) -> bool:
        """Strictly inside `other` (fewer days, all of them in it)."""
        return other.first <= self.first and self.last <= other.last and self != other

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


@dataclass(frozen=True)
class Calendar:
    """The fixed periods of one year that have ended by `today`."""

    year: int
    cells: tuple[Cell, ...]

    @classmethod
    def of(cls, year: int, today: date) -> Calendar:
        if not 2000 <= year <= 2200:
            raise ValueError("year out of range")
        found = [*_weeks(year), *_months(year), *_quarters(year),
                 Cell(str(year), YEAR, date(year, 1, 1), date(year, 12, 31))]
        return cls(year, tuple(cell for cell in found if cell.last < today))

    @property
    def first(self) -> date:
        """The first day any of its periods may hold (ISO week 1 may start in December)."""
        return min(date(self.year, 1, 1), _iso_week_one(self.year))

    @property
    def last(self) -> date:
        return max(date(self.year, 12, 31), _iso_week_one(self.year + 1) - timedelta(days=1))

    def of_kind(self, kind: str) -> list[Cell]:
        return [cell for cell in self.cells if cell.kind == kind]

    def columns(self, grain: Grain) -> list[Cell]:
        """What a report per `grain` shows: its periods, and the year when it has ended
        (per week none: the ISO year and the calendar year differ by a few days at their
        ends, and the one minus the other would be those days)."""
        shown = self.of_kind(grain)
        if grain != "week":
            shown += self.of_kind(YEAR)
        return shown

    def lines(self) -> list[tuple[list[int], int]]:
        """Sum relations between the periods (indexes into `cells`): the months of a
        quarter, the quarters and the months of the year. Only where every part is in."""
        index = {cell.key: i for i, cell in enumerate(self.cells)}
        found: list[tuple[list[int], int]] = []
        for total in self.cells:
            if total.kind not in ("quarter", YEAR):
                continue
            for part_kind in ("month", "quarter"):
                parts = [c for c in self.cells if c.kind == part_kind and c.within(total)]
                expected = 3 if total.kind == "quarter" else (12 if part_kind == "month" else 4)
                if part_kind == "quarter" and total.kind == "quarter":
                    continue
                if len(parts) == expected:
                    found.append(([index[c.key] for c in parts], index[total.key]))
        return found

    def nested(self) -> list[tuple[int, int]]:
        """Every (outer, inner) pair of periods where the inner lies wholly in the outer:
        the pairs one could subtract."""
        return [
            (o, i)
            for o, outer in enumerate(self.cells)
            for i, inner in enumerate(self.cells)
            if inner.within(outer)
        ]


def _iso_week_one(year: int) -> date:
    jan4 = date(year, 1, 4)
    return jan4 - timedelta(days=jan4.weekday())


def _weeks(year: int) -> list[Cell]:
    start, end = _iso_week_one(year), _iso_week_one(year + 1)
    found: list[Cell] = []
    number = 1
    while start < end:
        found.append(Cell(f"{year}-W{number:02d}", "week", start, start + timedelta(days=6)))
        start += timedelta(days=7)
        number += 1
    return found


def _months(year: int) -> list[Cell]:
    found: list[Cell] = []
    for month in range(1, 13):
        following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
        found.append(Cell(f"{year}-{month:02d}", "month", date(year, month, 1),
                          following - timedelta(days=1)))
    return found


def _quarters(year: int) -> list[Cell]:
    found: list[Cell] = []
    for quarter in range(1, 5):
        first = date(year, 3 * quarter - 2, 1)
        following = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
        found.append(Cell(f"{year}-Q{quarter}", "quarter", first,
                          following - timedelta(days=1)))
    return found


def default_year(today: date) -> int:
    """This year once a month of it has ended, else last year."""
    return today.year if today.month > 1 else today.year - 1
