"""The dashboard's routes: log-in and log-out, the overview with its choice of a year
and per week, month or quarter (fixed periods only: insights/calendar.py), the CSV, XLSX
and JSON exports of exactly what is shown, and volunteer management.

Sessions: a random token in an HttpOnly, SameSite=Strict cookie scoped to /dashboard;
the database keeps its hash and the session's CSRF token, which every POST must carry.
The log-in form (no session yet) has a double-submit token: a cookie and a field that
must match. Every page has its own Content Security Policy: forms may post only to us.
"""

from __future__ import annotations

import asyncio
import math
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.addresses import client_address
from bot.config import Settings
from bot.dashboard import communities, pages, texts
from bot.dashboard.auth import LoginKeys, PasswordCheck
from bot.dashboard.pages import Selection, Who
from bot.webchat.session import is_secure
from insights import calendar, compute, exports, research
from insights.calendar import Grain
from insights.labels import LANGUAGES, Language
from insights.report import Report
from storage import coordinators, handover, login_throttle
from storage.crypto import Keyring
from storage.db import Database
from storage.statistics import ALL
from storage.types import Clock
from volunteers import invites, roster

STATIC = Path(__file__).resolve().parent / "static"
COOKIE, LOGIN_COOKIE = "snakkes_dashboard", "snakkes_dashboard_login"
LANGUAGE_COOKIE = "snakkes_dashboard_lang"
SESSION_LIFETIME = timedelta(hours=8)
CSP = "; ".join((
    "default-src 'none'",
    "style-src 'self'",
    "img-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
INVITE_VALID_FOR = timedelta(days=7)
MAX_NAME, MAX_PASSWORD = 64, 1024
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)


@dataclass
class Dashboard:
    settings: Settings
    database_of: Callable[[web.Application], Database]
    clock: Clock
    passwords: PasswordCheck
    keys: LoginKeys
    catalog_of: communities.CatalogOf | None = None
    counting: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def organisations(self) -> list[str]:
        return [org.slug for org in self.settings.organisations]


DASHBOARD: web.AppKey[Dashboard] = web.AppKey("dashboard", Dashboard)
Handler = Callable[[web.Request, Who], Awaitable[web.StreamResponse]]


def protected(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A coordinator's page of another module (the inbox): log-in and CSRF as here."""
    return _protected(handler)


def database_of(request: web.Request) -> Database:
    return _database(request)


def html(body: str, status: int = 200) -> web.Response:
    return _html(body, status)


def add_routes(
    app: web.Application,
    settings: Settings,
    database_of: Callable[[web.Application], Database],
    clock: Clock,
    *,
    catalog_of: communities.CatalogOf | None = None,
) -> None:
    app[DASHBOARD] = Dashboard(
        settings, database_of, clock, PasswordCheck(),
        LoginKeys(Keyring(settings.secret_key).subkey("login")), catalog_of,
    )
    app.router.add_get("/dashboard", _protected(overview))
    app.router.add_get("/dashboard/", _protected(overview))
    for kind in EXPORTS:
        app.router.add_get(f"/dashboard/export.{kind}", _protected(_export(kind)))
    app.router.add_get("/dashboard/volunteers", _protected(volunteer_list))
    app.router.add_post("/dashboard/volunteers/invite", _protected(invite))
    app.router.add_post("/dashboard/volunteers/deactivate", _protected(deactivate))
    app.router.add_get("/dashboard/communities", _protected(community_list))
    app.router.add_post("/dashboard/communities/save", _protected(community_save))
    app.router.add_post("/dashboard/communities/delete", _protected(community_delete))
    app.router.add_post("/dashboard/logout", _protected(logout))
    app.router.add_get("/dashboard/sessions", _protected(session_list))
    app.router.add_post("/dashboard/sessions/end", _protected(end_sessions))
    app.router.add_get("/dashboard/login", login_page)
    app.router.add_post("/dashboard/login", login)
    app.router.add_get("/dashboard/static/dashboard.css", stylesheet)


def _state(request: web.Request) -> Dashboard:
    return request.app[DASHBOARD]


def _database(request: web.Request) -> Database:
    return _state(request).database_of(request.app)


def _html(body: str, status: int = 200) -> web.Response:
    response = web.Response(text=body, content_type="text/html", status=status)
    _private(response)
    return response


def _private(response: web.StreamResponse) -> None:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Cache-Control"] = "no-store"


def _cookie(response: web.StreamResponse, request: web.Request, name: str, value: str,
            max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/dashboard", httponly=True,
                        samesite="Strict", secure=is_secure(request))


def _protected(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """No session: to the log-in page. A POST without the session's CSRF token: 403."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        who = await _who(request)
        if who is None:
            raise web.HTTPFound("/dashboard/login")
        if request.method == "POST":
            form = await request.post()
            token = form.get("csrf")
            if not isinstance(token, str) or not secrets.compare_digest(token, who.csrf):
                return _html(pages.layout("Refused", "<h1>Refused</h1><p>The form was not "
                                          "sent from this dashboard (no valid CSRF token)."
                                          "</p>"), status=403)
        return await handler(request, who)

    return guarded


async def _who(request: web.Request) -> Who | None:
    token = request.cookies.get(COOKIE, "")
    if not _TOKEN.fullmatch(token):  # absent, or not one we could have issued
        return None
    async with _database(request).session() as session:
        found = await coordinators.find_session(session, token, _state(request).clock())
    if found is None:
        return None
    row, coordinator = found
    return Who(coordinator.name, coordinator.org_slug, coordinator.admin, row.csrf_token)


# -- log-in ------------------------------------------------------------------------------
async def login_page(request: web.Request) -> web.Response:
    if await _who(request) is not None:
        raise web.HTTPFound("/dashboard")
    return _login_form(request)


def _login_form(request: web.Request, *, name: str = "", error: str = "",
                status: int = 200) -> web.Response:
    token = secrets.token_urlsafe(24)
    page = pages.login(token, _language(request), name=name, error=error)
    response = _html(page, status=status)
    _cookie(response, request, LOGIN_COOKIE, token, 3600)
    _remember_language(response, request)
    return response


async def login(request: web.Request) -> web.Response:
    """The attempt is counted (in the database) before the password is checked, and the
    check runs in a worker thread."""
    state = _state(request)
    form = await request.post()
    name, password, token = (str(form.get(k, "")) for k in ("name", "password", "csrf"))
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not secrets.compare_digest(token, expected):
        return _login_form(request, name=name[:MAX_NAME], status=403,
                           error=texts.t("login_expired", _language(request)))
    now = state.clock()
    name_key = state.keys.name(name)
    address_key = state.keys.address(client_address(request))
    keys = [(name_key, login_throttle.PER_NAME), (address_key, login_throttle.PER_ADDRESS)]
    # One attempt's count at a time on this instance: a burst queues here, on one database
    # connection, instead of taking the whole pool (and /healthz, chats and check-ins with
    # it) into a storm of retried writes.
    async with state.counting, _database(request).session() as session, session.begin():
        wait = await login_throttle.attempt(session, keys, now)
        coordinator = None if wait else await coordinators.by_name(session, name)
    if wait:
        return _too_many(request, name, wait.total_seconds())
    known = coordinator is not None and coordinator.active
    stored = coordinator.password_hash if coordinator is not None and known else None
    ok = await state.passwords.verify(stored, password[:MAX_PASSWORD])
    if ok is None:
        return _too_many(request, name, 5.0)
    if not ok or len(password) > MAX_PASSWORD:
        return _login_form(request, name=name[:MAX_NAME], status=401,
                           error=texts.t("login_wrong", _language(request)))
    async with _database(request).session() as session, session.begin():
        current = await coordinators.by_name(session, name)
        if current is None or not current.active or current.password_hash != stored:
            return _login_form(request, name=name[:MAX_NAME], status=401,
                               error=texts.t("login_wrong", _language(request)))
        await login_throttle.succeeded(session, name_key, address_key, now)
        session_token = await coordinators.open_session(session, current, now, SESSION_LIFETIME)
    response = web.HTTPFound("/dashboard")
    _cookie(response, request, COOKIE, session_token, int(SESSION_LIFETIME.total_seconds()))
    response.del_cookie(LOGIN_COOKIE, path="/dashboard")
    raise response


def _too_many(request: web.Request, name: str, seconds: float) -> web.Response:
    wait = max(1, math.ceil(seconds))
    response = _login_form(request, name=name[:MAX_NAME], status=429,
                           error=texts.t("login_wait", _language(request), wait=str(wait)))
    response.headers["Retry-After"] = str(wait)
    return response


async def logout(request: web.Request, who: Who) -> web.StreamResponse:
    token = request.cookies.get(COOKIE, "")
    async with _database(request).session() as session, session.begin():
        await coordinators.close_session(session, token)
    response = web.HTTPFound("/dashboard/login")
    response.del_cookie(COOKIE, path="/dashboard")
    raise response


async def session_list(request: web.Request, who: Who) -> web.StreamResponse:
    state = _state(request)
    async with _database(request).session() as session:
        rows = await coordinators.open_sessions(session, state.clock(), who.name)
    shown = [(row.created_at, row.expires_at) for _, row in rows]
    return _html(pages.sessions(who, shown, state.settings.service.zone,
                                _language(request)))


async def end_sessions(request: web.Request, who: Who) -> web.StreamResponse:
    """Log out everywhere: every session of this coordinator, this one too."""
    async with _database(request).session() as session, session.begin():
        await coordinators.end_sessions(session, who.name)
    response = web.HTTPFound("/dashboard/login")
    response.del_cookie(COOKIE, path="/dashboard")
    raise response


# -- statistics ----------------------------------------------------------------------------
def _language(request: web.Request) -> Language:
    """`?lang=` first, then the cookie a switch set, then Danish."""
    asked = request.query.get("lang") or request.cookies.get(LANGUAGE_COOKIE, "")
    return "en" if asked == "en" else "da"




def _remember_language(response: web.StreamResponse, request: web.Request) -> None:
    asked = request.query.get("lang")
    if asked in LANGUAGES:
        _cookie(response, request, LANGUAGE_COOKIE, asked, 365 * 24 * 3600)


# For the dashboard's other modules (inbox.py).
language_of, remember_language = _language, _remember_language


def _today(request: web.Request) -> date:
    state = _state(request)
    return state.clock().astimezone(state.settings.service.zone).date()


def _years(request: web.Request) -> list[int]:
    newest = _today(request).year
    return list(range(newest, newest - 6, -1))


def _selection(request: web.Request, who: Who) -> tuple[Selection, str]:
    """The report asked for: a year, per week, month or quarter; anything else (a range
    of days, a year far off) is not a report one may see, so the default is shown."""
    state = _state(request)
    language = _language(request)
    query = request.query
    org = query.get("org") or ALL
    if not who.admin:
        org = who.org
    elif org != ALL and org not in state.organisations:
        org = ALL
    default = Selection(calendar.default_year(_today(request)), "month", org, language)
    grain, year = query.get("per", default.grain), query.get("year", str(default.year))
    # ASCII digits only, and few of them: "²" is a digit to isdigit(), and int() refuses
    # numbers of thousands of digits.
    plain_year = year.isascii() and year.isdigit() and len(year) <= 4
    if grain not in calendar.GRAINS or not plain_year or int(year) not in _years(request):
        return default, texts.t("bad_selection", language)
    if {"from", "to", "granularity"} & set(query):
        # An old link with a range of days: such reports no longer exist.
        return Selection(int(year), default.grain, org, language), texts.t(
            "no_ranges", language)
    chosen: Grain = "week" if grain == "week" else ("quarter" if grain == "quarter" else "month")
    return Selection(int(year), chosen, org, language), ""


async def _report(request: web.Request, selection: Selection) -> Report:
    state = _state(request)
    async with _database(request).reading() as session:
        return await compute.report(
            session, selection.year, state.settings.service.zone, _today(request),
            state.organisations, grain=selection.grain, scope=selection.org,
            language=selection.language,
        )


async def overview(request: web.Request, who: Who) -> web.StreamResponse:
    selection, error = _selection(request, who)
    built = await _report(request, selection)
    settings = _state(request).settings
    response = _html(pages.overview(who, built, selection, _state(request).organisations,
                                    zone=settings.service.timezone, years=_years(request),
                                    error=error))
    _remember_language(response, request)
    return response


def _csv(built: Report) -> bytes:
    return exports.to_csv(built).encode("utf-8")


def _json(built: Report) -> bytes:
    return exports.to_json(built).encode("utf-8")


def _research(built: Report) -> bytes:
    return research.to_csv(built).encode("utf-8")


EXPORTS: dict[str, tuple[str, Callable[[Report], bytes]]] = {
    "csv": ("text/csv", _csv),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             exports.to_xlsx),
    "json": ("application/json", _json),
    "research.csv": ("text/csv", _research),
}


def _export(kind: str) -> Handler:
    content_type, render = EXPORTS[kind]

    async def export(request: web.Request, who: Who) -> web.StreamResponse:
        selection, _ = _selection(request, who)
        built = await _report(request, selection)
        scope = "all" if selection.org == ALL else selection.org
        first = built.first.isoformat() if built.first else f"{selection.year}-01-01"
        last = built.last.isoformat() if built.last else first
        name = f"snakkes-{scope}-{first}-{last}-{selection.grain}.{kind}"
        response = web.Response(body=render(built), content_type=content_type,
                                charset="utf-8" if kind != "xlsx" else None)
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        _private(response)
        return response

    return export


# -- volunteers ----------------------------------------------------------------------------
async def _volunteers_page(request: web.Request, who: Who, *, code: str = "",
                           message: str = "", status: int = 200) -> web.Response:
    async with _database(request).reading() as session:
        rows = await handover.all_volunteers(session)
    shown = [v for v in rows if who.admin or v.org_slug == who.org]
    state = _state(request)
    response = _html(pages.volunteers(who, shown, state.organisations, code=code,
                                      message=message, zone=state.settings.service.zone,
                                      language=_language(request)), status=status)
    _remember_language(response, request)
    return response


async def volunteer_list(request: web.Request, who: Who) -> web.StreamResponse:
    return await _volunteers_page(request, who)


def _allowed_org(request: web.Request, who: Who, org: str) -> bool:
    return org in _state(request).organisations and (who.admin or org == who.org)


async def invite(request: web.Request, who: Who) -> web.StreamResponse:
    form = await request.post()
    org, role = str(form.get("org", "")), str(form.get("role", "volunteer"))
    if not _allowed_org(request, who, org) or role not in invites.ROLES:
        return await _volunteers_page(request, who, status=400,
                                      message=texts.t("bad_invite", _language(request)))
    now: datetime = _state(request).clock()
    async with _database(request).session() as session, session.begin():
        code = invites.create(session, org, role, now=now, valid_for=INVITE_VALID_FOR)
    return await _volunteers_page(request, who, code=code)


async def deactivate(request: web.Request, who: Who) -> web.StreamResponse:
    form = await request.post()
    alias, org = str(form.get("alias", "")), str(form.get("org", ""))
    if not _allowed_org(request, who, org):
        return await _volunteers_page(request, who, status=403,
                                      message=texts.t("not_yours", _language(request)))
    language = _language(request)
    async with _database(request).session() as session, session.begin():
        found = await roster.deactivate(session, alias, org)
    if found is not None:
        return await _volunteers_page(request, who,
                                      message=texts.t("deactivated", language, alias=alias))
    return await _volunteers_page(request, who, status=404,
                                  message=texts.t("no_volunteer", language, alias=alias))


# -- the community directory -----------------------------------------------------------------
async def _communities_page(request: web.Request, who: Who, **shown: Any) -> web.Response:
    state = _state(request)
    response = await communities.page(request, who, _database(request), state.organisations,
                                      _language(request), **shown)
    _private(response)
    _remember_language(response, request)
    return response


async def community_list(request: web.Request, who: Who) -> web.StreamResponse:
    return await _communities_page(request, who)


def _directory_changed(request: web.Request) -> None:
    state = _state(request)
    catalog = state.catalog_of(request.app) if state.catalog_of is not None else None
    if catalog is not None:
        catalog.changed()


_OUTCOME_STATUS = {"saved": 200, "deleted": 200, "missing": 404, "forbidden": 403}


async def community_save(request: web.Request, who: Who) -> web.StreamResponse:
    form = await request.post()
    language = _language(request)
    outcome, errors = await communities.save(_database(request), who,
                                             _state(request).organisations, form)
    if outcome == "invalid":
        return await _communities_page(request, who, form=communities.form_values(form),
                                       errors=errors, status=400)
    if outcome == "saved":
        _directory_changed(request)
    return await _communities_page(request, who, status=_OUTCOME_STATUS[outcome],
                                   message=texts.t(f"c_{outcome}", language))


async def community_delete(request: web.Request, who: Who) -> web.StreamResponse:
    form = await request.post()
    outcome = await communities.delete(_database(request), who, str(form.get("id", "")))
    if outcome == "deleted":
        _directory_changed(request)
    return await _communities_page(request, who, status=_OUTCOME_STATUS[outcome],
                                   message=texts.t(f"c_{outcome}", _language(request)))


async def stylesheet(request: web.Request) -> web.Response:
    return web.Response(body=(STATIC / "dashboard.css").read_bytes(), content_type="text/css",
                        headers={"Cache-Control": "max-age=3600"})
