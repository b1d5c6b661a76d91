"""The console's rules on each database: one of two takes wins on SQLite and PostgreSQL;
the migration builds the console's tables as the models describe them; an organisation
without the Telegram console sends its volunteers to the browser; the safety net's alert
shows in the volunteer's console."""

from __future__ import annotations

import asyncio
import dataclasses

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from storage.db import Database
from storage.models import Base
from tests.botapi import BotApiDouble
from tests.console.conftest import EXAMPLE
from tests.console.helpers import (
    Volunteer,
    next_web_message,
    signed_up,
    web_young,
    web_young_to_queue,
)
from tests.e2e.conftest import Snakkes
from tests.volunteers.conftest import StartWith
from tests.volunteers.helpers import invite_code, runner


async def test_two_takes_at_once_one_wins_on_each_database(
    start_with: StartWith, database_url: str
) -> None:
    service = await start_with(EXAMPLE, database_url=database_url)
    volunteers = [await signed_up(service, alias) for alias in ("Sol", "Bo", "Liv")]
    try:
        async with web_young(service.url) as chat, volunteers[0].console() as one, \
                volunteers[1].console() as two, volunteers[2].console() as three:
            consoles = (one, two, three)
            await web_young_to_queue(chat)
            row = (await one.state(lambda s: len(s["queue"]) == 1))["queue"][0]["id"]
            for console in consoles:
                await console.move({"type": "available", "value": True})
            results = await asyncio.gather(
                *(console.move({"type": "take", "id": row}) for console in consoles)
            )
            assert sorted(r["ok"] for r in results) == [False, False, True]
            assert {r["code"] for r in results if not r["ok"]} == {"gone"}
            winners = [c for c, r in zip(consoles, results, strict=True) if r["ok"]]
            await winners[0].state(lambda s: len(s["talks"]) == 1)
            await next_web_message(chat, "er her nu")
    finally:
        for volunteer in volunteers:
            await volunteer.close()


async def test_the_migration_builds_what_the_models_describe(database: Database) -> None:
    mine = ("'console_sessions'", "'inbox_items'", "'canned_responses'", "'read_alongs'",
            "'password_hash'")

    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        return [
            diff for diff in compare_metadata(context, Base.metadata)
            if any(name in repr(diff) for name in mine)
        ]

    async with database.engine.connect() as connection:
        assert await connection.run_sync(differences) == []


async def test_without_the_telegram_console_volunteers_are_sent_to_the_browser(
    double: BotApiDouble, start_with: StartWith
) -> None:
    service = await start_with(dataclasses.replace(EXAMPLE, telegram_console=False))
    code = await invite_code(service)
    user = double.user("Vera", language_code="da")
    double.send_command(user, f"/volunteer {code}")
    [told] = await double.wait_for_messages(user)
    assert "/console" in told.text
    assert "ikke brugt" in told.text
    volunteer = Volunteer(service, "Vera")
    try:
        response = await volunteer.sign_up(code)
        assert response.status == 302  # the code still works in the browser
    finally:
        await volunteer.close()


async def test_the_safety_net_alert_shows_in_the_console(service: Snakkes) -> None:
    sol = await signed_up(service, "Sol")
    try:
        async with web_young(service.url) as chat, sol.console() as console:
            await web_young_to_queue(chat)
            await console.move({"type": "available", "value": True})
            row = (await console.state(lambda s: len(s["queue"]) == 1))["queue"][0]["id"]
            await console.move({"type": "take", "id": row})
            await next_web_message(chat, "er her nu")
            await chat.say("jeg vil ikke leve mere, jeg har samlet piller")
            state = await console.state(lambda s: any(t["alert"] for t in s["talks"]))
            talk = state["talks"][0]
            assert talk["card"]["crisis"] is True
            assert "Sikkerhedsnettet" in talk["alert"]
            assert "112" in talk["alert"]
            assert "samlet piller" in talk["lines"][-1]["text"]
    finally:
        await sol.close()


async def test_distress_shows_a_gentle_alert_with_the_direct_question(
    service: Snakkes,
) -> None:
    """Ambiguous words (the net's distress, not clear risk): the console shows the gentle
    alert with the suggested direct question; the card is not marked as a crisis."""
    sol = await signed_up(service, "Sol")
    try:
        async with web_young(service.url) as chat, sol.console() as console:
            await web_young_to_queue(chat)
            await console.move({"type": "available", "value": True})
            row = (await console.state(lambda s: len(s["queue"]) == 1))["queue"][0]["id"]
            await console.move({"type": "take", "id": row})
            await next_web_message(chat, "er her nu")
            await chat.say("jeg kan ikke mere")
            state = await console.state(lambda s: any(t["alert"] for t in s["talks"]))
            talk = state["talks"][0]
            assert talk["alert_kind"] == "distress"
            assert talk["card"]["crisis"] is False
            assert "Tænker du på selvmord" in talk["alert"]
            assert "Sikkerhedsnettet" not in talk["alert"]
            assert talk["lines"][-1]["text"] == "jeg kan ikke mere"
    finally:
        await sol.close()


async def test_a_quiet_conversation_is_marked_then_closed_into_a_debrief(
    service: Snakkes,
) -> None:
    sol = await signed_up(service, "Sol")
    try:
        async with web_young(service.url) as chat, sol.console() as console:
            await web_young_to_queue(chat)
            await console.move({"type": "available", "value": True})
            row = (await console.state(lambda s: len(s["queue"]) == 1))["queue"][0]["id"]
            await console.move({"type": "take", "id": row})
            await next_web_message(chat, "er her nu")
            service.clock.advance(minutes=31)
            await runner(service).run_once()
            await next_web_message(chat, "stadig")
            await console.state(lambda s: any(t["quiet"] for t in s["talks"]))
            service.clock.advance(minutes=11)
            await runner(service).run_once()
            state = await console.state(lambda s: not s["talks"] and bool(s["debriefs"]))
            assert state["debriefs"][0]["id"] == row
    finally:
        await sol.close()


async def test_two_instances_on_one_database(start_with: StartWith, database_url: str) -> None:
    """The young person's web chat on one instance, the volunteer's console on another:
    the queue and the words reach the console, and the volunteer's words the web chat."""
    # SQLite tells no other instance: the web chat's sweep brings the volunteer's words, a
    # second apart here (10 s by default). PostgreSQL's announcements must, at 10 s.
    sweep = "1" if database_url.startswith("sqlite") else "10"
    first = await start_with(EXAMPLE, database_url=database_url, telegram_token="",
                             web_sweep_seconds=sweep)
    second = await start_with(EXAMPLE, database_url=database_url, telegram_token="",
                              web_sweep_seconds=sweep)
    sol = await signed_up(second, "Sol")
    try:
        async with web_young(first.url) as chat, sol.console() as console:
            await web_young_to_queue(chat)
            state = await console.state(lambda s: len(s["queue"]) == 1)
            row = state["queue"][0]["id"]
            await console.move({"type": "available", "value": True})
            assert (await console.move({"type": "take", "id": row}))["ok"]
            # Another instance's message reaches the web chat on its next sweep.
            await next_web_message(chat, "er her nu", wait=15)
            await chat.say("hej fra den anden side")
            await console.state(lambda s: any(
                line["text"] == "hej fra den anden side"
                for t in s["talks"] for line in t["lines"]))
            await console.say(row, "hej tilbage")
            await next_web_message(chat, "Sol: hej tilbage", wait=15)
    finally:
        await sol.close()
