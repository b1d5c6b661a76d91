"""The dashboard's HTML: plain strings, every value through `html.escape`, no inline script
or style (the Content Security Policy forbids both)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from html import escape
from urllib.parse import urlencode

from bot.dashboard import charts
from bot.report import LEGEND, Report, Table
from storage.models import Volunteer
from storage.statistics import ALL, GRANULARITIES


@dataclass(frozen=True)
class Who:
    """The logged-in coordinator, as the pages need them."""

    name: str
    org: str
    admin: bool
    csrf: str


@dataclass(frozen=True)
class Selection:
    first: str
    last: str
    granularity: str
    org: str  # ALL or a slug

    def query(self) -> str:
        values = {"from": self.first, "to": self.last, "granularity": self.granularity}
        if self.org != ALL:
            values["org"] = self.org
        return urlencode(values)


def layout(title: str, body: str, who: Who | None = None) -> str:
    nav = ""
    if who is not None:
        scope = "all organisations" if who.admin else who.org
        nav = (
            '<nav aria-label="Dashboard"><a href="/dashboard">Overview</a> '
            '<a href="/dashboard/volunteers">Volunteers</a> '
            '<a href="/dashboard/sessions">Sessions</a>'
            f'<span class="who">{escape(who.name)} ({escape(scope)})</span>'
            '<form method="post" action="/dashboard/logout" class="inline">'
            f'{csrf_field(who.csrf)}<button type="submit">Log out</button></form></nav>'
        )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} – snakkes dashboard</title>"
        '<link rel="stylesheet" href="/dashboard/static/dashboard.css"></head>'
        f'<body><header><span class="brand">snakkes</span>{nav}</header>'
        f"<main>{body}</main></body></html>"
    )


def csrf_field(token: str) -> str:
    return f'<input type="hidden" name="csrf" value="{escape(token)}">'


def login(csrf: str, *, name: str = "", error: str = "") -> str:
    problem = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    body = (
        "<h1>Coordinator log-in</h1>"
        f"{problem}"
        '<form method="post" action="/dashboard/login" class="login">'
        f"{csrf_field(csrf)}"
        '<label for="name">Name</label>'
        f'<input id="name" name="name" autocomplete="username" required value="{escape(name)}">'
        '<label for="password">Password</label>'
        '<input id="password" name="password" type="password" '
        'autocomplete="current-password" required>'
        '<button type="submit">Log in</button></form>'
    )
    return layout("Log in", body)


def overview(who: Who, report: Report, selection: Selection, organisations: Sequence[str],
             error: str = "") -> str:
    problem = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    body = [
        "<h1>Overview</h1>",
        problem,
        _selector(who, selection, organisations),
        f'<p class="period">{escape(report.first)} to {escape(report.last)}, per '
        f'{escape(report.granularity)}, '
        f'{"all organisations" if report.scope == ALL else escape(report.scope)}. '
        f'<a class="download" href="/dashboard/export.csv?{escape(selection.query())}">'
        "Download CSV</a></p>",
        '<section class="charts">',
        *_charts(report),
        "</section>",
        _legend(),
        *(_table(table) for table in report.tables),
    ]
    return layout("Overview", "\n".join(body), who)


def _selector(who: Who, selection: Selection, organisations: Sequence[str]) -> str:
    grains = "".join(
        f'<option value="{g}"{" selected" if g == selection.granularity else ""}>{g}</option>'
        for g in GRANULARITIES
    )
    org = ""
    if who.admin:
        options = [(ALL, "all organisations"), *((o, o) for o in organisations)]
        org = (
            '<label for="org">Organisation</label><select id="org" name="org">'
            + "".join(
                f'<option value="{"" if v == ALL else escape(v)}"'
                f'{" selected" if v == selection.org else ""}>{escape(text)}</option>'
                for v, text in options
            )
            + "</select>"
        )
    return (
        '<form method="get" action="/dashboard" class="selector" aria-label="Period">'
        '<label for="from">From</label>'
        f'<input id="from" name="from" type="date" value="{escape(selection.first)}" required>'
        '<label for="to">To</label>'
        f'<input id="to" name="to" type="date" value="{escape(selection.last)}" required>'
        f'<label for="granularity">Per</label><select id="granularity" name="granularity">'
        f"{grains}</select>{org}"
        '<button type="submit">Show</button></form>'
    )


def _series(table: Table, key: str, name: str) -> charts.Series | None:
    row = next((r for r in table.rows if r.key == key), None)
    return None if row is None else (name, row.values[:-1])


def _charts(report: Report) -> list[str]:
    labels = list(report.periods)
    people, bot = report.table("people"), report.table("conversations")
    trend = [s for s in (
        _series(bot, "bot", "bot conversations"),
        _series(people, "new", "new people"),
        _series(people, "returning", "returning"),
    ) if s is not None]
    claimed_key = "claimed" if report.scope == ALL else f"claimed/{report.scope}"
    help_series = [s for s in (
        _series(report.table("queue"), "requests", "handover requests"),
        _series(report.table("volunteer_conversations"), claimed_key, "volunteer conversations"),
    ) if s is not None]
    wait_key = f"{ALL if report.scope == ALL else report.scope}/median"
    waits = [s for s in (_series(report.table("waiting"), wait_key, "median wait (min)"),)
             if s is not None]
    return [
        '<figure><figcaption>People and bot conversations</figcaption>'
        f'{charts.lines("People and bot conversations", labels, trend)}</figure>',
        '<figure><figcaption>Handover requests and volunteer conversations</figcaption>'
        f'{charts.bars("Handover requests and volunteer conversations", labels, help_series)}'
        "</figure>",
        '<figure><figcaption>Median waiting time (minutes)</figcaption>'
        f'{charts.lines("Median waiting time", labels, waits)}</figure>',
    ]


def _legend() -> str:
    items = "".join(
        f"<dt>{escape(mark)}</dt><dd>{escape(meaning)}</dd>" for mark, meaning in LEGEND.items()
    )
    return f'<dl class="legend">{items}</dl>'


def _table(table: Table) -> str:
    head = "".join(f'<th scope="col">{escape(c)}</th>' for c in table.columns)
    rows = "".join(
        f'<tr class="l{row.level}" data-key="{escape(row.key)}">'
        f'<th scope="row">{escape(row.label)}</th>'
        + "".join(f"<td>{escape(cell)}</td>" for cell in row.cells)
        + "</tr>"
        for row in table.rows
    )
    note = f'<p class="note">{escape(table.note)}</p>' if table.note else ""
    return (
        f'<section class="table" id="{escape(table.key)}"><h2>{escape(table.title)}</h2>'
        f'<div class="scroll"><table><thead><tr><th scope="col"></th>{head}</tr></thead>'
        f"<tbody>{rows}</tbody></table></div>{note}</section>"
    )


def volunteers(who: Who, rows: Sequence[Volunteer], organisations: Sequence[str], *,
               code: str = "", message: str = "") -> str:
    shown = "".join(
        "<tr>"
        f"<td>{escape(v.alias or '(joining)')}</td><td>{escape(v.org_slug)}</td>"
        f"<td>{escape(v.role)}</td><td>{'yes' if v.active else 'no'}</td>"
        f"<td>{v.last_active_at:%Y-%m-%d %H:%M}</td><td>{_deactivate(who, v)}</td>"
        "</tr>"
        for v in rows
    )
    orgs = organisations if who.admin else [who.org]
    org_options = "".join(f'<option value="{escape(o)}">{escape(o)}</option>' for o in orgs)
    fresh = ""
    if code:
        fresh = (
            '<div class="code" role="status"><p>One-time invite code (shown only now): '
            f"<strong><code>{escape(code)}</code></strong></p><p>The volunteer sends "
            f"<code>/volunteer {escape(code)}</code> to the bot in a private chat.</p></div>"
        )
    note = f'<p class="status" role="status">{escape(message)}</p>' if message else ""
    body = (
        "<h1>Volunteers</h1>"
        f"{fresh}{note}"
        '<form method="post" action="/dashboard/volunteers/invite" class="invite">'
        f'{csrf_field(who.csrf)}<label for="org">Organisation</label>'
        f'<select id="org" name="org">{org_options}</select>'
        '<label for="role">Role</label><select id="role" name="role">'
        '<option value="volunteer">volunteer</option>'
        '<option value="coordinator">coordinator</option></select>'
        '<button type="submit">Create invite code</button></form>'
        '<div class="scroll"><table><thead><tr><th scope="col">Alias</th>'
        '<th scope="col">Organisation</th><th scope="col">Role</th>'
        '<th scope="col">Active</th><th scope="col">Last active (UTC)</th>'
        '<th scope="col"></th></tr></thead>'
        f"<tbody>{shown}</tbody></table></div>"
    )
    return layout("Volunteers", body, who)


def _deactivate(who: Who, volunteer: Volunteer) -> str:
    if not volunteer.active or not volunteer.alias:
        return ""
    return (
        '<form method="post" action="/dashboard/volunteers/deactivate" class="inline">'
        f'{csrf_field(who.csrf)}<input type="hidden" name="alias" '
        f'value="{escape(volunteer.alias)}"><input type="hidden" name="org" '
        f'value="{escape(volunteer.org_slug)}"><button type="submit">Deactivate '
        f"{escape(volunteer.alias)}</button></form>"
    )


def sessions(who: Who, rows: Sequence[tuple[datetime, datetime]], zone: tzinfo) -> str:
    """The coordinator's open sessions (started, expires), and a way to end them all."""
    items = "".join(
        f"<tr><td>{started.astimezone(zone):%Y-%m-%d %H:%M}</td>"
        f"<td>{expires.astimezone(zone):%Y-%m-%d %H:%M}</td></tr>"
        for started, expires in rows
    )
    body = (
        "<h1>Your sessions</h1>"
        "<p>Every browser where you are logged in. A new password, a new role or a "
        "deactivation ends them all.</p>"
        '<table><thead><tr><th scope="col">Started</th><th scope="col">Expires</th></tr>'
        f"</thead><tbody>{items}</tbody></table>"
        '<form method="post" action="/dashboard/sessions/end">'
        f"{csrf_field(who.csrf)}<button type=\"submit\">Log out everywhere</button></form>"
    )
    return layout("Sessions", body, who)
