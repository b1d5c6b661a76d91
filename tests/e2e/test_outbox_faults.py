"""Nothing said is lost: with Telegram failing the way it and networks do (3 × 502, a time-out
where the message never arrived, a time-out where it did), a crisis answer, a relayed message
and a volunteer's crisis alert each arrive, in polling and in webhook mode; exactly once where
Telegram answered, at least once after a time-out."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from storage.models import OutboxMessage
from tests.botapi import BotApiDouble, FakeUser
from tests.e2e.conftest import Snakkes, StartSnakkes
from tests.e2e.helpers import outbox_settled
from tests.volunteers.helpers import ask_for_human, onboard, tap

CRISIS_TEXT = "jeg orker ikke at leve mere"
SEND_TIMEOUT = 1  # seconds; the double stalls longer than this

Fault = Callable[[BotApiDouble, int], None]


def bad_gateway(double: BotApiDouble, chat_id: int) -> None:
    double.fail_next("sendMessage", 502, count=3, chat_id=chat_id)


def lost_on_the_way(double: BotApiDouble, chat_id: int) -> None:
    double.stall_next("sendMessage", SEND_TIMEOUT + 1, delivered=False, chat_id=chat_id)


def answer_lost(double: BotApiDouble, chat_id: int) -> None:
    double.stall_next("sendMessage", SEND_TIMEOUT + 1, delivered=True, chat_id=chat_id)


FAULTS = {"3x502": bad_gateway, "timeout-not-delivered": lost_on_the_way,
          "timeout-delivered": answer_lost}


async def start(start_snakkes: StartSnakkes, double: BotApiDouble, mode: str) -> Snakkes:
    snakkes = await start_snakkes(
        telegram_mode=mode, delivery_send_timeout_seconds=str(SEND_TIMEOUT)
    )
    if mode == "webhook":
        double.pump_webhook()
    return snakkes


def texts_to(double: BotApiDouble, user: FakeUser) -> list[str]:
    return [m.text for m in double.messages_to(user)]


def copies(texts: list[str], expected: str, fault: str) -> None:
    """Exactly one copy where Telegram answered; one or two after a lost answer."""
    found = sum(1 for text in texts if expected in text)
    if fault == "timeout-delivered":
        assert found in (1, 2), texts
    else:
        assert found == 1, texts


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_a_crisis_answer_arrives_through_failures(
    double: BotApiDouble, start_snakkes: StartSnakkes, mode: str, fault: str
) -> None:
    snakkes = await start(start_snakkes, double, mode)
    ada = double.user(language_code="da")
    FAULTS[fault](double, ada.chat_id)
    double.send_text(ada, CRISIS_TEXT)
    [answer] = await double.wait_for_messages(ada, timeout=20)
    assert "Livslinien: 70 201 201" in answer.text
    await outbox_settled(snakkes.service.database)
    copies(texts_to(double, ada), "Livslinien: 70 201 201", fault)


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_a_relayed_message_and_a_crisis_alert_arrive_through_failures(
    double: BotApiDouble, start_snakkes: StartSnakkes, mode: str, fault: str
) -> None:
    snakkes = await start(start_snakkes, double, mode)
    maria = await onboard(double, snakkes, "Maria")
    ada = double.user("Ada", language_code="da")
    await ask_for_human(double, ada)
    [notice] = await double.wait_for_messages(maria)
    await tap(double, maria, notice, "vt:take:")
    await double.wait_for_messages(ada)

    FAULTS[fault](double, maria.chat_id)
    double.send_text(ada, "er du der?")
    [relayed] = await double.wait_for_messages(maria, timeout=20)
    assert relayed.text.endswith(": er du der?")
    await outbox_settled(snakkes.service.database)
    copies(texts_to(double, maria), ": er du der?", fault)

    before = len(double.messages_to(maria))
    FAULTS[fault](double, maria.chat_id)
    FAULTS[fault](double, ada.chat_id)
    double.send_text(ada, CRISIS_TEXT)
    [answer] = await double.wait_for_messages(ada, timeout=20)
    assert "Livslinien: 70 201 201" in answer.text
    await outbox_settled(snakkes.service.database)
    to_maria = texts_to(double, maria)[before:]
    copies(to_maria, f": {CRISIS_TEXT}", fault)
    alerts = [t for t in to_maria if f": {CRISIS_TEXT}" not in t]
    assert alerts, to_maria
    copies(to_maria, alerts[0], fault)
    # The alert comes before the words it is about.
    assert to_maria.index(alerts[0]) < next(
        i for i, t in enumerate(to_maria) if t.endswith(f": {CRISIS_TEXT}")
    )
    copies(texts_to(double, ada), "Livslinien: 70 201 201", fault)


async def test_a_redelivered_webhook_update_whose_answer_waits_in_the_outbox_adds_nothing(
    double: BotApiDouble, start_snakkes: StartSnakkes
) -> None:
    """Telegram posts the update again while its answer is still being retried: 200, and
    the answer arrives once."""
    snakkes = await start_snakkes(telegram_mode="webhook")
    ada = double.user(language_code="da")
    double.fail_next("sendMessage", 502, count=3, chat_id=ada.chat_id)
    update_id = double.send_text(ada, CRISIS_TEXT)
    assert await double.deliver_webhook(update_id) == 200
    assert await double.deliver_webhook(update_id) == 200
    await double.wait_for_messages(ada, timeout=20)
    await outbox_settled(snakkes.service.database)
    assert len(double.messages_to(ada)) == 1


async def test_a_400_is_recorded_as_failed_with_its_reason_and_the_chat_goes_on(
    double: BotApiDouble, start_snakkes: StartSnakkes
) -> None:
    snakkes = await start_snakkes()
    ada = double.user(language_code="da")
    double.fail_next(
        "sendMessage", 400, chat_id=ada.chat_id, description="Bad Request: chat not found"
    )
    double.send_command(ada, "/help")
    await double.wait_for_call("sendMessage", predicate=lambda c: c.error_code == 400)
    double.send_command(ada, "/privacy")
    [privacy] = await double.wait_for_messages(ada)
    assert "gemmer" in privacy.text
    await outbox_settled(snakkes.service.database)
    async with snakkes.service.database.session() as session:
        [failed] = (await session.scalars(select(OutboxMessage))).all()
    assert failed.failed_reason == "Chat not found"
    assert failed.sealed_body == b""
