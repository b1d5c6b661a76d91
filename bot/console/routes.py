"""The console's HTTP side: sign-up from an invite, log-in and log-out, the language
switch, the console page and its static files; the WebSocket is in socket.py.

Sessions: a random token in an HttpOnly, SameSite=Strict cookie scoped to /console; the
database keeps its hash and the session's CSRF token, which every POST (and the socket's
first frame) must carry. The log-in and sign-up forms (no session yet) carry a
double-submit token: a cookie and a field that must match. Passwords are argon2id, hashed
and checked in a thread, off the event loop. Every response: the web chat's security
headers, this console's Content Security Policy, and `Cache-Control: no-store`; the page's
script keeps nothing in the browser's storage.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pyotp
import segno
from aiohttp import WSCloseCode, web

from bot.addresses import client_address
from bot.console import pages
from bot.console.socket import serve
from bot.console.watch import watch
from bot.dashboard.auth import MIN_PASSWORD, LoginKeys, hash_password, verify
from bot.service import Service
from bot.webchat.session import is_secure
from dialogues.content import LANGUAGES, Texts
from storage import console as store
from storage import login_throttle
from storage.models import Participant, Volunteer
from storage.types import Clock
from volunteers import roster

STATIC = Path(__file__).resolve().parent / "static"
COOKIE, FORM_COOKIE = "snakkes_console", "snakkes_console_form"
SESSION_LIFETIME = timedelta(hours=12)
CSP = "; ".join((
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
_TYPES = {".js": "text/javascript", ".css": "text/css"}
ServiceOf = Callable[[web.Application], "Service | None"]


@dataclass
class ConsoleState:
    service_of: ServiceOf
    clock: Clock
    assets: dict[str, tuple[bytes, str]]
    sockets: set[web.WebSocketResponse] = field(default_factory=set)
    keys: LoginKeys | None = None  # the throttle's keys, made from the service's keyring
    # One attempt's count at a time on this instance (as on the dashboard): a burst queues
    # here, on one connection, instead of taking the whole pool.
    counting: asyncio.Lock = field(default_factory=asyncio.Lock)


CONSOLE: web.AppKey[ConsoleState] = web.AppKey("console", ConsoleState)


@dataclass(frozen=True)
class Who:
    volunteer_id: int
    csrf: str
    language: str


def add_routes(app: web.Application, service_of: ServiceOf, clock: Clock) -> None:
    assets = {
        path.name: (path.read_bytes(), _TYPES[path.suffix])
        for path in STATIC.iterdir() if path.suffix in _TYPES
    }
    app[CONSOLE] = ConsoleState(service_of, clock, assets)
    app.router.add_get("/console", console_page)
    app.router.add_get("/console/", console_page)
    app.router.add_get("/console/login", login_page)
    app.router.add_post("/console/login", login)
    app.router.add_get("/console/signup", signup_page)
    app.router.add_post("/console/signup", signup)
    app.router.add_post("/console/logout", logout)
    app.router.add_post("/console/language", language)
    app.router.add_get("/console/totp", totp_page)
    app.router.add_post("/console/totp", totp_enrol)
    app.router.add_get("/console/ws", socket)
    app.router.add_get("/console/static/{name}", asset)
    app.cleanup_ctx.append(_watching)
    app.on_shutdown.append(_close_sockets)


async def _close_sockets(app: web.Application) -> None:
    """At shutdown: the pages reconnect (to the next instance) and read the state again."""
    sockets = list(app[CONSOLE].sockets)
    await asyncio.gather(
        *(ws.close(code=WSCloseCode.GOING_AWAY, message=b"restarting") for ws in sockets),
        return_exceptions=True,
    )


async def _watching(app: web.Application) -> AsyncIterator[None]:
    """The watcher (watch.py), for as long as the service runs: every 2 seconds on one
    instance; every 5 as the safety net behind the cross-instance feed (feed.py)."""
    service = app[CONSOLE].service_of(app)
    task = None
    if service is not None:
        slugs = [org.slug for org in service.settings.organisations]
        interval = 2.0 if service.feed is None else 5.0
        task = asyncio.create_task(watch(service.database, service.hub, slugs, interval),
                                   name="console-watch")
    yield
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


# -- helpers -------------------------------------------------------------------------------
def _state(request: web.Request) -> ConsoleState:
    return request.app[CONSOLE]


def _service(request: web.Request) -> Service:
    service = _state(request).service_of(request.app)
    if service is None or service.desk is None:
        raise web.HTTPServiceUnavailable
    return service


def _private(response: web.StreamResponse) -> web.StreamResponse:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Cache-Control"] = "no-store"
    return response


def _html(body: str, status: int = 200) -> web.Response:
    response = web.Response(text=body, content_type="text/html", charset="utf-8",
                            status=status)
    _private(response)
    return response


def _redirect(location: str) -> web.HTTPFound:
    found = web.HTTPFound(location)
    _private(found)
    return found


def _cookie(response: web.StreamResponse, request: web.Request, name: str, value: str,
            max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/console", httponly=True,
                        samesite="Strict", secure=is_secure(request))


def _language(request: web.Request, form_value: object = None) -> str:
    asked = form_value if isinstance(form_value, str) else request.query.get("lang", "")
    if asked in LANGUAGES:
        return asked
    header = request.headers.get("Accept-Language", "").lower()
    return "en" if header.startswith("en") else "da"


def _texts(request: web.Request) -> Texts:
    return _service(request).core.conversation.texts


async def who(request: web.Request) -> Who | None:
    """The logged-in volunteer of this request, if any."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    service = _service(request)
    async with service.database.session() as session:
        found = await store.find_session(session, token, _state(request).clock())
        if found is None:
            return None
        row, volunteer = found
        person = await session.get(Participant, volunteer.participant_id)
    return Who(volunteer.id, row.csrf_token, person.language if person else "da")


