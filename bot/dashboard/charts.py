"""Server-rendered SVG charts: no script, styled by classes from dashboard.css (the CSP
allows no inline style). A withheld value ("<5", "x") is a gap, never a guess."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

Series = tuple[str, Sequence[float | None]]
WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 40


def _scale(series: Sequence[Series]) -> float:
    top = max((v for _, values in series for v in values if v is not None), default=0.0)
    return top if top > 0 else 1.0


def _frame(title: str, labels: Sequence[str], top: float, body: list[str],
           series: Sequence[Series]) -> str:
    plot_h = HEIGHT - TOP - BOTTOM
    out = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="t-{_id(title)}" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="t-{_id(title)}">{escape(title)}</title>',
    ]
    for step in range(5):
        value = top * step / 4
        y = TOP + plot_h - plot_h * step / 4
        out.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" '
                   f'y2="{y:.1f}"/>')
        out.append(f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" '
                   f'text-anchor="end">{value:.0f}</text>')
    every = max(1, len(labels) // 8)
    for i, text in enumerate(labels):
        if i % every == 0:
            x = _x(i, len(labels))
            out.append(f'<text class="axis" x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" '
                       f'text-anchor="middle">{escape(text)}</text>')
    out += body
    for n, (name, _) in enumerate(series):
        x = LEFT + n * 150
        out.append(f'<rect class="s{n}" x="{x}" y="{HEIGHT - 14}" width="10" height="10"/>')
        out.append(f'<text class="legend" x="{x + 14}" y="{HEIGHT - 5}">{escape(name)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def _x(i: int, count: int) -> float:
    plot_w = WIDTH - LEFT - RIGHT
    return LEFT + plot_w * (i + 0.5) / max(count, 1)


def _y(value: float, top: float) -> float:
    plot_h = HEIGHT - TOP - BOTTOM
    return TOP + plot_h - plot_h * value / top


def _id(title: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in title.lower())


def lines(title: str, labels: Sequence[str], series: Sequence[Series]) -> str:
    """A trend line per series; a withheld point breaks the line."""
    top = _scale(series)
    body: list[str] = []
    for n, (_, values) in enumerate(series):
        runs: list[list[str]] = [[]]
        for i, value in enumerate(values):
            if value is None:
                runs.append([])
                continue
            x, y = f"{_x(i, len(labels)):.1f}", f"{_y(value, top):.1f}"
            runs[-1].append(f"{x},{y}")
            body.append(f'<circle class="s{n}" cx="{x}" cy="{y}" r="2.5"/>')
        body += [f'<polyline class="line s{n}" points="{" ".join(run)}"/>'
                 for run in runs if len(run) > 1]
    return _frame(title, labels, top, body, series)


def bars(title: str, labels: Sequence[str], series: Sequence[Series]) -> str:
    """Grouped bars per period; a withheld value is drawn as a hatched stub, not a bar."""
    top = _scale(series)
    plot_w = WIDTH - LEFT - RIGHT
    slot = plot_w / max(len(labels), 1)
    width = max(slot * 0.8 / max(len(series), 1), 1.0)
    base = _y(0, top)
    body: list[str] = []
    for n, (_, values) in enumerate(series):
        for i, value in enumerate(values):
            x = LEFT + slot * i + slot * 0.1 + width * n
            if value is None:
                body.append(f'<rect class="withheld" x="{x:.1f}" y="{base - 3:.1f}" '
                            f'width="{width:.1f}" height="3"/>')
                continue
            y = _y(value, top)
            body.append(f'<rect class="bar s{n}" x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" '
                        f'height="{base - y:.1f}"><title>{escape(labels[i])}: '
                        f'{value:g}</title></rect>')
    return _frame(title, labels, top, body, series)
