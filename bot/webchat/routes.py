"""The web chat's HTTP side: the page at /, its static files, the WebSocket at /ws, and the
"erase everything" and "new session" endpoints; plus the security headers on every response.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

from bot.addresses import client_address
from bot.webchat import session
from bot.webchat.channel import CLOSE_NO_SESSION, MAX_FRAME_BYTES, WebChannel
from dialogues.content import LANGUAGES

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
CSP = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
_HEARTBEAT = 25.0  # seconds between pings; a dead connection is noticed and closed
_CLOSE_TIMEOUT = 3.0  # seconds a close waits for the browser's answer
ChannelOf = Callable[[web.Application], "WebChannel | None"]
CHANNEL_OF: web.AppKey[ChannelOf] = web.AppKey("webchat_channel_of")
ASSETS: web.AppKey[dict[str, Asset]] = web.AppKey("webchat_assets")
PAGE: web.AppKey[str] = web.AppKey("webchat_page")


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str
    etag: str


def add_routes(app: web.Application, channel_of: ChannelOf) -> None:
    """Serve the web chat; `channel_of` finds the running channel (built with the service)."""
    app[CHANNEL_OF] = channel_of
    app[ASSETS] = _load_assets()
    app[PAGE] = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    app.router.add_get("/", page)
    app.router.add_get("/static/{name}", asset)
    app.router.add_get("/ws", socket)
    app.router.add_post("/session", new_session)
    app.router.add_post("/erase", erase)
    app.on_response_prepare.append(security_headers)
    app.on_shutdown.append(_close_sockets)


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """On every response, errors included (a signal rather than a middleware for that
    reason): no inline script or style, no framing, no referrer, no sniffing."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    headers["X-Frame-Options"] = "DENY"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    if session.is_secure(request):
        headers["Strict-Transport-Security"] = "max-age=31536000"


async def page(request: web.Request) -> web.Response:
    channel = _channel(request)
    language = preferred_language(
        request.headers.get("Accept-Language"), channel.core.default_language
    )
    body = request.app[PAGE].replace("__LANG__", language)
    response = web.Response(
        text=body,
        content_type="text/html",
        charset="utf-8",
        headers={"Cache-Control": "no-store"},
    )
    if channel.tokens.of(request) is None:
        _limit_new_sessions(channel, request)
        session.set_cookie(response, request, channel.tokens.new())
    return response


async def asset(request: web.Request) -> web.Response:
    found = request.app[ASSETS].get(request.match_info["name"])
    if found is None:
        raise web.HTTPNotFound
    headers = {"ETag": found.etag, "Cache-Control": "no-cache"}
    if request.headers.get("If-None-Match") == found.etag:
        return web.Response(status=304, headers=headers)
    headers["Content-Type"] = f"{found.content_type}; charset=utf-8"
    return web.Response(body=found.body, headers=headers)


async def socket(request: web.Request) -> web.WebSocketResponse:
    channel = _channel(request)
    if not _same_origin(request):
        raise web.HTTPForbidden
    ip = client_address(request)
    if channel.connects.take(ip) > 0:
        raise web.HTTPTooManyRequests
    ws = web.WebSocketResponse(
        timeout=_CLOSE_TIMEOUT, max_msg_size=MAX_FRAME_BYTES, heartbeat=_HEARTBEAT, compress=False
    )
    await ws.prepare(request)
    token = channel.tokens.of(request)
    if token is None:  # a browser cannot read a refused handshake; a close code it can
        await ws.close(code=CLOSE_NO_SESSION, message=b"no session")
        return ws
    language = preferred_language(request.headers.get("Accept-Language"), "")
    await channel.serve(ws, session.session_key(token), ip, language or None)
    return ws


async def new_session(request: web.Request) -> web.Response:
    """A fresh cookie for a page whose session has gone (erased in another tab, expired)."""
    channel = _channel(request)
    _check_form_origin(request)
    response = web.json_response({"ok": True}, headers={"Cache-Control": "no-store"})
    if channel.tokens.of(request) is None:
        _limit_new_sessions(channel, request)
        session.set_cookie(response, request, channel.tokens.new())
    return response


async def erase(request: web.Request) -> web.Response:
    """Erase everything and leave: /forget at once (the page has asked for the one
    confirmation), and the cookie goes too."""
    channel = _channel(request)
    _check_form_origin(request)
    token = channel.tokens.of(request)
    if token is not None:
        await channel.erase(session.session_key(token))
    response = web.json_response({"ok": True}, headers={"Cache-Control": "no-store"})
    session.clear_cookie(response, request)
    return response


def preferred_language(header: str | None, default: str) -> str:
    """The first of our languages in an Accept-Language header, by weight."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((header or "").split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        base = tag.strip().split("-", 1)[0].lower()
        if base in LANGUAGES and weight > 0:
            ranked.append((-weight, index, base))
    return min(ranked)[2] if ranked else default


def _channel(request: web.Request) -> WebChannel:
    channel = request.app[CHANNEL_OF](request.app)
    if channel is None:
        raise web.HTTPServiceUnavailable
    return channel


def _same_origin(request: web.Request) -> bool:
    """A browser always sends Origin on a WebSocket handshake and a POST; another site's
    page must not use this person's cookie (SameSite=Strict already says so)."""
    origin = request.headers.get("Origin")
    return origin is None or urlsplit(origin).netloc == request.host


def _check_form_origin(request: web.Request) -> None:
    # A custom header cannot be sent cross-site without a CORS preflight we never answer.
    if not _same_origin(request) or request.headers.get("X-Snakkes") != "1":
        raise web.HTTPForbidden


def _limit_new_sessions(channel: WebChannel, request: web.Request) -> None:
    wait = channel.new_sessions.take(client_address(request))
    if wait > 0:
        raise web.HTTPTooManyRequests(headers={"Retry-After": str(int(wait) + 1)})


def _load_assets() -> dict[str, Asset]:
    assets = {}
    for path in STATIC_DIR.iterdir():
        content_type = _TYPES.get(path.suffix)
        if content_type is None:
            continue
        body = path.read_bytes()
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        assets[path.name] = Asset(body, content_type, etag)
    return assets


async def _close_sockets(app: web.Application) -> None:
    channel = app[CHANNEL_OF](app)
    if channel is not None:
        await channel.close_all()
