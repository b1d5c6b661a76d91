"""Logging: one line per event with a correlation id; never message text or identifiers.

Third-party loggers that would print a bot token (httpx logs request URLs), update
contents (python-telegram-bot at DEBUG) or client IPs (aiohttp's access log) are held at
WARNING, and the access log is off.
"""

from __future__ import annotations

import contextvars
import logging
import secrets
from typing import TextIO

_correlation: contextvars.ContextVar[str] = contextvars.ContextVar("correlation", default="-")
_QUIET = ("httpx", "httpcore", "telegram", "apscheduler", "aiohttp.access", "asyncio", "aiosqlite")


def new_correlation_id() -> str:
    """Start a correlation id for the work in this context; returns it."""
    value = secrets.token_hex(4)
    _correlation.set(value)
    return value


def correlation_id() -> str:
    return _correlation.get()


class _ThirdPartyWithoutDetails(logging.Filter):
    """python-telegram-bot may put an update (ids, names, text) into a log record's
    arguments or its exception's message; from its loggers only the bare event and the
    exception's class reach our log."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("telegram"):
            return True
        message = str(record.msg)
        if record.args:
            message += " [details withheld]"
            record.args = None
        if record.exc_info and record.exc_info[0] is not None:
            message += f" ({record.exc_info[0].__name__})"
        record.msg, record.exc_info, record.exc_text = message, None, None
        return True


class _CorrelationFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation = _correlation.get()
        return True


def configure(level: str = "INFO", stream: TextIO | None = None) -> None:
    """Install our handler on the root logger (once; `stream` defaults to stderr) and hold
    noisy loggers at WARNING."""
    root = logging.getLogger()
    ours = [h for h in root.handlers if isinstance(h, _SnakkesHandler)]
    if not ours:
        handler = _SnakkesHandler(stream)
        handler.addFilter(_CorrelationFilter())
        handler.addFilter(_ThirdPartyWithoutDetails())
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(correlation)s] %(message)s")
        )
        root.addHandler(handler)
    elif stream is not None:
        ours[0].setStream(stream)
    root.setLevel(level.upper())
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)


class _SnakkesHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Our console handler; a class of its own so configure() never adds it twice."""
