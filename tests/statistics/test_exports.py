"""The exports: a CSV a Danish Excel opens as columns of numbers, an XLSX with numbers
as numbers, JSON; each exactly the report's cells."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from zoneinfo import ZoneInfo

from openpyxl import load_workbook

from insights import exports
from insights.calendar import Calendar
from insights.report import MARKS, Report, build
from storage.statistics import Figures, Periods

ZONE = ZoneInfo("Europe/Copenhagen")
CALENDAR = Calendar.of(2025, date(2026, 1, 5))


def a_year() -> Figures:
    """Feedback every day of 2025 from two organisations, 14 answers a day (mean 3.5);
    a crisis on three days only."""
    periods = Periods.of(CALENDAR.first, CALENDAR.last, "day", ZONE)
    days = periods.starts
    figures = Figures(periods)

    def daily(n: int) -> list[int]:
        return [n if day.year == 2025 else 0 for day in days]

    for rating, example, other in (("5", 3, 2), ("4", 1, 2), ("3", 1, 1), ("2", 1, 1),
                                   ("1", 1, 1)):
        figures.events[("feedback_rating", rating, "example")] = daily(example)
        figures.events[("feedback_rating", rating, "other")] = daily(other)
    figures.events[("crisis", "suicide", None)] = [
        1 if day in (date(2025, 3, 3), date(2025, 3, 4), date(2025, 7, 1)) else 0 for day in days
    ]
    return figures


def quarterly(language: str = "da") -> Report:
    return build(a_year(), CALENDAR, ["example", "other"], grain="quarter",
                 language="da" if language == "da" else "en")


def danish_number(cell: str) -> float | str:
    """How a Danish Excel reads a cell: decimal comma; anything else is text."""
    try:
        return float(cell.replace(".", "").replace(",", ".")) if cell not in MARKS else cell
    except ValueError:
        return cell


def test_the_csv_opens_in_a_danish_excel_as_columns_of_numbers() -> None:
    report = quarterly()
    raw = exports.to_csv(report).encode("utf-8")
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with a byte order mark
    text = raw.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0] == ["Tabel", "Række", "1. kvt. 2025", "2. kvt. 2025", "3. kvt. 2025",
                       "4. kvt. 2025", "Hele 2025"]
    by_label = {(r[0], r[1].strip()): r[2:] for r in rows[1:] if len(r) == 7}
    feedback = "Vurdering efter en samtale med en frivillig (1-5)"
    answers = by_label[(feedback, "Svar (alle organisationer)")]
    assert [danish_number(c) for c in answers] == [1260.0, 1274.0, 1288.0, 1288.0, 5110.0]
    mean = next(r[2:] for r in rows if r[1].strip() == "gennemsnitlig vurdering")
    assert mean == ["3,5"] * 5  # a decimal comma, not a date
    assert [danish_number(c) for c in mean] == [3.5] * 5
    # Suppressed cells are text that Excel leaves alone.
    crisis = by_label[("Krisesvar (sikkerhedsnettet)", "Krisesvar (sikkerhedsnettet)")]
    assert crisis == ["<5"] * 5
    # The whole file is the report: every row, every cell, in order.
    body = [r for r in rows[1:] if len(r) == 7]
    expected = [[t.title, row.label, *(c.lstrip("+").replace(".", ",") for c in row.cells)]
                for t in report.tables for row in t.rows]
    assert [[r[0], r[1].strip(), *r[2:]] for r in body] == expected


def test_the_english_csv_uses_commas_and_points() -> None:
    text = exports.to_csv(quarterly("en"))
    assert not text.startswith("\ufeff")
    assert text.splitlines()[0] == "Table,Row,Q1 2025,Q2 2025,Q3 2025,Q4 2025,All 2025"
    assert "mean rating,3.5,3.5,3.5,3.5,3.5" in text


def test_the_xlsx_opens_and_matches_the_table() -> None:
    report = quarterly()
    book = load_workbook(io.BytesIO(exports.to_xlsx(report)))
    assert len(book.sheetnames) == len(report.tables) + 1
    for table, name in zip(report.tables, book.sheetnames, strict=False):
        sheet = book[name]
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[0][0] == table.title
        assert list(rows[1][1:]) == list(report.columns)
        for row, found in zip(table.rows, rows[2:], strict=False):
            assert str(found[0]).strip() == row.label
            expected = [v if v is not None else c
                        for c, v in zip(row.cells, row.values, strict=True)]
            assert list(found[1:]) == expected
    sheet = book[book.sheetnames[report.tables.index(report.table("feedback"))]]
    values = [r for r in sheet.iter_rows(values_only=True)
              if str(r[0]).strip() == "gennemsnitlig vurdering"]
    assert values[0][1:] == (3.5, 3.5, 3.5, 3.5, 3.5)


def test_the_json_has_every_cell_with_its_period() -> None:
    report = quarterly("en")
    data = json.loads(exports.to_json(report))
    assert [c["key"] for c in data["columns"]] == ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4",
                                                   "2025"]
    assert data["columns"][0]["from"] == "2025-01-01"
    assert data["columns"][0]["to"] == "2025-03-31"
    tables = {t["key"]: t for t in data["tables"]}
    row = next(r for r in tables["feedback"]["rows"] if r["key"] == "feedback")
    assert row["values"] == [1260, 1274, 1288, 1288, 5110]
    assert data["legend"]["<5"] == "fewer than 5 (0 included)"
