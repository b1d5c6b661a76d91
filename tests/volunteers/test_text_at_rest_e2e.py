"""Text lives only as long as the design says, and only sealed: relayed messages, notes and
web chat messages waiting for their browser are sealed with the secret key while they
live; after each kind of ending neither the words nor even their sealed form is left in
the SQLite file or its write-ahead log (secure_delete, and a checkpoint after deleting)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text

from bot.webchat.channel import CHANNEL
from dialogues.messages import Outbound
from storage import participants
from tests.botapi import BotApiDouble, FakeUser
from tests.e2e.conftest import Snakkes
from tests.e2e.disk import database_bytes
from tests.e2e.webchat import WebClient, choice_data, web_outbox
from tests.volunteers.helpers import ask_for_human, handovers, onboard, runner, tap, to_menu

NOTE = "Notemarkoer plum kvaede 4711"
YOUNG = "Ungmarkoer jeg sover daarligt 0815"
VOLUNTEER = "Frivilligmarkoer godt du skrev 2323"
WAITING = "Ventemarkoer et tjek ind til dig 9090"


async def _sealed_values(snakkes: Snakkes) -> list[str]:
    """What the text columns hold, read past the column type: the stored form."""
    found: list[str] = []
    async with snakkes.service.database.session() as session:
        for query in ("SELECT text FROM relay_messages", "SELECT note FROM handovers",
                      "SELECT handback_note FROM handovers", "SELECT text FROM webchat_messages"):
            found += [row[0] for row in (await session.execute(text(query))).all() if row[0]]
    return found


def _on_disk(tmp_path: Path) -> bytes:
    return database_bytes(tmp_path / "var")


async def _live_conversation(
    double: BotApiDouble, snakkes: Snakkes, tmp_path: Path
) -> tuple[FakeUser, FakeUser, list[str]]:
    maria = await onboard(double, snakkes, "Maria")
    ada = double.user("Ada", language_code="da")
    await ask_for_human(double, ada, note=NOTE)
    [notice] = await double.wait_for_messages(maria)
    await tap(double, maria, notice, "vt:take:")
    await double.wait_for_messages(ada)
    double.send_text(ada, YOUNG)
    await double.wait_for_messages(maria)
    double.send_text(maria, VOLUNTEER)
    await double.wait_for_messages(ada)
    sealed = await _sealed_values(snakkes)
    assert len(sealed) == 3  # the note and the two messages
    assert all(value.startswith("s1.") for value in sealed)
    stored = _on_disk(tmp_path)
    for marker in (NOTE, YOUNG, VOLUNTEER):
        assert marker.encode() not in stored, "text is stored in the clear"
    return maria, ada, sealed


async def _assert_gone(snakkes: Snakkes, tmp_path: Path, sealed: list[str]) -> None:
    """While the service runs (as a copy of var/ taken now would be): once it has scrubbed
    the write-ahead log, nothing of the text is left in the file or the log."""
    database = snakkes.service.database
    database.scrubbed.clear()
    if database.text_removed:
        await asyncio.wait_for(database.scrubbed.wait(), 10)
    stored = _on_disk(tmp_path)
    for marker in (NOTE, YOUNG, VOLUNTEER, WAITING):
        assert marker.encode() not in stored
    for value in sealed:
        assert value.encode() not in stored, "the sealed text is still in the file or its WAL"


async def test_sqlite_overwrites_what_it_deletes(snakkes: Snakkes) -> None:
    async with snakkes.service.database.engine.connect() as connection:
        assert (await connection.exec_driver_sql("PRAGMA secure_delete")).scalar() == 1


async def test_a_conversation_the_volunteer_ends(
    double: BotApiDouble, snakkes: Snakkes, tmp_path: Path
) -> None:
    maria, _ada, sealed = await _live_conversation(double, snakkes, tmp_path)
    double.send_command(maria, "/end")
    await double.wait_for_messages(maria, 2)
    assert await _sealed_values(snakkes) == []
    await _assert_gone(snakkes, tmp_path, sealed)


async def test_a_conversation_the_young_person_erases(
    double: BotApiDouble, snakkes: Snakkes, tmp_path: Path
) -> None:
    _maria, ada, sealed = await _live_conversation(double, snakkes, tmp_path)
    async with snakkes.service.database.session() as session, session.begin():
        found = await participants.arrive(
            session, snakkes.service.core.keyring, channel="telegram",
            channel_user_id=str(ada.id), address=str(ada.chat_id), language="da",
            create=False,
        )
        assert found is not None
        await participants.erase(session, found.participant.id)
    await _assert_gone(snakkes, tmp_path, sealed)


async def test_an_abandoned_draft_goes_with_its_note(
    double: BotApiDouble, snakkes: Snakkes, tmp_path: Path
) -> None:
    await onboard(double, snakkes, "Vera", available=False)  # registered, not on duty
    ada = double.user("Ada", language_code="da")
    menu = await to_menu(double, ada)
    [preview] = await tap(double, ada, menu, "f:menu.start.human")
    [_prompt] = await tap(double, ada, preview, "vq:note")
    double.send_text(ada, NOTE)
    [readback] = await double.wait_for_messages(ada)  # read back, never sent to the queue
    assert NOTE in readback.text
    sealed = await _sealed_values(snakkes)
    assert len(sealed) == 1
    await runner(snakkes).run_once()
    assert len(await handovers(snakkes)) == 1  # a person writing a note is given time
    snakkes.clock.advance(minutes=31)
    await runner(snakkes).run_once()
    assert await handovers(snakkes) == []
    await _assert_gone(snakkes, tmp_path, sealed)


async def test_a_web_chat_message_waits_no_longer_than_the_retention(
    double: BotApiDouble, snakkes: Snakkes, tmp_path: Path
) -> None:
    async with WebClient(snakkes.url) as client:
        await client.open_page()
        async with client.socket() as sock:
            [greeting], _ = await sock.say("/start")
            await sock.press(choice_data(greeting, "Okay"))
        key = client.session_key
    # A check-in for the person while the page is closed: it waits for them, sealed.
    outbox = web_outbox(snakkes.service)
    async with snakkes.service.database.session() as session:
        found = await participants.arrive(
            session, snakkes.service.core.keyring, channel=CHANNEL, channel_user_id=key,
            address=key, language="da", create=False,
        )
    assert found is not None
    await outbox.send(found.participant.id, Outbound(WAITING))
    sealed = await _sealed_values(snakkes)
    assert len(sealed) == 1
    assert WAITING.encode() not in _on_disk(tmp_path)
    await snakkes.service._maintain_once(snakkes.clock())
    assert len(await _sealed_values(snakkes)) == 1  # within the day it may wait
    await snakkes.service._maintain_once(snakkes.clock() + snakkes.service.webchat_wait)
    assert await _sealed_values(snakkes) == []
    await _assert_gone(snakkes, tmp_path, sealed)
