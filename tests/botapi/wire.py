"""The Bot API wire format as PTB's HTTPXRequest writes it, decoded for the double.

Every value arrives as a string: strings raw, everything else (ints, dicts, lists) JSON-encoded.
Bodies may be urlencoded, multipart (uploads) or JSON, and Telegram also reads the query string.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from tests.botapi.models import JSON

# Params that are strings in the Bot API: PTB sends them raw, so they must not be JSON-decoded
# ("42" stays a string). Everything else arrives JSON-encoded.
_STRING_PARAMS = frozenset(
    {
        "text",
        "parse_mode",
        "caption",
        "url",
        "secret_token",
        "callback_query_id",
        "action",
        "language_code",
        "inline_message_id",
        "business_connection_id",
        "message_effect_id",
        "title",
        "description",
        "short_description",
        "name",
        "emoji",
        "question",
    }
)


def decode_params(items: Iterable[tuple[str, Any]]) -> JSON:
    """Decode ``(name, value)`` pairs; uploads are described, not read."""
    params: JSON = {}
    for key, value in items:
        if isinstance(value, web.FileField):
            params[key] = {"file_name": value.filename, "content_type": value.content_type}
        elif key in _STRING_PARAMS or not isinstance(value, str):
            params[key] = value
        else:
            try:
                params[key] = json.loads(value)
            except ValueError:
                params[key] = value
    return params


async def read_params(request: web.Request) -> JSON:
    """Query string plus body (urlencoded, multipart or JSON), with JSON values decoded."""
    items: list[tuple[str, Any]] = list(request.query.items())
    if request.body_exists:
        if request.content_type == "application/json":
            body = await request.json()
            items += list(body.items()) if isinstance(body, dict) else []
        else:
            items += list((await request.post()).items())
    return decode_params(items)
