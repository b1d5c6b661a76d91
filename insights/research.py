"""The export for research: the same suppressed cells as every report, in long form with
stable keys instead of labels (one line per measure, category and period), so that
figures from several years and reports can be put together without a spreadsheet.
docs/research-export.md is its data dictionary."""

from __future__ import annotations

import csv
import io

from insights.report import FEW, SMALL, WITHHELD, Report
from storage.statistics import ALL

COLUMNS = (
    "period", "period_kind", "period_from", "period_to", "scope", "table", "row", "level",
    "value", "suppressed",
)
SUPPRESSED = {SMALL: "small", WITHHELD: "secondary", FEW: "few_values"}


def rows(report: Report) -> list[dict[str, str]]:
    scope = "all" if report.scope == ALL else report.scope
    found: list[dict[str, str]] = []
    for table in report.tables:
        for row in table.rows:
            for cell, shown in zip(report.periods, row.cells, strict=True):
                found.append({
                    "period": cell.key,
                    "period_kind": cell.kind,
                    "period_from": cell.first.isoformat(),
                    "period_to": cell.last.isoformat(),
                    "scope": scope,
                    "table": table.key,
                    "row": row.key,
                    "level": str(row.level),
                    "value": "" if shown in SUPPRESSED else shown.lstrip("+"),
                    "suppressed": SUPPRESSED.get(shown, ""),
                })
    return found


def to_csv(report: Report) -> str:
    """Comma-separated, UTF-8, a point for decimals, empty where suppressed."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows(report))
    return out.getvalue()
