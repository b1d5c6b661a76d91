"""A handover survives a restart, and a young person blocking the bot ends it cleanly."""

from __future__ import annotations

import time

from storage import handover as store
from tests.botapi import BotApiDouble, FakeUser
from tests.e2e.conftest import TOKEN, Snakkes, StartSnakkes
from tests.volunteers.helpers import ask_for_human, handovers, onboard, runner, stat_events, tap


async def in_conversation(
    double: BotApiDouble, snakkes: Snakkes
) -> tuple[FakeUser, FakeUser]:
    maria = await onboard(double, snakkes, "Maria")
    ada = double.user("Ada", language_code="da")
    await ask_for_human(double, ada)
    [notice] = await double.wait_for_messages(maria)
    await tap(double, maria, notice, "vt:take:")
    await double.wait_for_messages(ada)
    return maria, ada


async def test_a_restart_mid_conversation_continues_it_and_both_are_told(
    double: BotApiDouble, snakkes: Snakkes
) -> None:
    maria, ada = await in_conversation(double, snakkes)
    double.send_text(ada, "før genstarten")
    await double.wait_for_messages(maria)

    await snakkes.restart()
    [told_ada] = await double.wait_for_messages(ada)
    [told_maria] = await double.wait_for_messages(maria)
    assert "intet gik tabt" in told_ada.text
    assert "Maria" in told_ada.text
    assert "intet gik tabt" in told_maria.text
    assert "Ung #" in told_maria.text

    double.send_text(ada, "efter genstarten")
    [relayed] = await double.wait_for_messages(maria)
    assert relayed.text.endswith(": efter genstarten")
    double.send_text(maria, "jeg er her stadig")
    [answer] = await double.wait_for_messages(ada)
    assert answer.text == "Maria: jeg er her stadig"
    [row] = await handovers(snakkes)
    assert row.status == store.ACTIVE
    async with snakkes.service.database.session() as session:
        assert len(await store.messages_of(session, row.id)) == 3


async def test_a_young_person_blocking_the_bot_ends_the_conversation_and_the_volunteer_is_told(
    double: BotApiDouble, snakkes: Snakkes
) -> None:
    maria, ada = await in_conversation(double, snakkes)
    double.block(ada)
    double.send_text(maria, "er du der?")
    told, debrief = await double.wait_for_messages(maria, 2)
    assert "har blokeret snakkes" in told.text
    assert "debrief" in debrief.text
    [row] = await handovers(snakkes)
    assert (row.status, row.ended_by) == (store.ENDED, "blocked")
    async with snakkes.service.database.session() as session:
        assert await store.messages_of(session, row.id) == []


async def test_a_waiting_young_person_who_blocks_the_bot_leaves_the_queue(
    double: BotApiDouble, snakkes: Snakkes
) -> None:
    await onboard(double, snakkes, "Vera", available=False)
    ada = double.user("Ada", language_code="da")
    await ask_for_human(double, ada)
    bot = {"id": int(TOKEN.split(":")[0]), "is_bot": True, "first_name": "snakkes"}
    double.inject({
        "my_chat_member": {
            "chat": ada.private_chat_json(),
            "from": ada.to_json(),
            "date": int(time.time()),
            "old_chat_member": {"status": "member", "user": bot},
            "new_chat_member": {"status": "kicked", "user": bot, "until_date": 0},
        }
    })
    # Updates are handled in order: once Bo has his answer, Ada's block was handled.
    bo = double.user("Bo", language_code="da")
    double.send_command(bo, "/start")
    await double.wait_for_messages(bo)
    await runner(snakkes).run_once()
    [row] = await handovers(snakkes)
    assert row.status == store.WITHDRAWN
    [left] = await stat_events(snakkes, "handover_left")
    assert left.detail == "blocked"


async def test_forget_mid_conversation_erases_it_and_the_volunteer_is_told(
    double: BotApiDouble, snakkes: Snakkes
) -> None:
    maria, ada = await in_conversation(double, snakkes)
    double.send_command(ada, "/forget")
    [confirm] = await double.wait_for_messages(ada)
    [done] = await tap(double, ada, confirm, "forget:yes:")
    assert "slettet" in done.text
    [told] = await double.wait_for_messages(maria)
    assert "er slut" in told.text
    assert await handovers(snakkes) == []
    [ended] = await stat_events(snakkes, "handover_ended")
    assert ended.detail == "young"


async def test_a_quiet_conversation_is_asked_about_then_closed_and_kept_text_is_pruned(
    double: BotApiDouble, start_snakkes: StartSnakkes
) -> None:
    snakkes = await start_snakkes(privacy_message_retention_hours="1")
    maria, ada = await in_conversation(double, snakkes)
    double.send_text(ada, "hej")
    await double.wait_for_messages(maria)

    snakkes.clock.advance(minutes=29)
    await runner(snakkes).run_once()
    [row] = await handovers(snakkes)
    assert row.idle_asked_at is None
    snakkes.clock.advance(minutes=2)
    await runner(snakkes).run_once()
    [asked] = await double.wait_for_messages(ada)
    assert "Er du her stadig?" in asked.text
    [asked] = await double.wait_for_messages(maria)
    assert "30 minutter" in asked.text

    snakkes.clock.advance(minutes=11)
    await runner(snakkes).run_once()
    goodbye, _ = await double.wait_for_messages(ada, 2)
    assert "er slut" in goodbye.text
    await double.wait_for_messages(maria, 2)
    [row] = await handovers(snakkes)
    assert (row.status, row.ended_by) == (store.ENDED, "idle")
    async with snakkes.service.database.session() as session:
        assert len(await store.messages_of(session, row.id)) == 1  # kept for the hour

    snakkes.clock.advance(minutes=61)
    await runner(snakkes).run_once()
    async with snakkes.service.database.session() as session:
        assert await store.messages_of(session, row.id) == []
