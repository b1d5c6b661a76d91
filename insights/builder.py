"""Sums the daily figures into a calendar's periods and builds suppressed tables from
them: every cell of the year at once (`insights.suppression`), then cut to the periods
one report shows."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from insights.calendar import Calendar, Grain
from insights.labels import Language, category, text
from insights.shapes import FEW, SMALL, WITHHELD, Node, Row, Table
from insights.suppression import HIDDEN_SMALL, SHOWN, THRESHOLD, Line, suppress
from storage.statistics import ALL, Figures, Percentiles, nearest_rank


class Builder:
    """Sums the daily figures into the calendar's cells; builds and suppresses tables."""

    def __init__(self, figures: Figures, calendar: Calendar, grain: Grain,
                 language: Language) -> None:
        self.figures, self.calendar, self.language = figures, calendar, language
        days = figures.periods.starts
        if figures.periods.granularity != "day":
            raise ValueError("the report sums daily figures")
        self.members = [
            [i for i, day in enumerate(days) if cell.first <= day <= cell.last]
            for cell in calendar.cells
        ]
        self.spans = [(m[0], m[-1] + 1) if m else (0, 0) for m in self.members]
        shown = calendar.columns(grain)
        self.shown = [calendar.cells.index(cell) for cell in shown]
        self.lines = calendar.lines()
        self.nested = calendar.nested()

    def t(self, key: str) -> str:
        return text(key, self.language)

    def cat(self, kind: str, value: str) -> str:
        return category(kind, value, self.language)

    def cells(self, daily: Sequence[int]) -> list[int]:
        """Daily counts summed per calendar cell."""
        prefix = [0]
        for n in daily:
            prefix.append(prefix[-1] + n)
        return [prefix[b] - prefix[a] for a, b in self.spans]

    def count(self, kind: str, detail: str | None = None, org: str | None = ALL) -> list[int]:
        return self.cells(self.figures.count(kind, detail, org))

    def zeros(self) -> list[int]:
        return [0] * len(self.calendar.cells)

    # -- a table of counts -------------------------------------------------------------
    def count_table(
        self,
        key: str,
        roots: list[Node],
        *,
        links: Sequence[tuple[Sequence[str], str]] = (),
        means: Sequence[tuple[str, str, dict[str, int]]] = (),
        note: str = "",
    ) -> Table:
        """Rows of counts over every calendar cell, suppressed together, cut to the shown
        columns. `links`: further sum relations (parts' keys, total's key) in every cell;
        `means`: a mean row after a node (node key, label, {child key: weight})."""
        width = len(self.calendar.cells)
        walked: list[tuple[Node, int, int | None]] = []
        for root in roots:
            tree = root.walk()
            offset = len(walked)
            walked += [(n, lv, None if p is None else p + offset) for n, lv, p in tree]
        position = {node.key: r for r, (node, _, _) in enumerate(walked)}
        values = [v for node, _, _ in walked for v in node.counts]
        lines: list[Line] = []
        for r in range(len(walked)):
            lines += [Line(tuple(r * width + p for p in parts), r * width + total)
                      for parts, total in self.lines]
        relations = [([child.key for child in breakdown], node.key)
                     for node, _, _ in walked for breakdown in node.breakdowns]
        for parts, total in [*relations, *links]:
            for c in range(width):
                lines.append(Line(tuple(position[p] * width + c for p in parts),
                                  position[total] * width + c))
        pairs = self._pairs(walked, position, links)
        marks = suppress(values, lines, pairs)
        rows: list[Row] = []
        for r, (node, level, _) in enumerate(walked):
            found = [_cell(values[r * width + c], marks[r * width + c]) for c in self.shown]
            rows.append(Row(node.key, node.label, level, tuple(c[0] for c in found),
                            tuple(c[1] for c in found), node.org))
            for mean_of, mean_label, weights in means:
                if mean_of == node.key:
                    rows.append(self._mean_row(node, mean_label, weights, values=values,
                                               marks=marks, position=position, width=width))
        return Table(key, self.t(key), tuple(rows), note)

    def _pairs(self, walked: list[tuple[Node, int, int | None]], position: dict[str, int],
               links: Sequence[tuple[Sequence[str], str]]) -> list[tuple[int, int]]:
        """(outer, inner) cells where the inner count is part of the outer: the same row in
        a longer period, and every row it is part of (its parents, and the totals it is
        linked to) in the same period or a longer one."""
        width = len(self.calendar.cells)
        same = [(c, c) for c in range(width)]
        containers: dict[int, set[int]] = {
            r: {parent} if parent is not None else set()
            for r, (_, _, parent) in enumerate(walked)
        }
        for parts, total in links:
            for member in parts:
                containers[position[member]].add(position[total])
        pairs: list[tuple[int, int]] = []
        for r in range(len(walked)):
            ancestors, todo = {r}, list(containers[r])
            while todo:
                up = todo.pop()
                if up not in ancestors:
                    ancestors.add(up)
                    todo += containers[up]
            for a in sorted(ancestors):
                for outer, inner in [*self.nested, *(same if a != r else [])]:
                    pairs.append((a * width + outer, r * width + inner))
        return pairs

    def _mean_row(self, node: Node, label: str, weights: dict[str, int], *,
                  values: list[int], marks: list[int], position: dict[str, int],
                  width: int) -> Row:
        cells: list[str] = []
        shown: list[float | None] = []
        for c in self.shown:
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

    def summaries(self, kind: str) -> dict[str, list[Percentiles | None]]:
        """Median and 90th percentile per organisation (ALL: every one) per shown cell."""
        counts = self.figures.value_counts
        orgs = sorted({o for k, o, _ in counts if k == kind})
        found: dict[str, list[Percentiles | None]] = {}
        for org in [ALL, *orgs]:
            row: list[Percentiles | None] = []
            for c in self.shown:
                merged: Counter[int] = Counter()
                for day in self.members[c]:
                    for o in orgs if org == ALL else [org]:
                        merged.update(counts.get((kind, o, day), Counter()))
                values = sorted(merged.elements())
                row.append(nearest_rank(values) if values else None)
            found[org] = row
        return found


def _cell(value: int, mark: int) -> tuple[str, float | None]:
    if mark == SHOWN:
        return str(value), float(value)
    return (SMALL if mark == HIDDEN_SMALL else WITHHELD), None
