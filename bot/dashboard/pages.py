"""The dashboard's HTML: plain strings, every value through `html.escape`, no inline script
or style (the Content Security Policy forbids both)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from html import escape
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from bot.dashboard import charts
from bot.dashboard.texts import t
from insights import exports
from insights.calendar import GRAINS, Grain
from insights.labels import Language, day
from insights.report import Report, Table
from storage.models import Volunteer
from storage.statistics import ALL


@dataclass(frozen=True)
class Who:
    """The logged-in coordinator, as the pages need them."""

    name: str
    org: str
    admin: bool
    csrf: str


@dataclass(frozen=True)
class Selection:
    """A report that may be shown: a year, per week, month or quarter, for a scope."""

    year: int
    grain: Grain
    org: str  # ALL or a slug
    language: Language = "da"

    def query(self, language: Language | None = None) -> str:
        values = {"year": str(self.year), "per": self.grain,
                  "lang": language or self.language}
        if self.org != ALL:
            values["org"] = self.org
        return urlencode(values)


def layout(title: str, body: str, who: Who | None = None,
           language: Language = "en") -> str:
    nav = ""
    if who is not None:
        scope = t("all_orgs", language) if who.admin else who.org
        nav = (
            f'<nav aria-label="{escape(t("dashboard", language))}">'
            f'<a href="/dashboard">{t("overview", language)}</a> '
            f'<a href="/dashboard/volunteers">{t("volunteers", language)}</a> '
            f'<a href="/dashboard/communities">{t("communities", language)}</a> '
            f'<a href="/dashboard/inbox">{t("inbox", language)}</a> '
            f'<a href="/dashboard/live">{t("live", language)}</a> '
            f'<a href="/dashboard/sessions">{t("sessions", language)}</a>'
            f'<span class="who">{escape(who.name)} ({escape(scope)})</span>'
            '<form method="post" action="/dashboard/logout" class="inline">'
            f'{csrf_field(who.csrf)}<button type="submit">{t("log_out", language)}</button>'
            "</form></nav>"
        )
    return (
        f'<!doctype html><html lang="{language}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} – snakkes</title>"
        '<link rel="stylesheet" href="/dashboard/static/dashboard.css"></head>'
        f'<body><header><span class="brand">snakkes</span>{nav}</header>'
        f"<main>{body}</main></body></html>"
    )


def csrf_field(token: str) -> str:
    return f'<input type="hidden" name="csrf" value="{escape(token)}">'


def login(csrf: str, language: Language, *, name: str = "", error: str = "") -> str:
    problem = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    other = "en" if language == "da" else "da"
    body = (
        f'<h1>{t("login_title", language)}</h1>'
        f"{problem}"
        '<form method="post" action="/dashboard/login" class="login">'
        f"{csrf_field(csrf)}"
        f'<label for="name">{t("login_name", language)}</label>'
        f'<input id="name" name="name" autocomplete="username" required value="{escape(name)}">'
        f'<label for="password">{t("login_password", language)}</label>'
        '<input id="password" name="password" type="password" '
        'autocomplete="current-password" required>'
        f'<button type="submit">{t("log_in", language)}</button></form>'
        f'<p><a href="/dashboard/login?lang={other}" lang="{other}">'
        f'{"English" if other == "en" else "Dansk"}</a></p>'
    )
    return layout(t("log_in", language), body, language=language)


def overview(who: Who, report: Report, selection: Selection, organisations: Sequence[str],
             *, zone: str, years: Sequence[int], error: str = "") -> str:
    language = report.language
    problem = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    query = escape(selection.query())
    downloads = " · ".join(
        f'<a class="download" href="/dashboard/export.{kind}?{query}">{t(kind, language)}</a>'
        for kind in ("csv", "xlsx", "json", "research.csv")
    )
    if report.first and report.last:
        span = f"{day(report.first, language)} – {day(report.last, language)}"
    else:
        span = t("nothing_yet", language)
    scope = t("all_orgs", language) if report.scope == ALL else report.scope
    switch: Language = "en" if language == "da" else "da"
    body = [
        '<div class="title">'
        f"<h1>{t('overview', language)}</h1>"
        f'<a class="language" lang="{switch}" href="/dashboard?{escape(selection.query(switch))}"'
        f">{t('switch', language)}</a></div>",
        problem,
        _selector(who, selection, organisations, years, language),
        f'<p class="period">{escape(span)}, {t("per", language).lower()} '
        f'{t(report.grain, language)}, {escape(scope)}. '
        f'{t("times_local", language, zone=escape(zone))} {t("download", language)}: '
        f"{downloads}</p>",
        f'<p class="note">{t("whole_periods", language)}</p>',
        '<section class="charts">',
        *_charts(report),
        "</section>",
        _legend(language),
        *(_table(table, report) for table in report.tables),
    ]
    return layout(t("overview", language), "\n".join(body), who, language)


def _selector(who: Who, selection: Selection, organisations: Sequence[str],
              years: Sequence[int], language: Language) -> str:
    grains = "".join(
        f'<option value="{g}"{" selected" if g == selection.grain else ""}>'
        f"{t(g, language)}</option>"
        for g in GRAINS
    )
    year_options = "".join(
        f'<option value="{y}"{" selected" if y == selection.year else ""}>{y}</option>'
        for y in years
    )
    org = ""
    if who.admin:
        options = [(ALL, t("all_orgs", language)), *((o, o) for o in organisations)]
        org = (
            f'<label for="org">{t("organisation", language)}</label>'
            '<select id="org" name="org">'
            + "".join(
                f'<option value="{"" if v == ALL else escape(v)}"'
                f'{" selected" if v == selection.org else ""}>{escape(text)}</option>'
                for v, text in options
            )
            + "</select>"
        )
    return (
        f'<form method="get" action="/dashboard" class="selector" '
        f'aria-label="{t("choose", language)}">'
        f'<input type="hidden" name="lang" value="{language}">'
        f'<label for="year">{t("year", language)}</label>'
        f'<select id="year" name="year">{year_options}</select>'
        f'<label for="per">{t("per", language)}</label><select id="per" name="per">'
        f"{grains}</select>{org}"
        f'<button type="submit">{t("show", language)}</button></form>'
    )


def _charts(report: Report) -> list[str]:
    language = report.language
    cut = [i for i, cell in enumerate(report.periods) if cell.kind == report.grain]
    labels = [report.columns[i] for i in cut]

    def series(table: str, key: str, name: str) -> charts.Series | None:
        row = next((r for r in report.table(table).rows if r.key == key), None)
        return None if row is None else (t(name, language), [row.values[i] for i in cut])

    def present(*found: charts.Series | None) -> list[charts.Series]:
        return [s for s in found if s is not None]

    claimed_key = "claimed" if report.scope == ALL else f"claimed/{report.scope}"
    wait_key = f"{ALL if report.scope == ALL else report.scope}/median"
    figures = (
        ("chart_people", charts.lines, present(
            series("conversations", "bot", "series_bot"),
            series("people", "new", "series_new"),
            series("people", "returning", "series_returning"))),
        ("chart_help", charts.bars, present(
            series("queue", "requests", "series_requests"),
            series("volunteer_conversations", claimed_key, "series_claimed"))),
        ("chart_wait", charts.lines, present(
            series("waiting", wait_key, "series_wait"))),
    )
    withheld = t("withheld", language)
    return [
        f"<figure><figcaption>{t(title, language)}</figcaption>"
        f"{draw(t(title, language), labels, found, withheld=withheld)}</figure>"
        for title, draw, found in figures
    ]


def _legend(language: Language) -> str:
    items = "".join(
        f"<dt>{escape(mark)}</dt><dd>{escape(meaning)}</dd>"
        for mark, meaning in exports.legend(language).items()
    )
    return (f'<dl class="legend" aria-label="{t("legend", language)}">{items}</dl>')


def _table(table: Table, report: Report) -> str:
    head = "".join(f'<th scope="col">{escape(c)}</th>' for c in report.columns)
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
        f'<div class="scroll" tabindex="0" role="region" aria-label="{escape(table.title)}">'
        f'<table><thead><tr><th scope="col"></th>{head}</tr></thead>'
        f"<tbody>{rows}</tbody></table></div>{note}</section>"
    )


def volunteers(who: Who, rows: Sequence[Volunteer], organisations: Sequence[str], *,
               zone: ZoneInfo, language: Language, code: str = "", message: str = "") -> str:
    def local(moment: datetime) -> str:
        return f"{moment.astimezone(zone):%Y-%m-%d %H:%M}"

    yes, no = t("yes", language), t("no", language)
    shown = "".join(
        "<tr>"
        f"<th scope=\"row\">{escape(v.alias or t('joining', language))}</th>"
        f"<td>{escape(v.org_slug)}</td>"
        f"<td>{escape(t(v.role, language) if v.role in ROLES else v.role)}</td>"
        f"<td>{yes if v.active else no}</td>"
        f"<td>{local(v.last_active_at)}</td><td>{_deactivate(who, v, language)}</td>"
        "</tr>"
        for v in rows
    )
    orgs = organisations if who.admin else [who.org]
    org_options = "".join(f'<option value="{escape(o)}">{escape(o)}</option>' for o in orgs)
    fresh = ""
    if code:
        command = f"<code>/volunteer {escape(code)}</code>"
        fresh = (
            f'<div class="code" role="status"><p>{t("code_once", language)} '
            f"<strong><code>{escape(code)}</code></strong></p>"
            f'<p>{t("code_how", language, command=command)}</p></div>'
        )
    note = f'<p class="status" role="status">{escape(message)}</p>' if message else ""
    body = (
        f"<h1>{t('volunteers', language)}</h1>"
        f"{fresh}{note}"
        '<form method="post" action="/dashboard/volunteers/invite" class="invite">'
        f'{csrf_field(who.csrf)}<label for="org">{t("organisation", language)}</label>'
        f'<select id="org" name="org">{org_options}</select>'
        f'<label for="role">{t("role", language)}</label><select id="role" name="role">'
        f'<option value="volunteer">{t("volunteer", language)}</option>'
        f'<option value="coordinator">{t("coordinator", language)}</option></select>'
        f'<button type="submit">{t("invite", language)}</button></form>'
        f'<div class="scroll" tabindex="0" role="region" aria-label="{t("volunteers", language)}">'
        f'<table><thead><tr><th scope="col">{t("alias", language)}</th>'
        f'<th scope="col">{t("organisation", language)}</th>'
        f'<th scope="col">{t("role", language)}</th>'
        f'<th scope="col">{t("active", language)}</th>'
        f'<th scope="col">{t("last_active", language, zone=escape(zone.key))}</th>'
        '<th scope="col"></th></tr></thead>'
        f"<tbody>{shown}</tbody></table></div>"
    )
    return layout(t("volunteers", language), body, who, language)


ROLES = ("volunteer", "coordinator")


def _deactivate(who: Who, volunteer: Volunteer, language: Language) -> str:
    if not volunteer.active or not volunteer.alias:
        return ""
    return (
        '<form method="post" action="/dashboard/volunteers/deactivate" class="inline">'
        f'{csrf_field(who.csrf)}<input type="hidden" name="alias" '
        f'value="{escape(volunteer.alias)}"><input type="hidden" name="org" '
        f'value="{escape(volunteer.org_slug)}"><button type="submit">'
        f"{escape(t('deactivate', language, alias=volunteer.alias))}</button></form>"
    )


def sessions(who: Who, rows: Sequence[tuple[datetime, datetime]], zone: tzinfo,
             language: Language) -> str:
    """The coordinator's open sessions (started, expires), and a way to end them all."""
    items = "".join(
        f"<tr><td>{started.astimezone(zone):%Y-%m-%d %H:%M}</td>"
        f"<td>{expires.astimezone(zone):%Y-%m-%d %H:%M}</td></tr>"
        for started, expires in rows
    )
    body = (
        f"<h1>{t('sessions_title', language)}</h1><p>{t('sessions_help', language)}</p>"
        f'<table><thead><tr><th scope="col">{t("sessions_started", language)}</th>'
        f'<th scope="col">{t("sessions_expires", language)}</th></tr></thead>'
        f"<tbody>{items}</tbody></table>"
        '<form method="post" action="/dashboard/sessions/end">'
        f'{csrf_field(who.csrf)}<button type="submit">{t("sessions_end", language)}</button>'
        "</form>"
    )
    return layout(t("sessions_title", language), body, who, language)
