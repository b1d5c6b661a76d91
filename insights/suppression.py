"""Small-cell suppression, decided once over every cell a report could show.

1. Primary: every count below 5 (0 included) is hidden ("<5").
2. Lines: where parts add up to a total (a row's months and its quarter or year; a
   breakdown's rows and the row they break down, in each period), the hidden members of a
   line can be worked out together from the shown ones. So a line may not have exactly one
   hidden member, and where its total is shown its hidden parts must add up to 5 or more;
   otherwise the smallest shown part is withheld too ("x"), or the total if no part is left.
3. Pairs: where one cell lies inside another (a week in its month, a month in its year, a
   category in the row it breaks down), the outer minus the inner is a count too; where
   both are shown it must be 5 or more, or the inner is withheld.
Repeated until nothing changes. Every report is then a cut of the same marks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

THRESHOLD = 5
SHOWN, HIDDEN_SMALL, HIDDEN_SECONDARY = 0, 1, 2


@dataclass(frozen=True)
class Line:
    """`parts` add up to `total` (indexes into a flat list of cells)."""

    parts: tuple[int, ...]
    total: int


def suppress(
    values: Sequence[int], lines: Sequence[Line], pairs: Sequence[tuple[int, int]] = ()
) -> list[int]:
    """The mark of each cell: SHOWN, HIDDEN_SMALL (primary) or HIDDEN_SECONDARY.
    `pairs`: (outer, inner) where the inner cell's count is part of the outer's."""
    marks = [HIDDEN_SMALL if value < THRESHOLD else SHOWN for value in values]
    changed = True
    while changed:
        changed = False
        for line in lines:
            pick = _exposed(line, values, marks)
            if pick is not None:
                marks[pick] = HIDDEN_SECONDARY
                changed = True
        for outer, inner in pairs:
            if (marks[outer] == SHOWN and marks[inner] == SHOWN
                    and values[outer] - values[inner] < THRESHOLD):
                marks[inner] = HIDDEN_SECONDARY
                changed = True
    return marks


def _exposed(line: Line, values: Sequence[int], marks: list[int]) -> int | None:
    """The cell to withhold so that the line gives nothing away, or None."""
    hidden_parts = [i for i in line.parts if marks[i] != SHOWN]
    total_hidden = marks[line.total] != SHOWN
    hidden = len(hidden_parts) + total_hidden
    if hidden == 0:
        return None
    small_sum = not total_hidden and sum(values[i] for i in hidden_parts) < THRESHOLD
    if hidden != 1 and not small_sum:
        return None
    candidates = [i for i in line.parts if marks[i] == SHOWN]
    if not candidates:
        return None if total_hidden else line.total
    return min(candidates, key=lambda i: (values[i], i))
