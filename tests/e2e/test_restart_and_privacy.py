"""State lives in the database, not in the process; and nothing identifying is stored or
logged."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from bot import logs
from tests.botapi import BotApiDouble
from tests.e2e.conftest import Snakkes, StartSnakkes
from tests.e2e.disk import database_bytes, find_identifier, forms_of, sqlite_varint


async def test_language_and_consent_survive_a_restart(
    double: BotApiDouble, snakkes: Snakkes
) -> None:
    ada = double.user(language_code="da")
    double.send_command(ada, "/start")
    [greeting] = await double.wait_for_messages(ada.chat_id)
    double.press(ada, greeting, greeting.button("Okay"))
    await double.wait_for_messages(ada.chat_id)
    double.send_command(ada, "/language")
    [prompt] = await double.wait_for_messages(ada.chat_id)
    double.press(ada, prompt, prompt.button("English"))
    await double.wait_for_messages(ada.chat_id)

    await snakkes.restart()

    double.send_command(ada, "/start")
    greeting_again, menu = await double.wait_for_messages(ada.chat_id, count=2)
    # English, and consent is not asked twice.
    assert greeting_again.text.startswith("Hi again 👋 I'm still snakkes – a bot")
    assert menu.text == "What would you like?"
    assert "Okay, that's fine" not in menu.labels()


async def test_no_telegram_id_name_or_username_in_the_database_or_the_logs(
    double: BotApiDouble,
    start_snakkes: StartSnakkes,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    logs.configure("DEBUG")  # as `snakkes run` does, at the most talkative level
    caplog.set_level(logging.DEBUG)
    try:
        await _talk_and_scan(double, start_snakkes, tmp_path, caplog)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


async def _talk_and_scan(
    double: BotApiDouble,
    start_snakkes: StartSnakkes,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    snakkes = await start_snakkes()
    people = [
        double.user(first_name="Zeynep", username="zeynep_k_2009", language_code="da"),
        double.user(first_name="Oliver", username="oliver_uk_77", language_code="en"),
    ]
    for person in people:
        double.send_command(person, "/start")
        [greeting] = await double.wait_for_messages(person.chat_id)
        double.press(person, greeting, greeting.button("Okay"))
        await double.wait_for_messages(person.chat_id)
        double.send_text(person, "jeg er så ensom i aften")
        double.send_kind(person, "photo")
        double.send_command(person, "/forget")
        await double.wait_for_messages(person.chat_id, count=3)
    group = double.group_text(people[0], "hej alle")
    assert group
    await double.wait_for_call("sendMessage", predicate=lambda c: c.params["chat_id"] < 0)
    await snakkes.stop()

    stored = database_bytes(tmp_path / "var")
    log_text = "\n".join(f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records)
    assert caplog.records, "the service should have logged something"
    for person in people:
        found = find_identifier(stored, person.id)
        assert found == [], f"the Telegram id is in the database as {found}"
        for secret in (str(person.id), person.first_name, person.username or ""):
            assert secret.encode() not in stored, f"{secret!r} is in the database"
            assert secret not in log_text, f"{secret!r} is in the logs"
    assert "ensom" not in log_text, "message text must never be logged"
    assert b"ensom" not in stored, "free text is not kept"


def test_the_scan_finds_an_id_in_every_form_sqlite_stores_it(tmp_path: Path) -> None:
    """The scan above is worth something only if it would see a leak: SQLite keeps an
    integer column in binary and a row id as a varint, never as ASCII digits."""
    assert sqlite_varint(0) == b"\x00"
    assert sqlite_varint(127) == b"\x7f"
    assert sqlite_varint(128) == b"\x81\x00"
    assert sqlite_varint(-1) == b"\xff" * 9
    telegram_id, chat_id, row_id = 7_000_000_123, 6_000_000_456, 5_000_000_789
    path = tmp_path / "leak.db"
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, chat INTEGER)")
        connection.execute("INSERT INTO t VALUES (?, ?)", (row_id, telegram_id))
        connection.execute("CREATE TABLE u (chat BLOB)")
        connection.execute("INSERT INTO u VALUES (?)", (chat_id.to_bytes(8, "little"),))
    stored = database_bytes(tmp_path, "leak.db")
    for identifier in (telegram_id, chat_id, row_id):
        assert str(identifier).encode() not in stored  # what the old scan looked for
        assert find_identifier(stored, identifier), identifier
    assert "6-byte big-endian" in find_identifier(stored, telegram_id)
    assert "varint" in find_identifier(stored, row_id)
    assert "8-byte little-endian" in find_identifier(stored, chat_id)
    assert set(forms_of(7)) >= {"ascii", "varint", "4-byte big-endian", "8-byte little-endian"}
