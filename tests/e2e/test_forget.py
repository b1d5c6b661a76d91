"""/forget erases every row about the person, after one confirmation; SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Table, func, select

from storage.db import Database
from storage.models import Base, Participant
from tests.botapi import BotApiDouble, FakeUser
from tests.e2e.conftest import Snakkes, StartSnakkes
from tests.e2e.helpers import outbox_settled


async def rows_about(database: Database, participant_id: int) -> dict[str, int]:
    """Rows about one person: their `participants` row and every row pointing at it."""
    counts: dict[str, int] = {}
    await outbox_settled(database)
    async with database.session() as session:
        for table in Base.metadata.sorted_tables:
            if table.name == "participants":
                where = table.c.id == participant_id
            elif _refers_to_participants(table):
                where = table.c.participant_id == participant_id
            else:
                continue
            query = select(func.count()).select_from(table).where(where)
            counts[table.name] = int(await session.scalar(query) or 0)
    return counts


async def participant_id(snakkes: Snakkes, person: FakeUser) -> int:
    pseudonym = snakkes.service.core.keyring.pseudonym("telegram", str(person.id))
    async with snakkes.service.database.session() as session:
        found = await session.scalar(
            select(Participant.id).where(Participant.pseudonym == pseudonym)
        )
    assert found is not None
    return found


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
    ada_id, bo_id = await participant_id(snakkes, ada), await participant_id(snakkes, bo)
    bo_before = await rows_about(database, bo_id)

    double.send_command(ada, "/forget")
    [question] = await double.wait_for_messages(ada.chat_id)
    assert question.labels() == ["Ja, slet alt", "Nej, behold det"]
    before = await rows_about(database, ada_id)
    assert before["participants"] == 1
    assert before["pending_erasures"] == 1
    assert before["conversation_states"] == 1

    double.press(ada, question, question.button("Ja"))
    [done] = await double.wait_for_messages(ada.chat_id)
    assert "alt om dig slettet" in done.text

    assert set((await rows_about(database, ada_id)).values()) == {0}
    assert await rows_about(database, bo_id) == bo_before  # nobody else is touched

    # A second press of the old button (from a device still showing it) erases nothing
    # more, does not bring Ada back, and says so kindly.
    double.press(ada, question, question.button("Ja"), allow_unknown=True)
    [stale] = await double.wait_for_messages(ada.chat_id)
    assert "ikke aktiv" in stale.text
    async with database.session() as session:
        assert await session.scalar(select(func.count()).select_from(Participant)) == 1


async def test_forget_can_be_declined(double: BotApiDouble, start_snakkes: StartSnakkes) -> None:
    snakkes = await start_snakkes()
    ada = double.user(language_code="da")
    await _talk(double, ada)
    double.send_command(ada, "/forget")
    [question] = await double.wait_for_messages(ada.chat_id)
    double.press(ada, question, question.button("Nej"))
    [kept] = await double.wait_for_messages(ada.chat_id)
    assert kept.text == "Okay, jeg har ikke slettet noget."
    counts = await rows_about(snakkes.service.database, await participant_id(snakkes, ada))
    assert counts["participants"] == 1
    assert counts["pending_erasures"] == 0
