"""Logging: one line per event with a correlation id; never message text or identifiers.

Everything our handler writes passes one filter (`PrivacyFilter`):
- an error keeps its traceback (files, lines, functions: what is needed to find the
  fault), but every exception's message is replaced by its class, except for the SQL of
  a database error (whose parameters are dropped);
- the line itself is formatted, then stripped of what could identify someone or repeat
  their words: an argument that is more than one plain word, anything in quotes, IP
  addresses, long numbers (a Telegram id), long tokens and hashes, e-mail addresses;
- an argument wrapped in `Configured` (the operator's own settings: the listen address,
  the config file's path) is shown as it is, never a person's data;
- aiohttp's own complaints about a malformed request (which carry the client's address and
  the raw header line) become one quiet line naming the error's class.

Third-party loggers that would print a bot token (httpx logs request URLs), update
contents (python-telegram-bot at DEBUG) or migration chatter (Alembic) are held at
WARNING, and the access log is off.
"""

from __future__ import annotations

import contextvars
import logging
import re
import secrets
import traceback
from types import TracebackType
from typing import IO

_correlation: contextvars.ContextVar[str] = contextvars.ContextVar("correlation", default="-")
_QUIET = (
    "httpx", "httpcore", "telegram", "apscheduler", "aiohttp.access", "asyncio", "aiosqlite",
    "alembic",
)
# aiohttp's loggers for connection-level trouble: a malformed request is the client's
# fault, worth one quiet line and never its bytes or address.
_AIOHTTP = ("aiohttp.server", "aiohttp.web", "aiohttp.websocket", "aiohttp.client")
REMOVED = "[removed]"
_SCRUB = (
    re.compile(r"'[^'\n]*'|\"[^\"\n]*\""),  # anything quoted
    re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b"),  # IPv4 (and port)
    re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])"),  # IPv6
    re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"),  # e-mail
    re.compile(r"-?\d{5,}"),  # ids
    re.compile(r"\b[A-Za-z0-9_-]{20,}\b"),  # tokens, hashes, pseudonyms
)
_SQL = re.compile(r"\[SQL: (.*?)\]", re.DOTALL)
# A string argument is kept only when it looks like a name we chose (a class, a state, a
# path, a correlation id): one word, no spaces. Anything else may be someone's words.
_PLAIN_ARGUMENT = re.compile(r"[\w./:-]{0,80}")


class Configured(str):
    """A log argument that comes from the operator's configuration (a listen address, a
    config file's path), never from a person: the privacy filter shows it unchanged."""

    __slots__ = ()


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


def scrub(text: str) -> str:
    """`text` without quotes, addresses, ids or tokens."""
    for pattern in _SCRUB:
        text = pattern.sub(REMOVED, text)
    return text


def _exception_line(error: BaseException) -> str:
    sql = _SQL.search(str(error)) if "sqlalchemy" in type(error).__module__ else None
    name = type(error).__qualname__
    return f"{name}: [SQL: {scrub(sql.group(1))}]" if sql else name


def format_traceback(error: BaseException, tb: TracebackType | None) -> str:
    """The traceback of `error` and its causes, each exception named by its class only."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    chain: list[BaseException] = []
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(current)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    for index, link in enumerate(reversed(chain)):
        if index:
            parts.append("The above exception led to this one:\n")
        frames = traceback.format_tb(link.__traceback__ if link is not error else tb)
        parts.append("Traceback (most recent call last):\n" + "".join(frames))
        parts.append(_exception_line(link) + "\n")
    return "".join(parts).rstrip("\n")


def _argument(value: object, kept: list[str]) -> object:
    if isinstance(value, bool | int | float) or value is None:
        return value
    if isinstance(value, Configured):
        kept.append(str(value))
        return f"\x00{len(kept) - 1}\x00"
    text = str(value)
    return text if _PLAIN_ARGUMENT.fullmatch(text) else REMOVED


class PrivacyFilter(logging.Filter):
    """The one filter every line we write passes: see the module's docstring."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation = _correlation.get()
        if record.name.startswith(_AIOHTTP):
            error = record.exc_info[1] if record.exc_info else None
            what = type(error).__qualname__ if error is not None else "connection trouble"
            record.msg, record.args = f"bad request from a client: {what}", ()
            record.exc_info, record.exc_text, record.stack_info = None, None, None
            record.levelno, record.levelname = logging.INFO, "INFO"
            return True
        kept: list[str] = []
        if isinstance(record.args, tuple):
            record.args = tuple(_argument(a, kept) for a in record.args)
        elif record.args:
            record.args = {k: _argument(v, kept) for k, v in record.args.items()}
        message = scrub(record.getMessage())
        for index, value in enumerate(kept):
            message = message.replace(f"\x00{index}\x00", value)
        record.msg, record.args = message, ()
        if record.exc_info and record.exc_info[1] is not None:
            _, error, tb = record.exc_info
            record.exc_text = format_traceback(error, tb)
            record.exc_info = None
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


def configure(level: str = "INFO", stream: IO[str] | None = None) -> None:
    """Install our handler on the root logger (once; `stream` defaults to stderr) and hold
    noisy loggers at WARNING."""
    root = logging.getLogger()
    ours = [h for h in root.handlers if isinstance(h, _SnakkesHandler)]
    if not ours:
        handler = _SnakkesHandler(stream)
        handler.addFilter(_ThirdPartyWithoutDetails())
        handler.addFilter(PrivacyFilter())
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
