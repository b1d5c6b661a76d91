"""The dashboard's routes: log-in and log-out, the overview with its period selector, the
CSV export, and volunteer management.

Sessions: a random token in an HttpOnly, SameSite=Strict cookie scoped to /dashboard;
the database keeps its hash and the session's CSRF token, which every POST must carry.
The log-in form (no session yet) has a double-submit token: a cookie and a field that
must match. Every page has its own Content Security Policy: forms may post only to us.
"""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from aiohttp import web

from bot import report
from bot.addresses import client_address
from bot.config import Settings
from bot.dashboard import pages
from bot.dashboard.auth import LoginKeys, PasswordCheck
from bot.dashboard.pages import Selection, Who
from bot.webchat.session import is_secure
from storage import coordinators, handover, login_throttle, statistics
from storage.crypto import Keyring
from storage.db import Database
from storage.statistics import ALL, GRANULARITIES, Granularity, Periods
from storage.types import Clock
from volunteers import invites

STATIC = Path(__file__).resolve().parent / "static"
COOKIE, LOGIN_COOKIE = "snakkes_dashboard", "snakkes_dashboard_login"
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

    @property
    def organisations(self) -> list[str]:
        return [org.slug for org in self.settings.organisations]


DASHBOARD: web.AppKey[Dashboard] = web.AppKey("dashboard", Dashboard)
Handler = Callable[[web.Request, Who], Awaitable[web.StreamResponse]]


def add_routes(
    app: web.Application,
    settings: Settings,
    database_of: Callable[[web.Application], Database],
    clock: Clock,
) -> None:
    app[DASHBOARD] = Dashboard(settings, database_of, clock, PasswordCheck(),
                               LoginKeys(Keyring(settings.secret_key).subkey("login")))
    app.router.add_get("/dashboard", _protected(overview))
    app.router.add_get("/dashboard/", _protected(overview))
    app.router.add_get("/dashboard/export.csv", _protected(export_csv))
    app.router.add_get("/dashboard/volunteers", _protected(volunteer_list))
    app.router.add_post("/dashboard/volunteers/invite", _protected(invite))
    app.router.add_post("/dashboard/volunteers/deactivate", _protected(deactivate))
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
    response = _html(pages.login(token, name=name, error=error), status=status)
    _cookie(response, request, LOGIN_COOKIE, token, 3600)
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
                           error="The form had expired. Please try again.")
    now = state.clock()
    name_key = state.keys.name(name)
    address_key = state.keys.address(client_address(request))
    keys = [(name_key, login_throttle.PER_NAME), (address_key, login_throttle.PER_ADDRESS)]
    async with _database(request).session() as session, session.begin():
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
                           error="Wrong name or password.")
    async with _database(request).session() as session, session.begin():
        current = await coordinators.by_name(session, name)
        if current is None or not current.active or current.password_hash != stored:
            return _login_form(request, name=name[:MAX_NAME], status=401,
                               error="Wrong name or password.")
        await login_throttle.succeeded(session, name_key, address_key, now)
        session_token = await coordinators.open_session(session, current, now, SESSION_LIFETIME)
    response = web.HTTPFound("/dashboard")
    _cookie(response, request, COOKIE, session_token, int(SESSION_LIFETIME.total_seconds()))
    response.del_cookie(LOGIN_COOKIE, path="/dashboard")
    raise response


def _too_many(request: web.Request, name: str, seconds: float) -> web.Response:
    wait = max(1, math.ceil(seconds))
    response = _login_form(request, name=name[:MAX_NAME], status=429,
                           error=f"Too many attempts. Try again in {wait} seconds.")
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
    return _html(pages.sessions(who, shown, state.settings.service.zone))


async def end_sessions(request: web.Request, who: Who) -> web.StreamResponse:
    """Log out everywhere: every session of this coordinator, this one too."""
    async with _database(request).session() as session, session.begin():
        await coordinators.end_sessions(session, who.name)
    response = web.HTTPFound("/dashboard/login")
    response.del_cookie(COOKIE, path="/dashboard")
    raise response


