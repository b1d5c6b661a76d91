"""Server-rendered SVG charts: no script, styled by classes from dashboard.css (the CSP
allows no inline style). Ticks are whole numbers; period labels are thinned so they never
overlap; a withheld value ("<5", "x") is a gap with a faint dashed marker, never a zero."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

Series = tuple[str, Sequence[float | None]]
# About as wide as a chart is drawn (a third of a wide screen, or a phone), so 13 px of
# text stays about 13 px on screen.
WIDTH, HEIGHT = 400, 220
LEFT, RIGHT, TOP, BOTTOM = 40, 10, 10, 30
FONT = 13  # px in the viewBox; CSS keeps it
CHAR = FONT * 0.62  # the width of a character, generously
STEPS = (1, 2, 5)


def ticks(top: float) -> tuple[int, int]:
    """A whole-number step and the axis top: at most 5 steps, the top a multiple."""
    if top <= 0:
        return 1, 1
    magnitude = 1
    while True:
        for base in STEPS:
            step = base * magnitude
            if math.ceil(top / step) <= 5:
                return step, step * max(1, math.ceil(top / step))
        magnitude *= 10


def label_every(labels: Sequence[str], width: float = WIDTH - LEFT - RIGHT) -> int:
    """Show every n-th label so that none overlaps its neighbour."""
    if not labels:
        return 1
    slot = width / len(labels)
    longest = max(len(text) for text in labels) * CHAR + 8
    return max(1, math.ceil(longest / slot))


def _frame(title: str, labels: Sequence[str], scale: tuple[int, int], body: list[str],
           series: Sequence[Series]) -> str:
    step, top = scale
    plot_h = HEIGHT - TOP - BOTTOM
    out = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="t-{_id(title)}" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="t-{_id(title)}">{escape(title)}</title>',
    ]
    for value in range(0, top + 1, step):
        y = TOP + plot_h - plot_h * value / top
        out.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" '
                   f'y2="{y:.1f}"/>')
        out.append(f'<text class="axis tick" x="{LEFT - 6}" y="{y + 4:.1f}" '
                   f'text-anchor="end">{value}</text>')
    every = label_every(labels)
    for i, text in enumerate(labels):
        if i % every == 0:
            out.append(f'<text class="axis period" x="{_x(i, len(labels)):.1f}" '
                       f'y="{HEIGHT - BOTTOM + 18}" text-anchor="middle">{escape(text)}</text>')
    out += body
    out.append("</svg>")
    return "\n".join(out) + keys(series)


def keys(series: Sequence[Series]) -> str:
    """The series' names under the chart, as text that wraps (not inside the SVG)."""
    items = "".join(
        f'<li><span class="key s{n}" aria-hidden="true"></span>{escape(name)}</li>'
        for n, (name, _) in enumerate(series)
    )
    return f'<ul class="keys">{items}</ul>'



def _x(i: int, count: int) -> float:
    plot_w = WIDTH - LEFT - RIGHT
    return LEFT + plot_w * (i + 0.5) / max(count, 1)


def _y(value: float, top: float) -> float:
    plot_h = HEIGHT - TOP - BOTTOM
    return TOP + plot_h - plot_h * value / top


def _id(title: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in title.lower())


def _top(series: Sequence[Series]) -> tuple[int, int]:
    return ticks(max((v for _, values in series for v in values if v is not None), default=0))


def _gap(x: float, label: str, withheld: str) -> str:
    return (f'<line class="gap" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" '
            f'y2="{HEIGHT - BOTTOM}"><title>{escape(label)}: {escape(withheld)}</title></line>')


def lines(title: str, labels: Sequence[str], series: Sequence[Series], *,
          withheld: str = "withheld") -> str:
    """A trend line per series; a withheld point breaks the line."""
    step, top = _top(series)
    body: list[str] = []
    gaps: set[int] = set()
    for n, (_, values) in enumerate(series):
        runs: list[list[str]] = [[]]
        for i, value in enumerate(values):
            if value is None:
                runs.append([])
                gaps.add(i)
                continue
            x, y = f"{_x(i, len(labels)):.1f}", f"{_y(value, top):.1f}"
            runs[-1].append(f"{x},{y}")
            body.append(f'<circle class="s{n}" cx="{x}" cy="{y}" r="3">'
                        f"<title>{escape(labels[i])}: {value:g}</title></circle>")
        body += [f'<polyline class="line s{n}" points="{" ".join(run)}"/>'
                 for run in runs if len(run) > 1]
    body = [_gap(_x(i, len(labels)), labels[i], withheld) for i in sorted(gaps)] + body
    return _frame(title, labels, (step, top), body, series)


def bars(title: str, labels: Sequence[str], series: Sequence[Series], *,
         withheld: str = "withheld") -> str:
    """Grouped bars per period; a withheld value leaves a gap (no bar, not a zero)."""
    step, top = _top(series)
    plot_w = WIDTH - LEFT - RIGHT
    slot = plot_w / max(len(labels), 1)
    width = max(slot * 0.8 / max(len(series), 1), 1.0)
    base = _y(0, top)
    body: list[str] = []
    for n, (_, values) in enumerate(series):
        for i, value in enumerate(values):
            x = LEFT + slot * i + slot * 0.1 + width * n
            if value is None:
                body.append(_gap(x + width / 2, labels[i], withheld))
                continue
            y = _y(value, top)
            body.append(f'<rect class="bar s{n}" x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" '
                        f'height="{base - y:.1f}"><title>{escape(labels[i])}: '
                        f'{value:g}</title></rect>')
    return _frame(title, labels, (step, top), body, series)
