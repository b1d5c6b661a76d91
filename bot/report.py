"""The statistics report: the figures from `storage.statistics` shaped into tables, with
small cells suppressed, once, for every output (dashboard, CSV, JSON, the CLI).

Why here and not in storage: suppression is about what is shown, and every output lives in
`bot/`; the SQL stays in storage, this module is pure (no database, no HTTP).

The suppression rule:
1. Primary: every count below 5 (0 included) is shown as "<5".
2. Secondary: every sum relation a table shows (a row's periods and its total; a breakdown's
   rows and the row they break down, in each column) is a "line". A line with exactly one
   hidden member would give it away by subtraction, so the smallest shown part of that line
   is withheld too ("x"); the line's total only when no part is left. Repeated until no line
   has exactly one hidden member.
3. A summary (median, 90th percentile) of fewer than 5 values is withheld ("n<5"); a mean
   is shown only where its distribution in that column has no hidden cell (with the total,
   a mean would otherwise solve the hidden cells).
Nothing has a row per person: rows are measures and categories, columns are periods.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from storage.statistics import ALL, Figures, Percentiles

THRESHOLD = 5
SMALL, WITHHELD, FEW = "<5", "x", "n<5"
LEGEND = {
    SMALL: "fewer than 5 (0 included)",
    WITHHELD: "withheld so that a count below 5 cannot be worked out from a total",
    FEW: "a median, percentile or mean of fewer than 5 values is not shown",
}
SHOWN, HIDDEN_SMALL, HIDDEN_SECONDARY = 0, 1, 2


@dataclass(frozen=True)
class Line:
    """`parts` add up to `total` (indexes into a flat list of cells)."""

    parts: tuple[int, ...]
    total: int


def suppress(values: Sequence[int], lines: Sequence[Line]) -> list[int]:
    """The mark of each cell: SHOWN, HIDDEN_SMALL (primary) or HIDDEN_SECONDARY."""
    marks = [HIDDEN_SMALL if value < THRESHOLD else SHOWN for value in values]
    changed = True
    while changed:
        changed = False
        for line in lines:
            members = (*line.parts, line.total)
            if sum(1 for i in members if marks[i] != SHOWN) != 1:
                continue
            candidates = [i for i in line.parts if marks[i] == SHOWN]
            if not candidates:
                if marks[line.total] != SHOWN:
                    continue  # the one hidden member is the total: nothing to work out
                candidates = [line.total]
            pick = min(candidates, key=lambda i: (values[i], i))
            marks[pick] = HIDDEN_SECONDARY
            changed = True
    return marks


@dataclass
class Node:
    """A counted row: counts per period, and breakdowns (each a list of rows adding up to
    this one). `org` marks rows that belong to one organisation."""

    key: str
    label: str
    counts: list[int]
    breakdowns: list[list[Node]] = field(default_factory=list)
    org: str | None = None

    def walk(self, level: int = 0) -> list[tuple[Node, int]]:
        found = [(self, level)]
        for breakdown in self.breakdowns:
            for child in breakdown:
                found += child.walk(level + 1)
        return found


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    level: int  # 0 a measure, 1 a category of it, 2 a category of that
    cells: tuple[str, ...]  # as shown, per column
    values: tuple[float | None, ...]  # for charts: None where not shown
    org: str | None = None


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[Row, ...]
    note: str = ""

    def row(self, key: str) -> Row:
        return next(row for row in self.rows if row.key == key)


def count_table(
    key: str,
    title: str,
    periods: list[str],
    roots: list[Node],
    *,
    links: Sequence[tuple[Sequence[str], str]] = (),
    means: Sequence[tuple[str, str, dict[str, int]]] = (),
    note: str = "",
) -> Table:
    """Rows of counts per period plus a total column, suppressed together. `links` are
    further sum relations (parts' keys, total's key) in every column; `means` adds a mean
    row after a node: (node key, label, {child key: weight})."""
    width = len(periods) + 1
    walked = [pair for root in roots for pair in root.walk()]
    position = {node.key: i for i, (node, _) in enumerate(walked)}
    values: list[int] = []
    for node, _ in walked:
        values += [*node.counts, sum(node.counts)]
    lines: list[Line] = []
    for r in range(len(walked)):
        lines.append(Line(tuple(r * width + c for c in range(width - 1)), r * width + width - 1))
    relations = [
        ([child.key for child in breakdown], node.key)
        for node, _ in walked
        for breakdown in node.breakdowns
    ]
    for parts, total in [*relations, *links]:
        for c in range(width):
            lines.append(
                Line(
                    tuple(position[p] * width + c for p in parts), position[total] * width + c
                )
            )
    marks = suppress(values, lines)
    rows: list[Row] = []
    for r, (node, level) in enumerate(walked):
        cells = [_cell(values[r * width + c], marks[r * width + c]) for c in range(width)]
        rows.append(Row(node.key, node.label, level, tuple(c[0] for c in cells),
                        tuple(c[1] for c in cells), node.org))
        for mean_of, mean_label, weights in means:
            if mean_of == node.key:
                rows.append(_mean_row(node, mean_label, weights=weights, values=values,
                                     marks=marks, position=position, width=width))
    return Table(key, title, (*periods, "Total"), tuple(rows), note)


def _cell(value: int, mark: int) -> tuple[str, float | None]:
    if mark == HIDDEN_SMALL:
        return SMALL, None
    if mark == HIDDEN_SECONDARY:
        return WITHHELD, None
    return str(value), float(value)


def _mean_row(
    node: Node,
    label: str,
    *,
    weights: dict[str, int],
    values: list[int],
    marks: list[int],
    position: dict[str, int],
    width: int,
) -> Row:
    cells: list[str] = []
    shown: list[float | None] = []
    for c in range(width):
        counts = {k: values[position[k] * width + c] for k in weights}
        hidden = any(marks[position[k] * width + c] != SHOWN for k in weights)
        n = sum(counts.values())
        if hidden or n < THRESHOLD:
            cells.append(FEW if n < THRESHOLD else WITHHELD)
            shown.append(None)
            continue
        mean = sum(weights[k] * counts[k] for k in weights) / n
        cells.append(f"{mean:.1f}")
        shown.append(round(mean, 1))
    return Row(f"{node.key}/mean", label, 1, tuple(cells), tuple(shown), node.org)


def summary_table(
    key: str,
    title: str,
    periods: list[str],
    summaries: Sequence[tuple[str, str, list[Percentiles | None], str | None]],
    *,
    note: str = "",
) -> Table:
    """Median and 90th percentile in minutes per period and over the range; withheld when
    based on fewer than 5 values. `summaries`: (key, label, per column, organisation)."""
    rows: list[Row] = []
    for row_key, row_label, found, org in summaries:
        for part, part_label in (("median", "median"), ("p90", "90th percentile")):
            cells: list[str] = []
            shown: list[float | None] = []
            for item in found:
                if item is None or item.n < THRESHOLD:
                    cells.append(FEW)
                    shown.append(None)
                    continue
                minutes = round(getattr(item, part) / 60, 1)
                cells.append(f"{minutes:g}")
                shown.append(minutes)
            rows.append(Row(f"{row_key}/{part}", f"{row_label}: {part_label} (min)", 0,
                            tuple(cells), tuple(shown), org))
    return Table(key, title, (*periods, "Total"), tuple(rows), note)


# -- the report ----------------------------------------------------------------------------
LANGUAGES = {"da": "Danish", "en": "English"}
CHANNELS = {"telegram": "Telegram", "web": "Web chat"}
AGE_BANDS = ("under-15", "15-17", "18-24", "25-30", "unsaid")
LEFT = {"withdrawn": "withdrew", "timed_out": "after a time-out notice", "blocked": "blocked"}
CHANGES = {"better": "less lonely", "same": "unchanged", "worse": "lonelier"}


@dataclass(frozen=True)
class Report:
    first: str
    last: str
    granularity: str
    scope: str  # ALL or an organisation's slug
    periods: tuple[str, ...]
    tables: tuple[Table, ...]

    def table(self, key: str) -> Table:
        return next(table for table in self.tables if table.key == key)


def build(figures: Figures, organisations: Sequence[str], scope: str = ALL) -> Report:
    """The report over `figures`: service-wide tables for everyone; the organisations'
    tables suppressed across every organisation at once, then cut to `scope`, so what a
    coordinator sees is exactly their rows of what an administrator sees."""
    p = figures.periods
    periods = p.labels()
    orgs = sorted({*organisations, *figures.organisations()})
    tables = [
        _people(figures, periods),
        _conversations(figures, periods),
        _categories(figures, periods, "age_bands", "Age band told at intake", "age_band",
                    known=list(AGE_BANDS)),
        _categories(figures, periods, "topics", "Topics chosen", "topic"),
        _categories(figures, periods, "crisis", "Crisis events (safety net)", "crisis"),
        _checkins(figures, periods),
        _queue(figures, periods),
        _loneliness_first(figures, periods),
        _loneliness_change(figures, periods),
        _volunteer_conversations(figures, periods, orgs),
        _feedback(figures, periods, orgs),
        _summaries("waiting", "Waiting time from request to a volunteer", figures.waits,
                   periods, orgs),
        _summaries("length", "Length of volunteer conversations", figures.lengths,
                   periods, orgs),
    ]
    if scope != ALL:
        tables = [_scoped(table, scope) for table in tables]
    return Report(p.first.isoformat(), p.last.isoformat(), p.granularity, scope,
                  tuple(periods), tuple(tables))


_ORG_TABLES = {"volunteer_conversations", "feedback", "waiting", "length"}


def _scoped(table: Table, org: str) -> Table:
    if table.key not in _ORG_TABLES:
        return table
    rows = tuple(row for row in table.rows if row.org == org)
    return Table(table.key, table.title, table.columns, rows, table.note)


def _by(figures: Figures, kind: str, key: str, details: list[str],
        labels: dict[str, str] | None = None) -> list[Node]:
    return [
        Node(f"{key}/{d}", (labels or {}).get(d, d), figures.count(kind, d)) for d in details
    ]


def _people_by(figures: Figures, kind: str, detail: str | None, key: str, *,
               field_index: int, labels: dict[str, str]) -> list[Node]:
    size = len(figures.periods.starts)
    nodes: list[Node] = []
    found = {k[field_index] for k in figures.people if k[0] == kind}
    for value in sorted(set(labels) | found):
        counts = [0] * size
        for k, series in figures.people.items():
            if k[0] == kind and detail in (None, k[1]) and k[field_index] == value:
                counts = [a + b for a, b in zip(counts, series, strict=True)]
        nodes.append(Node(f"{key}/{value}", labels.get(value, value), counts))
    return nodes


def _people_total(figures: Figures, kind: str, detail: str | None = None) -> list[int]:
    counts = figures.zeros()
    for k, series in figures.people.items():
        if k[0] == kind and detail in (None, k[1]):
            counts = [a + b for a, b in zip(counts, series, strict=True)]
    return counts


def _people(figures: Figures, periods: list[str]) -> Table:
    new = Node("new", "New people (accepted what snakkes is)",
               _people_total(figures, "new_person"), [
                   _people_by(figures, "new_person", None, "new/language",
                   field_index=3, labels=LANGUAGES),
                   _people_by(figures, "new_person", None, "new/channel",
                   field_index=2, labels=CHANNELS),
               ])
    back = Node("returning", "Returning people (back after a day or more)",
                _people_total(figures, "bot_conversation", "again"), [
                    _people_by(figures, "bot_conversation", "again", "returning/channel",
                               field_index=2, labels=CHANNELS),
                ])
    note = ("A return is counted each time someone writes again after 24 hours or more of "
            "quiet; the log keeps no pseudonym, so one person returning twice counts twice.")
    return count_table("people", "People", periods, [new, back], note=note)


def _conversations(figures: Figures, periods: list[str]) -> Table:
    node = Node("bot", "Bot conversations", _people_total(figures, "bot_conversation"), [
        _people_by(figures, "bot_conversation", None, "bot/language",
                   field_index=3, labels=LANGUAGES),
        _people_by(figures, "bot_conversation", None, "bot/channel",
                   field_index=2, labels=CHANNELS),
    ])
    note = "A conversation starts with a first message, or the first after 24 hours of quiet."
    return count_table("conversations", "Bot conversations", periods, [node], note=note)


def _categories(
    figures: Figures, periods: list[str], key: str, title: str, kind: str, *,
    known: list[str] | None = None,
) -> Table:
    details = sorted(set(known or []) | set(figures.details(kind)),
                     key=lambda d: (known or []).index(d) if d in (known or []) else 99)
    node = Node(key, title, figures.count(kind), [_by(figures, kind, key, details)])
    return count_table(key, title, periods, [node])


def _checkins(figures: Figures, periods: list[str]) -> Table:
    kinds = {"checkin": "check-ins", "reminder": "reminders"}
    roots = [
        Node(kind, label, figures.count(kind),
             [_by(figures, kind, kind, sorted(set(kinds) | set(figures.details(kind))), kinds)]
             if split else [])
        for kind, label, split in (
            ("checkin_planned", "Check-ins planned", False),
            ("checkin_sent", "Messages sent", True),
            ("checkin_answered", "Answered", False),
            ("checkin_missed", "Missed (not sent in time)", True),
        )
    ]
    return count_table("checkins", "Check-ins", periods, roots)


def _queue(figures: Figures, periods: list[str]) -> Table:
    left = figures.details("handover_left")
    details = [*LEFT, *(d for d in left if d not in LEFT)]
    roots = [
        Node("requests", "Handover requests (joined the queue)",
             figures.count("handover_requested")),
        Node("timeouts", "Time-out notices (nobody came in time)",
             figures.count("handover_timed_out")),
        Node("left", "Left the queue", figures.count("handover_left"),
             [_by(figures, "handover_left", "left", details, LEFT)]),
    ]
    return count_table("queue", "Handover queue", periods, roots)


def _loneliness_first(figures: Figures, periods: list[str]) -> Table:
    size = len(figures.periods.starts)
    children = [
        Node(f"first/{score}", f"score {score}", figures.first_scores.get(score, [0] * size))
        for score in range(3, 10)
    ]
    total = [sum(c.counts[i] for c in children) for i in range(size)]
    node = Node("first", "People measured for the first time", total, [children])
    weights = {f"first/{score}": score for score in range(3, 10)}
    note = ("Three-Item Loneliness Scale, 3 (least) to 9 (most lonely); 6 or more is "
            "usually read as lonely. Only complete answers count.")
    return count_table("loneliness_first", "Loneliness at the first measurement", periods,
                       [node], means=[("first", "mean score", weights)], note=note)


def _loneliness_change(figures: Figures, periods: list[str]) -> Table:
    size = len(figures.periods.starts)
    children = [
        Node(f"change/{way}", label, figures.changes.get(way, [0] * size))
        for way, label in CHANGES.items()
    ]
    total = [sum(c.counts[i] for c in children) for i in range(size)]
    node = Node("change", "People measured again (first vs latest)", total, [children])
    table = count_table("loneliness_change", "Change in loneliness", periods, [node],
                        note="Per person, the first complete measurement against the latest "
                             "later one; counted in the period of the latest.")
    return _with_mean_change(table, figures, total)


def _with_mean_change(table: Table, figures: Figures, totals: list[int]) -> Table:
    """The mean change, where the counts it rests on are all shown."""
    sums = [*figures.change_sums, sum(figures.change_sums)]
    ns = [*totals, sum(totals)]
    cells: list[str] = []
    shown: list[float | None] = []
    parts = [row for row in table.rows if row.level == 1]
    for c, (total, n) in enumerate(zip(sums, ns, strict=True)):
        hidden = any(row.values[c] is None for row in parts)
        if n < THRESHOLD or hidden:
            cells.append(FEW if n < THRESHOLD else WITHHELD)
            shown.append(None)
            continue
        cells.append(f"{total / n:+.2f}")
        shown.append(round(total / n, 2))
    mean = Row("change/mean", "mean change of score (negative: less lonely)", 1,
               tuple(cells), tuple(shown))
    return Table(table.key, table.title, table.columns, (*table.rows, mean), table.note)


def _volunteer_conversations(figures: Figures, periods: list[str], orgs: list[str]) -> Table:
    children = [
        Node(f"claimed/{org}", org, figures.count("handover_claimed", org=org), org=org)
        for org in orgs
    ]
    node = Node("claimed", "Volunteer conversations (all organisations)",
                figures.count("handover_claimed"), [children])
    return count_table("volunteer_conversations", "Volunteer conversations", periods, [node])


def _feedback(figures: Figures, periods: list[str], orgs: list[str]) -> Table:
    ratings = [str(r) for r in range(1, 6)]
    by_rating = [
        Node(f"feedback/{r}", f"rating {r}", figures.count("feedback_rating", r))
        for r in ratings
    ]
    by_org = [
        Node(f"feedback@{org}", f"{org}: answers", figures.count("feedback_rating", org=org),
             [[Node(f"feedback@{org}/{r}", f"rating {r}",
                    figures.count("feedback_rating", r, org=org), org=org) for r in ratings]],
             org=org)
        for org in orgs
    ]
    root = Node("feedback", "Feedback answers (all organisations)",
                figures.count("feedback_rating"), [by_rating, by_org])
    links = [([f"feedback@{org}/{r}" for org in orgs], f"feedback/{r}") for r in ratings]
    means = [("feedback", "mean rating", {f"feedback/{r}": int(r) for r in ratings})]
    means += [
        (f"feedback@{org}", "mean rating", {f"feedback@{org}/{r}": int(r) for r in ratings})
        for org in orgs
    ]
    return count_table("feedback", "Feedback after a volunteer conversation (1-5)", periods,
                       [root], links=links if orgs else (), means=means)


def _summaries(key: str, title: str, found: dict[str, list[Percentiles | None]],
               periods: list[str], orgs: list[str]) -> Table:
    empty: list[Percentiles | None] = [None] * (len(periods) + 1)
    summaries: list[tuple[str, str, list[Percentiles | None], str | None]] = [
        (ALL, "all organisations", found.get(ALL, empty), None)
    ]
    summaries += [(org, org, found.get(org, empty), org) for org in orgs]
    return summary_table(key, title, periods, summaries)


# -- outputs ---------------------------------------------------------------------------------
def to_json(report: Report) -> str:
    return json.dumps(as_dict(report), ensure_ascii=False, indent=2)


def as_dict(report: Report) -> dict[str, Any]:
    return {
        "from": report.first,
        "to": report.last,
        "granularity": report.granularity,
        "organisation": None if report.scope == ALL else report.scope,
        "columns": [*report.periods, "Total"],
        "legend": LEGEND,
        "tables": [
            {
                "key": table.key,
                "title": table.title,
                "note": table.note,
                "rows": [
                    {"key": row.key, "label": row.label, "level": row.level,
                     "cells": list(row.cells)}
                    for row in table.rows
                ],
            }
            for table in report.tables
        ],
    }


def to_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["table", "row", *report.periods, "Total"])
    for table in report.tables:
        for row in table.rows:
            label = "  " * row.level + row.label
            writer.writerow([table.title, _safe(label), *row.cells])
    return out.getvalue()


def _safe(text: str) -> str:
    """No formula injection when the CSV is opened in a spreadsheet."""
    return "'" + text if text.lstrip()[:1] in {"=", "+", "-", "@"} else text


def to_text(report: Report) -> str:
    scope = "all organisations" if report.scope == ALL else report.scope
    out = [f"snakkes statistics {report.first} to {report.last}, per {report.granularity}, "
           f"{scope}"]
    for table in report.tables:
        out += ["", table.title]
        header = ["", *table.columns]
        body = [["  " * row.level + row.label, *row.cells] for row in table.rows]
        widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
        for line in [header, *body]:
            out.append("  ".join(
                cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
                for i, cell in enumerate(line)
            ).rstrip())
        if table.note:
            out.append(table.note)
    out += ["", *(f"{mark:>4}  {meaning}" for mark, meaning in LEGEND.items())]
    return "\n".join(out) + "\n"
