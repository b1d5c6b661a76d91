"""The safety net inside a conversation with a volunteer: the bot never breaks in. The
volunteer is alerted (crisis lines, a suggested direct question) and gets the words; the
young person hears only the volunteer."""

from __future__ import annotations

from tests.botapi import BotApiDouble, FakeUser
from tests.e2e.conftest import Snakkes
from tests.volunteers.helpers import ask_for_human, handovers, onboard, say, stat_events, tap


async def _connected(
    double: BotApiDouble, snakkes: Snakkes, language: str
) -> tuple[FakeUser, FakeUser]:
    volunteer = await onboard(double, snakkes, "Maria", language=language)
    young = double.user("Ada", language_code=language)
    await ask_for_human(double, young)
    [notice] = await double.wait_for_messages(volunteer)
    await tap(double, volunteer, notice, "vt:take:")
    await double.wait_for_messages(young)  # "Maria ... is here now"
    return volunteer, young


async def test_clear_risk_alerts_the_volunteer_and_the_bot_says_nothing(
    double: BotApiDouble, snakkes: Snakkes
) -> None:
    maria, ada = await _connected(double, snakkes, "da")
    before = len(double.messages_to(ada))
    double.send_text(ada, "jeg vil slå mig selv ihjel i nat")
    alert, words = await double.wait_for_messages(maria, 2)
    assert "Sikkerhedsnettet reagerede" in alert.text
    assert "Jeg har ikke skrevet noget" in alert.text
    assert "Er du i sikkerhed lige nu?" in alert.text  # a suggested direct question
    assert "Livslinien: 70 201 201" in alert.text
    assert "jeg vil slå mig selv ihjel i nat" in words.text
    # The volunteer answers; the young person receives that and nothing from the bot.
    await say(double, maria, "Tak fordi du siger det. Er du i sikkerhed lige nu?", count=0)
    [reply] = await double.wait_for_messages(ada)
    assert reply.text.startswith("Maria:")
    assert len(double.messages_to(ada)) == before + 1
    [row] = await handovers(snakkes)
    assert row.crisis
    assert row.status == "active"
    assert [e.detail for e in await stat_events(snakkes, "crisis")] == ["suicide"]


async def test_a_split_thought_in_a_conversation_alerts_the_volunteer_only(
    double: BotApiDouble, snakkes: Snakkes
) -> None:
    sam, bo = await _connected(double, snakkes, "en")
    before = len(double.messages_to(bo))
    double.send_text(bo, "i just want to")
    [words] = await double.wait_for_messages(sam)
    assert "i just want to" in words.text
    double.send_text(bo, "die")
    alert, words = await double.wait_for_messages(sam, 2)
    assert "The safety net reacted" in alert.text
    assert "die" in words.text
    await say(double, sam, "I'm here. Are you safe right now?", count=0)
    [reply] = await double.wait_for_messages(bo)
    assert reply.text.startswith("Maria:")
    assert len(double.messages_to(bo)) == before + 1
