"""The shapes every output renders: rows of cells per table, tables per report, and the
marks a withheld cell shows. Nothing has a row per person."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from insights.calendar import Cell, Grain
from insights.labels import Language, period

SMALL, WITHHELD, FEW = "<5", "x", "n<5"
MARKS = (SMALL, WITHHELD, FEW)


@dataclass
class Node:
    """A counted row: counts per calendar cell, and breakdowns (each a list of rows adding
    up to this one). `org` marks rows that belong to one organisation."""

    key: str
    label: str
    counts: list[int]
    breakdowns: list[list[Node]] = field(default_factory=list)
    org: str | None = None

    def walk(self, level: int = 0, parent: int | None = None,
             found: list[tuple[Node, int, int | None]] | None = None
             ) -> list[tuple[Node, int, int | None]]:
        """(node, level, index of its parent) depth first."""
        found = [] if found is None else found
        me = len(found)
        found.append((self, level, parent))
        for breakdown in self.breakdowns:
            for child in breakdown:
                child.walk(level + 1, me, found)
        return found


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    level: int  # 0 a measure, 1 a category of it, 2 a category of that
    cells: tuple[str, ...]  # as shown, per column
    values: tuple[float | None, ...]  # None where not shown
    org: str | None = None


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    rows: tuple[Row, ...]
    note: str = ""

    def row(self, key: str) -> Row:
        return next(row for row in self.rows if row.key == key)


@dataclass(frozen=True)
class Report:
    year: int
    grain: Grain
    scope: str  # ALL or an organisation's slug
    language: Language
    periods: tuple[Cell, ...]  # the columns
    tables: tuple[Table, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns' names in the report's language."""
        return tuple(period(cell.key, self.language) for cell in self.periods)

    @property
    def first(self) -> date | None:
        return min((c.first for c in self.periods), default=None)

    @property
    def last(self) -> date | None:
        return max((c.last for c in self.periods), default=None)

    def table(self, key: str) -> Table:
        return next(table for table in self.tables if table.key == key)
