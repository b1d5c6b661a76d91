"""The web chat session: one random token in an HttpOnly, SameSite=Strict cookie.

Only the server issues tokens: each carries an HMAC tag under a key derived from the secret
key, and a token without a valid tag (made up, or from before the tags) is refused and
replaced by a fresh one. So nobody can fix a session on someone else's browser, two
sockets cannot share a conversation by agreeing on a made-up cookie, and every session
passes the limit on new sessions.

The token lives only in the browser. What the core sees is a key derived from it (used as
both the channel user key and the address), so neither the database nor the sealed
address ever holds the token itself: with the database and the secret key, nobody can
take over a session.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence

from aiohttp import web

COOKIE = "snakkes_session"
# Long enough that a check-in can be shown when the person comes back; "erase everything"
# ends it at once.
COOKIE_MAX_AGE = 30 * 24 * 3600
_TOKEN = re.compile(r"^([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{43})$")


class Tokens:
    """Issues session tokens (43 random characters, a dot, a 43-character tag) and knows
    them again; `keys` are the deployment's keys for this purpose (Keyring.subkeys)."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        self._keys = list(keys)  # the current key signs; previous ones still verify

    @staticmethod
    def _tag(key: bytes, body: str) -> str:
        digest = hmac.new(key, body.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def new(self) -> str:
        body = secrets.token_urlsafe(32)  # 43 characters
        return f"{body}.{self._tag(self._keys[0], body)}"

    def of(self, request: web.BaseRequest) -> str | None:
        """The request's session token, or None when missing, malformed or not ours."""
        token = request.cookies.get(COOKIE, "")
        found = _TOKEN.match(token)
        if found is None:
            return None
        body, tag = found.groups()
        if not any(hmac.compare_digest(tag, self._tag(key, body)) for key in self._keys):
            return None
        return token


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