def _form_token(request: web.Request, response: web.StreamResponse) -> str:
    token = secrets.token_urlsafe(24)
    _cookie(response, request, FORM_COOKIE, token, 3600)
    return token


def _form_ok(request: web.Request, form: object) -> bool:
    expected = request.cookies.get(FORM_COOKIE, "")
    token = form.get("csrf", "") if hasattr(form, "get") else ""
    return bool(expected) and isinstance(token, str) and secrets.compare_digest(token, expected)


def _orgs(request: web.Request) -> list[tuple[str, str]]:
    return [(org.slug, org.name) for org in _service(request).settings.organisations]


# -- the console page ------------------------------------------------------------------------
async def console_page(request: web.Request) -> web.Response:
    found = await who(request)
    if found is None:
        raise _redirect(f"/console/login?lang={_language(request)}")
    service = _service(request)
    async with service.database.session() as session:
        volunteer = await session.get(Volunteer, found.volunteer_id)
    if volunteer is None:
        raise _redirect("/console/login")
    if _needs_totp(service, volunteer):
        raise _redirect("/console/totp")
    org = service.desk.policy.organisation(volunteer.org_slug) if service.desk else None
    texts, lang = _texts(request), found.language
    return _html(pages.console(texts, lang, found.csrf, alias=volunteer.alias or "",
                               org=org.name if org else volunteer.org_slug,
                               topic_labels=pages.topic_labels(texts, lang),
                               totp_on=volunteer.totp_secret is not None))


async def asset(request: web.Request) -> web.Response:
    found = _state(request).assets.get(request.match_info["name"])
    if found is None:
        raise web.HTTPNotFound
    body, content_type = found
    response = web.Response(body=body, headers={"Content-Type": f"{content_type}; charset=utf-8"})
    _private(response)
    return response


