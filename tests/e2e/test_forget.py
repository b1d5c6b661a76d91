"""/forget erases every row about the person, after one confirmation; SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Table, func, select

from storage.db import Database
from storage.models import Base
from tests.botapi import BotApiDouble, FakeUser
from tests.e2e.conftest import StartSnakkes


async def rows_about_people(database: Database) -> dict[str, int]:
    """Rows in `participants` and in every table that points at a participant."""
    counts: dict[str, int] = {}
    async with database.session() as session:
        for table in Base.metadata.sorted_tables:
            if table.name == "participants" or _refers_to_participants(table):
                counts[table.name] = int(
                    await session.scalar(select(func.count()).select_from(table)) or 0
                )
    return counts


def _refers_to_participants(table: Table) -> bool:
    return any(fk.column.table.name == "participants" for fk in table.foreign_keys)


async def _talk(double: BotApiDouble, person: FakeUser) -> None:
    double.send_command(person, "/start")
    [greeting] = await double.wait_for_messages(person.chat_id)
    double.press(person, greeting, greeting.button("Okay"))
    await double.wait_for_messages(person.chat_id)
    double.send_text(person, "hej")
    await double.wait_for_messages(person.chat_id)


async def test_forget_erases_every_row_about_the_person(
    double: BotApiDouble, start_snakkes: StartSnakkes, database_url: str
) -> None:
    snakkes = await start_snakkes(database_url=database_url)
    database = snakkes.service.database
    ada, bo = double.user(language_code="da"), double.user(language_code="en")
    await _talk(double, ada)
    await _talk(double, bo)

    double.send_command(ada, "/forget")
    [question] = await double.wait_for_messages(ada.chat_id)
    assert question.labels() == ["Ja, slet alt", "Nej, behold det"]
    before = await rows_about_people(database)
    assert before["participants"] == 2
    assert before["pending_erasures"] == 1

    double.press(ada, question, question.button("Ja"))
    [done] = await double.wait_for_messages(ada.chat_id)
    assert "alt om dig slettet" in done.text

    after = await rows_about_people(database)
    assert after["participants"] == 1  # only Bo is left
    assert sum(after.values()) == sum(before.values()) - 2

    # A second press of the old button (from a device still showing it) erases nothing
    # more, does not bring Ada back, and says so kindly.
    double.press(ada, question, question.button("Ja"), allow_unknown=True)
    [stale] = await double.wait_for_messages(ada.chat_id)
    assert "ikke aktiv" in stale.text
    assert (await rows_about_people(database))["participants"] == 1  # not brought back by a button


async def test_forget_can_be_declined(double: BotApiDouble, start_snakkes: StartSnakkes) -> None:
    snakkes = await start_snakkes()
    ada = double.user(language_code="da")
    await _talk(double, ada)
    double.send_command(ada, "/forget")
    [question] = await double.wait_for_messages(ada.chat_id)
    double.press(ada, question, question.button("Nej"))
    [kept] = await double.wait_for_messages(ada.chat_id)
    assert kept.text == "Okay, jeg har ikke slettet noget."
    counts = await rows_about_people(snakkes.service.database)
    assert counts == {**counts, "participants": 1, "pending_erasures": 0}
