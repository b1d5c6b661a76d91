"""The suppression rule, on its own: primary (<5), secondary (no line with exactly one
hidden member), and the shapes the report builds on it."""

from __future__ import annotations

import random

import pytest

from insights.suppression import HIDDEN_SECONDARY, HIDDEN_SMALL, SHOWN, Line, suppress


def grid_lines(rows: int, cols: int) -> list[Line]:
    """A rows x cols table with a total column and a total row (last row/column)."""
    width = cols + 1
    lines = [Line(tuple(r * width + c for c in range(cols)), r * width + cols)
             for r in range(rows + 1)]
    lines += [Line(tuple(r * width + c for r in range(rows)), rows * width + c)
              for c in range(width)]
    return lines


def with_totals(body: list[list[int]]) -> list[int]:
    rows = [[*row, sum(row)] for row in body]
    rows.append([sum(col) for col in zip(*rows, strict=True)])
    return [v for row in rows for v in row]


def test_counts_below_five_are_small_and_zero_too() -> None:
    assert suppress([0, 4, 5, 100], []) == [HIDDEN_SMALL, HIDDEN_SMALL, SHOWN, SHOWN]


def test_a_lone_hidden_cell_takes_the_smallest_neighbour_with_it() -> None:
    # 3 + 20 + 30 = 53: without a second hidden cell, 53 - 20 - 30 = 3.
    marks = suppress([3, 20, 30, 53], [Line((0, 1, 2), 3)])
    assert marks == [HIDDEN_SMALL, HIDDEN_SECONDARY, SHOWN, SHOWN]


def test_the_total_goes_when_no_other_part_is_left() -> None:
    marks = suppress([3, 9], [Line((0,), 1)])
    assert marks == [HIDDEN_SMALL, HIDDEN_SECONDARY]


def test_two_hidden_cells_in_a_line_need_nothing_more() -> None:
    assert suppress([3, 2, 30, 35], [Line((0, 1, 2), 3)]) == [
        HIDDEN_SMALL, HIDDEN_SMALL, SHOWN, SHOWN,
    ]


def test_secondary_suppression_cascades_through_rows_and_columns() -> None:
    body = [[3, 10, 12], [8, 9, 30], [20, 25, 40]]
    values = with_totals(body)
    marks = suppress(values, grid_lines(3, 3))
    # (0,0)=3 is small; its row and its column each take the smallest other cell (10 and
    # 8); those in turn need partners in column 1 and row 1 (9), and so on until settled.
    assert marks[0] == HIDDEN_SMALL
    assert marks[1] == HIDDEN_SECONDARY
    assert marks[4] == HIDDEN_SECONDARY
    assert marks[5] == HIDDEN_SECONDARY
    _no_line_with_one_hidden(marks, grid_lines(3, 3))


@pytest.mark.parametrize("seed", range(200))
def test_random_tables_never_leave_a_line_with_one_hidden_cell(seed: int) -> None:
    rng = random.Random(seed)
    rows, cols = rng.randint(1, 5), rng.randint(1, 6)
    body = [[rng.choice([0, 1, 2, 4, 5, 6, 9, 15, 40]) for _ in range(cols)]
            for _ in range(rows)]
    values = with_totals(body)
    lines = grid_lines(rows, cols)
    marks = suppress(values, lines)
    assert all(m != SHOWN for v, m in zip(values, marks, strict=True) if v < 5)
    _no_line_with_one_hidden(marks, lines)


def _no_line_with_one_hidden(marks: list[int], lines: list[Line]) -> None:
    for line in lines:
        hidden = [i for i in (*line.parts, line.total) if marks[i] != SHOWN]
        assert len(hidden) != 1, (line, marks)


def test_hidden_parts_of_a_line_must_add_up_to_five_or_more() -> None:
    # 20 + 0 + 0 = 20: two hidden zeros, but 20 - 20 = 0 would show both are 0.
    marks = suppress([20, 0, 0, 20], [Line((0, 1, 2), 3)])
    assert marks == [HIDDEN_SECONDARY, HIDDEN_SMALL, HIDDEN_SMALL, SHOWN]


def test_a_lone_hidden_total_takes_a_part_with_it() -> None:
    # The total withheld for another reason is still the sum of its shown parts.
    marks = suppress([10, 12, 22, 25], [Line((0, 1), 2), Line((2,), 3)],
                     [(3, 2)])
    assert marks[2] == HIDDEN_SECONDARY
    assert sum(1 for m in marks[:3] if m != SHOWN) >= 2


def test_an_inner_cell_is_withheld_where_the_outer_minus_it_is_below_five() -> None:
    # A month of 40 and a week in it of 38: the rest of the month would be 2.
    assert suppress([40, 38], [], [(0, 1)]) == [SHOWN, HIDDEN_SECONDARY]
    assert suppress([40, 30], [], [(0, 1)]) == [SHOWN, SHOWN]