# -- the throttle (storage/login_throttle.py, shared by every instance) ---------------------
@dataclass(frozen=True)
class Count:
    wait: float  # seconds to wait before another attempt is checked; 0: checked now
    name_key: str
    address_key: str


async def _count(request: web.Request, name: str | None) -> Count:
    """Count one attempt, before anything is checked: under the name (an alias, or a
    volunteer's code set-up; None for a sign-up, which has no name yet) and the client's
    address. Keyed hashes: the table holds neither."""
    state, service = _state(request), _service(request)
    if state.keys is None:
        state.keys = LoginKeys(service.core.keyring.subkey("console-login"))
    name_key = state.keys.name(name) if name is not None else ""
    address_key = state.keys.address(client_address(request))
    keys = [(address_key, login_throttle.PER_ADDRESS)]
    if name is not None:
        keys.append((name_key, login_throttle.PER_NAME))
    async with state.counting, service.database.session() as session, session.begin():
        wait = await login_throttle.attempt(session, keys, state.clock())
    return Count(wait.total_seconds(), name_key, address_key)


async def _succeeded(request: web.Request, count: Count) -> None:
    service = _service(request)
    async with service.database.session() as session, session.begin():
        await login_throttle.succeeded(session, count.name_key, count.address_key,
                                       _state(request).clock())


# -- log-in --------------------------------------------------------------------------------
async def login_page(request: web.Request) -> web.Response:
    if await who(request) is not None:
        raise _redirect("/console")
    return _login_form(request, _language(request))


def _login_form(request: web.Request, lang: str, *, alias: str = "", org: str = "",
                error: str = "", status: int = 200) -> web.Response:
    response = _html("", status=status)
    token = _form_token(request, response)
    response.text = pages.login(_texts(request), lang, token, _orgs(request), alias=alias,
                                org=org, error=error)
    return response


async def login(request: web.Request) -> web.Response:
    service = _service(request)
    form = await request.post()
    lang = _language(request, form.get("lang"))
    alias, password, org = (str(form.get(k, "")) for k in ("alias", "password", "org"))
    texts = _texts(request)
    if not _form_ok(request, form):
        return _login_form(request, lang, alias=alias, org=org, status=403,
                           error=texts.get("console_error_expired", lang))
    count = await _count(request, f"{org}/{alias[:24]}")
    if count.wait:
        return _login_form(request, lang, alias=alias, org=org, status=429,
                           error=texts.get("console_error_throttled", lang))
    async with service.database.session() as session:
        volunteer = await store.volunteer_by_alias(session, org, alias[:24])
    usable = volunteer is not None and volunteer.active and volunteer.password_hash
    stored = volunteer.password_hash if volunteer is not None and usable else None
    ok = await asyncio.to_thread(verify, stored, password[:1024])
    if ok and volunteer is not None and volunteer.totp_secret is not None:
        step = totp_step(volunteer.totp_secret, str(form.get("totp", "")))
        ok = step is not None and await _use_step(request, volunteer.id, step)
    if volunteer is None or not usable or not ok:
        return _login_form(request, lang, alias=alias, org=org, status=401,
                           error=texts.get("console_error_login", lang))
    await _succeeded(request, count)
    return await _logged_in(request, volunteer.id)


async def _logged_in(request: web.Request, volunteer_id: int) -> web.Response:
    service, now = _service(request), _state(request).clock()
    async with service.database.session() as session, session.begin():
        volunteer = await session.get(Volunteer, volunteer_id)
        if volunteer is None:
            raise web.HTTPNotFound
        token = await store.open_session(session, volunteer, now, SESSION_LIFETIME)
    response = _redirect("/console")
    _cookie(response, request, COOKIE, token, int(SESSION_LIFETIME.total_seconds()))
    response.del_cookie(FORM_COOKIE, path="/console")
    raise response


