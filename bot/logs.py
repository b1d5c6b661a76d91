"""Logging: one line per event with a correlation id; never message text or identifiers.

Third-party loggers that would print a bot token (httpx logs request URLs), update
contents (python-telegram-bot at DEBUG) or client IPs (aiohttp's access log) are held at
WARNING, and the access log is off.
"""

from __future__ import annotations

import contextvars
import logging
import secrets

_correlation: contextvars.ContextVar[str] = contextvars.ContextVar("correlation", default="-")
_QUIET = (
    "httpx", "httpcore", "telegram", "apscheduler", "aiohttp.access", "asyncio", "aiosqlite",
    "alembic",
)


def new_correlation_id() -> str:
    """Start a correlation id for the work in this context; returns it."""
    value = secrets.token_hex(4)
    _correlation.set(value)
    return value


def correlation_id() -> str:
    return _correlation.get()


class _CorrelationFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation = _correlation.get()
        return True


def configure(level: str = "INFO") -> None:
    """Install our handler on the root logger (once) and hold noisy loggers at WARNING."""
    root = logging.getLogger()
    if not any(isinstance(h, _SnakkesHandler) for h in root.handlers):
        handler = _SnakkesHandler()
        handler.addFilter(_CorrelationFilter())
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(correlation)s] %(message)s")
        )
        root.addHandler(handler)
    root.setLevel(level.upper())
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)


class _SnakkesHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Our console handler; a class of its own so configure() never adds it twice."""
