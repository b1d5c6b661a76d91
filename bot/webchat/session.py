"""The web chat session: one random token in an HttpOnly, SameSite=Strict cookie.

The token lives only in the browser. What the core sees is a key derived from it (used as
both the channel user key and the address), so neither the database nor the sealed
address ever holds the token itself: with the database and the secret key, nobody can
take over a session.
"""

from __future__ import annotations

import hashlib
import re
import secrets

from aiohttp import web

COOKIE = "snakkes_session"
# Long enough that a check-in can be shown when the person comes back; "erase everything"
# ends it at once.
COOKIE_MAX_AGE = 30 * 24 * 3600
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")


def new_token() -> str:
    return secrets.token_urlsafe(32)  # 43 characters


def token_of(request: web.BaseRequest) -> str | None:
    """The request's session token, or None when missing or malformed."""
    token = request.cookies.get(COOKIE, "")
    return token if _TOKEN.match(token) else None


def session_key(token: str) -> str:
    """The key the core knows this session by (channel user key and address)."""
    return hashlib.sha256(f"snakkes/web/session\x1f{token}".encode()).hexdigest()


def is_secure(request: web.BaseRequest) -> bool:
    """HTTPS directly, or behind a TLS-terminating proxy that says so (only ever used to
    add the Secure flag, so a forged header can only make a cookie stricter)."""
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return request.secure or forwarded == "https"


def set_cookie(response: web.StreamResponse, request: web.BaseRequest, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=COOKIE_MAX_AGE,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=is_secure(request),
    )


def clear_cookie(response: web.StreamResponse, request: web.BaseRequest) -> None:
    response.del_cookie(
        COOKIE, path="/", httponly=True, samesite="Strict", secure=is_secure(request)
    )
