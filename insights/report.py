"""The statistics report: the figures from `storage.statistics`, summed into the fixed
periods of a calendar year (`insights.calendar`), suppressed once over all of them
(`insights.suppression`), labelled in Danish or English (`insights.labels`) and cut to
the periods one report shows. Every output (dashboard, CSV, XLSX, JSON, the research
export, `snakkes stats`) renders a `Report` from here and nothing else.

Nothing has a row per person: rows are measures and categories, columns are periods.
"""

from __future__ import annotations

from collections.abc import Sequence

from insights.builder import Builder
from insights.calendar import Calendar, Grain
from insights.labels import Language
from insights.shapes import FEW, MARKS, SMALL, WITHHELD, Node, Report, Row, Table
from insights.tables import AGE_BANDS, every_table, scoped
from storage.statistics import ALL, Figures

__all__ = ["AGE_BANDS", "FEW", "MARKS", "SMALL", "WITHHELD", "Node", "Report", "Row", "Table",
           "build"]


def build(figures: Figures, calendar: Calendar, organisations: Sequence[str], *,
          grain: Grain = "month", scope: str = ALL, language: Language = "da") -> Report:
    """The report of `calendar`'s year per `grain` from daily `figures`. The organisations'
    tables are suppressed across every organisation at once, then cut to `scope`, so what
    a coordinator sees is exactly their rows of what an administrator sees."""
    b = Builder(figures, calendar, grain, language)
    orgs = sorted({*organisations, *figures.organisations()})
    tables = every_table(b, orgs)
    if scope != ALL:
        tables = [scoped(table, scope) for table in tables]
    periods = tuple(calendar.cells[c] for c in b.shown)
    return Report(calendar.year, grain, scope, language, periods, tuple(tables))
