"""Errors are logged with their traceback, through one filter that removes message text,
identifiers and addresses (bot/logs.py)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from sqlalchemy.exc import IntegrityError

from bot import logs
from storage.db import Database
from storage.models import Coordinator
from storage.types import utcnow

MARKER = "jeg er så ensom i aften"
TELEGRAM_ID = 5551234567
ADDRESS = "203.0.113.77"
TOKEN = "q3Zr8vKXfL0m2nT6yWbC1dE4gH7jP9sU5aR0oI2uY8w"


@pytest.fixture
def written() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    root.handlers[:] = [h for h in handlers if type(h).__name__ != "_SnakkesHandler"]
    stream = io.StringIO()
    logs.configure("DEBUG")  # as `snakkes run` does; then its handler writes to `stream`
    for handler in root.handlers:
        if type(handler).__name__ == "_SnakkesHandler":
            handler.setStream(stream)  # type: ignore[attr-defined]
    try:
        yield stream
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def _assert_clean(text: str) -> None:
    for secret in (MARKER, "ensom", str(TELEGRAM_ID), ADDRESS, TOKEN):
        assert secret not in text, f"{secret!r} was logged"


def _handle_message(text: str, chat_id: int) -> None:
    try:
        int(text)
    except ValueError as error:
        raise RuntimeError(f"could not handle {text} for chat {chat_id} from {ADDRESS}") from error


def test_an_error_is_logged_with_its_traceback_and_nothing_else(written: io.StringIO) -> None:
    log = logging.getLogger("snakkes.test")
    try:
        _handle_message(MARKER, TELEGRAM_ID)
    except RuntimeError:
        log.exception("update failed for %s (%d) at %s, token %s", MARKER, TELEGRAM_ID,
                      ADDRESS, TOKEN)
    text = written.getvalue()
    _assert_clean(text)
    assert "Traceback (most recent call last)" in text
    assert "in _handle_message" in text  # where it happened
    assert "test_logs.py" in text
    assert "ValueError" in text  # the cause, by class
    assert "RuntimeError" in text
    assert "update failed for" in text


async def test_a_database_error_keeps_its_sql_and_loses_its_parameters(
    database: Database, written: io.StringIO
) -> None:
    log = logging.getLogger("snakkes.test")
    for _ in range(2):  # the second breaks the unique name
        try:
            async with database.session() as session, session.begin():
                session.add(Coordinator(name=MARKER, org_slug="example", password_hash=TOKEN,
                                        created_at=utcnow()))
        except IntegrityError:
            log.exception("could not add a coordinator")
    text = written.getvalue()
    _assert_clean(text)
    assert "IntegrityError: [SQL: INSERT INTO coordinators" in text
    assert "Traceback" in text


def test_the_operators_own_settings_are_shown_but_a_persons_words_beside_them_are_not(
    written: io.StringIO,
) -> None:
    # Start-up lines used to read "web on http://[removed]/": the listen address and the
    # config path are the operator's, marked Configured; everything else is scrubbed as
    # before, in the same line.
    logging.getLogger("snakkes.test").info(
        "starting (config: %s); web on %s; last text %s from %s",
        logs.Configured("/etc/snakkes/config.toml"), logs.Configured("http://127.0.0.1:8080/"),
        MARKER, ADDRESS,
    )
    text = written.getvalue()
    assert "config: /etc/snakkes/config.toml" in text
    assert "web on http://127.0.0.1:8080/" in text
    _assert_clean(text)