async def _session_post(request: web.Request) -> tuple[Who, object]:
    """A logged-in POST with the session's CSRF token, or a refusal."""
    found = await who(request)
    if found is None:
        raise _redirect("/console/login")
    form = await request.post()
    token = form.get("csrf")
    if not isinstance(token, str) or not secrets.compare_digest(token, found.csrf):
        raise web.HTTPForbidden(text=pages.refused(_texts(request), found.language),
                                content_type="text/html",
                                headers={"Content-Security-Policy": CSP,
                                         "Cache-Control": "no-store"})
    return found, form


async def logout(request: web.Request) -> web.Response:
    await _session_post(request)
    service = _service(request)
    async with service.database.session() as session, session.begin():
        await store.close_session(session, request.cookies.get(COOKIE, ""))
    response = _redirect("/console/login")
    response.del_cookie(COOKIE, path="/console")
    raise response


async def language(request: web.Request) -> web.Response:
    found, form = await _session_post(request)
    chosen = form.get("lang") if hasattr(form, "get") else None
    if chosen in LANGUAGES:
        service = _service(request)
        async with service.database.session() as session, session.begin():
            volunteer = await session.get(Volunteer, found.volunteer_id)
            person = (await session.get(Participant, volunteer.participant_id)
                      if volunteer else None)
            if person is not None:
                person.language = str(chosen)
    raise _redirect("/console")


# -- the second factor (TOTP) ------------------------------------------------------------------
def totp_step(secret: str, code: str) -> int | None:
    """The time step of a code from the app: this 30-second step or the one either side
    (a phone's clock a little off); None when it matches none. By the wall clock, as the
    phone's."""
    digits = code.replace(" ", "")[:8]
    if len(digits) != 6 or not digits.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    now = int(time.time()) // totp.interval
    for step in (now - 1, now, now + 1):
        if hmac.compare_digest(totp.generate_otp(step), digits):
            return step
    return None


def totp_matches(secret: str, code: str) -> bool:
    return totp_step(secret, code) is not None


async def _use_step(request: web.Request, volunteer_id: int, step: int) -> bool:
    """A code counts once: one seen (and used) cannot log anyone in again."""
    async with _service(request).database.session() as session, session.begin():
        return await store.use_totp_step(session, volunteer_id, step)


def _needs_totp(service: Service, volunteer: Volunteer) -> bool:
    """The organisation asks for the code and this volunteer has not set it up yet."""
    org = service.desk.policy.organisation(volunteer.org_slug) if service.desk else None
    return org is not None and org.require_totp and volunteer.totp_secret is None


def _totp_form(request: web.Request, found: Who, volunteer: Volunteer, secret: str, *,
               error: str = "", status: int = 200) -> web.Response:
    service = _service(request)
    uri = pyotp.TOTP(secret).provisioning_uri(name=volunteer.alias or "", issuer_name="snakkes")
    svg = segno.make(uri, error="m").svg_inline(scale=4, border=4, light="#fff")
    return _html(pages.totp(_texts(request), found.language, found.csrf, secret=secret,
                            qr_svg=svg, required=_needs_totp(service, volunteer), error=error),
                 status=status)


async def totp_page(request: web.Request) -> web.Response:
    """Setting up the code: a fresh secret, shown this once (it is kept only once a code
    from the app confirms it)."""
    found = await who(request)
    if found is None:
        raise _redirect("/console/login")
    service = _service(request)
    async with service.database.session() as session:
        volunteer = await session.get(Volunteer, found.volunteer_id)
    if volunteer is None or volunteer.totp_secret is not None:
        raise _redirect("/console")
    return _totp_form(request, found, volunteer, pyotp.random_base32())


