"""The report as files: CSV for a Danish Excel, XLSX, JSON, and plain text for the
terminal. Each renders exactly the cells of a `Report`, nothing more."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

from openpyxl import Workbook

from insights.labels import Language, text
from insights.report import MARKS, Report
from storage.statistics import ALL

BOM = "\ufeff"


def legend(language: Language) -> dict[str, str]:
    return {mark: text(mark, language) for mark in MARKS}


def _header(report: Report) -> list[str]:
    da = report.language == "da"
    return ["Tabel" if da else "Table", "Række" if da else "Row", *report.columns]


def _label(level: int, label: str) -> str:
    return "  " * level + label


def _safe(value: str) -> str:
    """No formula injection when a label is opened in a spreadsheet."""
    return "'" + value if value.lstrip()[:1] in {"=", "+", "-", "@"} else value


_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")


def _danish_number(cell: str) -> str:
    """6.1 → 6,1 and +0.25 → 0,25 (what a Danish Excel reads as a number); marks stay."""
    if not _NUMBER.match(cell):
        return cell
    return cell.lstrip("+").replace(".", ",")


def to_csv(report: Report) -> str:
    """Semicolons, decimal commas and a byte order mark: a Danish Excel opens it as
    columns of numbers; "<5", "x" and "n<5" stay text. English: commas and points."""
    da = report.language == "da"
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";" if da else ",", lineterminator="\r\n")
    writer.writerow(_header(report))
    for table in report.tables:
        for row in table.rows:
            cells = [_danish_number(c) if da else c for c in row.cells]
            writer.writerow([_safe(table.title), _safe(_label(row.level, row.label)), *cells])
    writer.writerow([])
    for mark, meaning in legend(report.language).items():
        writer.writerow([mark, meaning])
    return (BOM if da else "") + out.getvalue()


def _sheet_name(title: str, taken: set[str]) -> str:
    name = re.sub(r"[\[\]:*?/\\]", "", title)[:28].strip() or "Tabel"
    candidate, n = name, 2
    while candidate.lower() in taken:
        candidate, n = f"{name[:26]} {n}", n + 1
    taken.add(candidate.lower())
    return candidate


def to_xlsx(report: Report) -> bytes:
    """One sheet per table: numbers as numbers, the marks as text."""
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    taken: set[str] = set()
    for table in report.tables:
        sheet = book.create_sheet(_sheet_name(table.title, taken))
        sheet.append([table.title])
        sheet.append(["", *report.columns])
        for row in table.rows:
            values: list[Any] = [
                value if value is not None else cell
                for cell, value in zip(row.cells, row.values, strict=True)
            ]
            sheet.append([_safe(_label(row.level, row.label)), *values])
        if table.note:
            sheet.append([])
            sheet.append([table.note])
        sheet.column_dimensions["A"].width = 48
    notes = book.create_sheet(_sheet_name("Forklaring" if report.language == "da"
                                          else "Legend", taken))
    for mark, meaning in legend(report.language).items():
        notes.append([mark, meaning])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def as_dict(report: Report) -> dict[str, Any]:
    return {
        "year": report.year,
        "per": report.grain,
        "organisation": None if report.scope == ALL else report.scope,
        "language": report.language,
        "from": report.first.isoformat() if report.first else None,
        "to": report.last.isoformat() if report.last else None,
        "columns": [
            {"key": cell.key, "label": label, "from": cell.first.isoformat(),
             "to": cell.last.isoformat()}
            for cell, label in zip(report.periods, report.columns, strict=True)
        ],
        "legend": legend(report.language),
        "tables": [
            {
                "key": table.key,
                "title": table.title,
                "note": table.note,
                "rows": [
                    {"key": row.key, "label": row.label, "level": row.level,
                     "cells": list(row.cells), "values": list(row.values)}
                    for row in table.rows
                ],
            }
            for table in report.tables
        ],
    }


def to_json(report: Report) -> str:
    return json.dumps(as_dict(report), ensure_ascii=False, indent=2)


def to_text(report: Report) -> str:
    da = report.language == "da"
    scope = text("all_orgs", report.language) if report.scope == ALL else report.scope
    per = {"week": ("uge", "week"), "month": ("måned", "month"),
           "quarter": ("kvartal", "quarter")}[report.grain][0 if da else 1]
    out = [f"snakkes {'statistik' if da else 'statistics'} {report.year}, "
           f"{'pr.' if da else 'per'} {per}, {scope}"]
    for table in report.tables:
        out += ["", table.title]
        header = ["", *report.columns]
        body = [[_label(row.level, row.label), *row.cells] for row in table.rows]
        widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
        for line in [header, *body]:
            out.append("  ".join(
                cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
                for i, cell in enumerate(line)
            ).rstrip())
        if table.note:
            out.append(table.note)
    out += ["", *(f"{mark:>4}  {meaning}" for mark, meaning in legend(report.language).items())]
    return "\n".join(out) + "\n"