# -- statistics ----------------------------------------------------------------------------
def _selection(request: web.Request, who: Who) -> tuple[Selection, str]:
    """The period and scope asked for, or a sensible default (the last 12 weeks) and why."""
    state = _state(request)
    today = state.clock().astimezone(state.settings.service.zone).date()
    default = Selection((today - timedelta(weeks=12)).isoformat(), today.isoformat(), "week",
                        ALL if who.admin else who.org)
    query = request.query
    org = query.get("org") or ALL
    if not who.admin:
        org = who.org
    elif org != ALL and org not in state.organisations:
        org = ALL
    granularity = query.get("granularity", "week")
    try:
        first = date.fromisoformat(query.get("from", default.first))
        last = date.fromisoformat(query.get("to", default.last))
        if granularity not in GRANULARITIES:
            raise ValueError("granularity")
        _periods(request, first, last, granularity)
    except (ValueError, OverflowError):  # e.g. from=9999-12-31: beyond the calendar
        return Selection(default.first, default.last, default.granularity, org), (
            "That period could not be shown (dates as YYYY-MM-DD, at most three years, "
            "and no more than 400 columns); showing the last 12 weeks."
        )
    return Selection(first.isoformat(), last.isoformat(), granularity, org), ""


def _periods(request: web.Request, first: date, last: date, granularity: str) -> Periods:
    grain: Granularity = "day" if granularity == "day" else (
        "month" if granularity == "month" else "week")
    periods = Periods.of(first, last, grain, _state(request).settings.service.zone)
    if len(periods.starts) > 400:
        raise ValueError("too many columns")
    return periods


async def _report(request: web.Request, selection: Selection) -> report.Report:
    periods = _periods(request, date.fromisoformat(selection.first),
                       date.fromisoformat(selection.last), selection.granularity)
    async with _database(request).session() as session:
        figures = await statistics.compute(session, periods)
    return report.build(figures, _state(request).organisations, selection.org)


async def overview(request: web.Request, who: Who) -> web.StreamResponse:
    selection, error = _selection(request, who)
    built = await _report(request, selection)
    return _html(pages.overview(who, built, selection, _state(request).organisations, error))


async def export_csv(request: web.Request, who: Who) -> web.StreamResponse:
    selection, _ = _selection(request, who)
    built = await _report(request, selection)
    scope = "all" if selection.org == ALL else selection.org
    name = f"snakkes-{scope}-{selection.first}-{selection.last}-{selection.granularity}.csv"
    response = web.Response(text=report.to_csv(built), content_type="text/csv",
                            charset="utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    _private(response)
    return response


# -- volunteers ----------------------------------------------------------------------------
async def _volunteers_page(request: web.Request, who: Who, *, code: str = "",
                           message: str = "", status: int = 200) -> web.Response:
    async with _database(request).session() as session:
        rows = await handover.all_volunteers(session)
    shown = [v for v in rows if who.admin or v.org_slug == who.org]
    return _html(pages.volunteers(who, shown, _state(request).organisations, code=code,
                                  message=message), status=status)


async def volunteer_list(request: web.Request, who: Who) -> web.StreamResponse:
    return await _volunteers_page(request, who)


def _allowed_org(request: web.Request, who: Who, org: str) -> bool:
    return org in _state(request).organisations and (who.admin or org == who.org)


async def invite(request: web.Request, who: Who) -> web.StreamResponse:
    form = await request.post()
    org, role = str(form.get("org", "")), str(form.get("role", "volunteer"))
    if not _allowed_org(request, who, org) or role not in invites.ROLES:
        return await _volunteers_page(request, who, message="Not an organisation or role "
                                      "you can invite to.", status=400)
    now: datetime = _state(request).clock()
    async with _database(request).session() as session, session.begin():
        code = invites.create(session, org, role, now=now, valid_for=INVITE_VALID_FOR)
    return await _volunteers_page(request, who, code=code)


async def deactivate(request: web.Request, who: Who) -> web.StreamResponse:
    form = await request.post()
    alias, org = str(form.get("alias", "")), str(form.get("org", ""))
    if not _allowed_org(request, who, org):
        return await _volunteers_page(request, who, message="Not your organisation.",
                                      status=403)
    async with _database(request).session() as session, session.begin():
        done = await handover.deactivate_volunteer(session, alias, org)
    if done:
        return await _volunteers_page(request, who, message=f"{alias} is deactivated.")
    return await _volunteers_page(request, who, message=f"No volunteer {alias}.", status=404)


async def stylesheet(request: web.Request) -> web.Response:
    return web.Response(body=(STATIC / "dashboard.css").read_bytes(), content_type="text/css",
                        headers={"Cache-Control": "max-age=3600"})