async def totp_enrol(request: web.Request) -> web.Response:
    found, form = await _session_post(request)
    service = _service(request)
    secret = str(form.get("secret", "")) if hasattr(form, "get") else ""
    code = str(form.get("totp", "")) if hasattr(form, "get") else ""
    texts = _texts(request)
    count = await _count(request, f"totp/{found.volunteer_id}")
    async with service.database.session() as session, session.begin():
        volunteer = await session.get(Volunteer, found.volunteer_id)
        if volunteer is None or volunteer.totp_secret is not None:
            raise _redirect("/console")
        if len(secret) != 32 or not all(c in _BASE32 for c in secret):
            secret = pyotp.random_base32()  # not ours: start again with a fresh one
            return _totp_form(request, found, volunteer, secret, status=400,
                              error=texts.get("console_totp_wrong", found.language))
        if count.wait:
            return _totp_form(request, found, volunteer, secret, status=429,
                              error=texts.get("console_error_throttled", found.language))
        if not totp_matches(secret, code):
            return _totp_form(request, found, volunteer, secret, status=400,
                              error=texts.get("console_totp_wrong", found.language))
        volunteer.totp_secret = secret
    await _succeeded(request, count)
    raise _redirect("/console")


_BASE32 = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")


# -- sign-up -------------------------------------------------------------------------------
async def signup_page(request: web.Request) -> web.Response:
    return _signup_form(request, _language(request))


def _signup_form(request: web.Request, lang: str, *, alias: str = "", error: str = "",
                 status: int = 200) -> web.Response:
    response = _html("", status=status)
    token = _form_token(request, response)
    response.text = pages.signup(_texts(request), lang, token, alias=alias, error=error)
    return response


async def signup(request: web.Request) -> web.Response:
    state, service = _state(request), _service(request)
    form = await request.post()
    lang = _language(request, form.get("lang"))
    code, alias, password, again = (
        str(form.get(k, "")) for k in ("code", "alias", "password", "password2")
    )
    texts = _texts(request)

    def refuse(key: str, status: int = 400) -> web.Response:
        return _signup_form(request, lang, alias=alias[:24], status=status,
                            error=texts.get(key, lang))

    now = state.clock()
    if not _form_ok(request, form):
        return refuse("console_error_expired", 403)
    count = await _count(request, None)
    if count.wait:
        return refuse("console_error_throttled", 429)
    problem = _signup_problem(form.get("accept"), alias, password, again)
    if problem:
        return refuse(problem)
    password_hash = await asyncio.to_thread(hash_password, password)
    try:
        async with service.database.session() as session, session.begin():
            outcome, volunteer = await roster.sign_up(
                session, service.core.keyring, code=code[:64], alias=alias, language=lang,
                password_hash=password_hash, now=now,
            )
            if volunteer is None:
                raise _Refused(outcome)  # rolls back: the code stays unused
    except _Refused as refusal:
        return refuse(f"console_error_{refusal.outcome.value}")
    await _succeeded(request, count)
    return await _logged_in(request, volunteer.id)


def _signup_problem(accept: object, alias: str, password: str, again: str) -> str:
    """The text key of what is wrong with the form, or ""."""
    if accept != "yes":
        return "console_error_accept"
    if not MIN_PASSWORD <= len(password) <= 1024 or password != again:
        return "console_error_password"
    if roster.clean_alias(alias) is None:
        return "console_error_alias_invalid"
    return ""


class _Refused(Exception):
    def __init__(self, outcome: roster.SignUp) -> None:
        super().__init__(outcome.value)
        self.outcome = outcome


# -- the socket ------------------------------------------------------------------------------
async def socket(request: web.Request) -> web.WebSocketResponse:
    found = await who(request)
    if found is None:
        raise web.HTTPUnauthorized
    origin = request.headers.get("Origin")
    if origin is not None and origin.split("://", 1)[-1] != request.host:
        raise web.HTTPForbidden
    service = _service(request)
    async with service.database.session() as session:
        volunteer = await session.get(Volunteer, found.volunteer_id)
    if volunteer is None or _needs_totp(service, volunteer):
        raise web.HTTPForbidden
    return await serve(request, _service(request), found.volunteer_id, found.csrf,
                       _state(request).clock, _state(request).sockets)

