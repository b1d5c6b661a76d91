"""Polling through snakkes's own getUpdates loop: an update python-telegram-bot cannot parse
is set aside and the loop goes on, and nothing of any update reaches the log."""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, select

from bot import logs
from storage.models import InboxUpdate
from tests.botapi import BotApiDouble
from tests.conftest import fresh_postgres_database
from tests.e2e.conftest import StartSnakkes
from tests.e2e.helpers import outbox_settled
from tests.e2e.webchat import eventually

SECRET_TEXT = "mit hemmelige navn er Rasmus Klump"


@pytest.fixture
def service_log() -> Iterator[io.StringIO]:
    """The log as `snakkes run` writes it (bot.logs.configure, at DEBUG), into a buffer;
    the logging set-up is put back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    quiet = {name: logging.getLogger(name).level for name in ("telegram", "httpx", "aiohttp")}
    buffer = io.StringIO()
    logs.configure("DEBUG", stream=buffer)
    try:
        yield buffer
    finally:
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)
        for name, was in quiet.items():
            logging.getLogger(name).setLevel(was)


async def test_an_unparseable_update_is_set_aside_and_the_ones_after_it_are_handled(
    double: BotApiDouble, start_snakkes: StartSnakkes, service_log: io.StringIO,
    database_url: str,
) -> None:
    ada = double.user("Adelheid", username="adelheid_secret", language_code="da")
    bo = double.user("Bodil", username="bodil_secret", language_code="da")
    double.send_text(ada, SECRET_TEXT)
    broken = {
        "message": {
            "message_id": 77,
            "from": 424242,  # a number where Telegram's User object belongs
            "chat": ada.private_chat_json(),
            "date": int(time.time()),
            "text": f"{SECRET_TEXT} igen",
        }
    }
    broken_id = double.inject(broken)
    double.send_text(bo, SECRET_TEXT)
    double.send_command(ada, "/help")
    snakkes = await start_snakkes(database_url=database_url)
    await double.wait_for_messages(ada, count=2, timeout=10)  # before and after it
    await double.wait_for_messages(bo, timeout=10)
    assert not [u for u in double.pending_updates if u["update_id"] == broken_id]
    database = snakkes.service.database

    async def only_the_broken_one_left() -> bool:
        async with database.session() as session:
            rows = (await session.scalars(select(InboxUpdate))).all()
        return [(row.update_id, row.sealed_update) for row in rows] == [(broken_id, None)]

    await eventually(only_the_broken_one_left)  # handled updates leave the inbox
    logged = service_log.getvalue()
    assert "set aside" in logged
    for secret in ("Rasmus Klump", "Adelheid", "Bodil", "adelheid_secret", "424242",
                   str(ada.id), str(bo.id)):
        assert secret not in logged, secret


async def test_updates_fetched_while_running_are_handled_once_and_leave_with_their_turn(
    double: BotApiDouble, start_snakkes: StartSnakkes, service_log: io.StringIO,
    database_url: str,
) -> None:
    """Once the inbox has caught up, a fetched batch goes to the handlers as fetched (the
    inbox is not read back), each update is handled once, and a text's inbox row is
    deleted in its turn's transaction, not by a transaction of its own afterwards. An
    unparseable update in such a batch is still set aside, and what follows is handled."""
    snakkes = await start_snakkes(database_url=database_url)
    people = [double.user(f"P{n}", language_code="da") for n in range(8)]
    for person in people:
        double.send_command(person, "/start")
    for person in people:
        await double.wait_for_messages(person, timeout=10)
    database = snakkes.service.database
    seen: list[str] = []

    def statement(_conn: object, _cursor: object, text: str, *_args: object) -> None:
        if "telegram_inbox" in text or "processed_updates" in text:
            seen.append(" ".join(text.split()))

    event.listen(database.engine.sync_engine, "before_cursor_execute", statement)
    try:
        for person in people:
            double.send_text(person, "jeg føler mig alene")
        broken_id = double.inject({"message": {"message_id": 78, "from": 7, "text": "x"}})
        double.send_text(people[0], "hej igen")

        async def all_handled() -> bool:
            async with database.session() as session:
                rows = (await session.scalars(select(InboxUpdate))).all()
            left = [(row.update_id, row.sealed_update) for row in rows]
            return left == [(broken_id, None)] and len(double.messages_to(people[0])) >= 3

        await eventually(all_handled)
        for person in people:
            assert len(double.messages_to(person)) >= 2  # /start's answer and the text's
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", statement)
    # On PostgreSQL the claim and the row's deletion are one statement (data-modifying CTEs
    # of the arrival's read); on SQLite a statement each.
    claims = [s for s in seen if "INSERT INTO processed_updates" in s]
    assert len(claims) == len(people) + 1  # each text once, none handled twice
    # Each text's row went with its turn (one row by its id), none in a batch afterwards.
    deletions = [s for s in seen if "DELETE FROM telegram_inbox" in s]
    assert not [s for s in deletions if s.startswith("DELETE FROM telegram_inbox") and " IN " in s]
    assert len(deletions) == len(claims)
    assert "set aside" in service_log.getvalue()


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_a_polled_turn_commits_unflushed_and_a_webhook_turn_durably(
    double: BotApiDouble, start_snakkes: StartSnakkes, postgres_template: str, mode: str
) -> None:
    """PostgreSQL. A polled update is stored durably before its offset confirms it, so its
    turn may commit without waiting for the flush (a crash of the database that forgets the
    turn leaves the stored update to be handled again: nothing lost). A webhook's update has
    nothing durable behind it but the turn (the 200 promises it): its turn commits as
    durably as ever. Read at each turn's commit, on the service's own connections."""
    async with fresh_postgres_database(template=postgres_template) as url:
        snakkes = await start_snakkes(database_url=url, telegram_mode=mode)
        if mode == "webhook":
            double.pump_webhook()
        people = [double.user(f"Q{n}", language_code="da") for n in range(4)]
        engine = snakkes.service.database.engine.sync_engine
        turns: set[int] = set()  # connections whose transaction claimed an update
        commits: list[str] = []  # synchronous_commit at each turn's commit

        def statement(connection: Any, _cursor: object, text: str, *_args: object) -> None:
            if "INSERT INTO processed_updates" in text:
                turns.add(id(connection))

        def committed(connection: Any) -> None:
            if id(connection) in turns:
                turns.discard(id(connection))
                commits.append(connection.exec_driver_sql("SHOW synchronous_commit").scalar())

        event.listen(engine, "before_cursor_execute", statement)
        event.listen(engine, "commit", committed)
        try:
            for person in people:
                double.send_command(person, "/start")
                double.send_text(person, "jeg føler mig alene")
            for person in people:
                await double.wait_for_messages(person, count=2, timeout=15)
            await outbox_settled(snakkes.service.database)
        finally:
            event.remove(engine, "before_cursor_execute", statement)
            event.remove(engine, "commit", committed)
            await snakkes.stop()
    expected = "off" if mode == "polling" else "on"
    assert commits == [expected] * len(commits), commits
    assert len(commits) == 2 * len(people)
