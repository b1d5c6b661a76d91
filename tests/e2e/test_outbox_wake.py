"""Outbox rows that come free wake every instance's sender at once (PostgreSQL NOTIFY): the
periodic sweep is only the safety net. Here the sweeps are a minute apart and the leases a
minute long, so nothing but the wake can deliver the message while the test waits."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from dialogues.messages import Delivery, Outbound
from storage.models import OutboxMessage, Participant
from tests.botapi import BotApiDouble
from tests.conftest import POSTGRES_URL, fresh_postgres_database
from tests.e2e.conftest import Snakkes, StartSnakkes
from tests.e2e.helpers import outbox_settled

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="SNAKKES_TEST_POSTGRES_URL is not set")
SLOW_SWEEP = {"delivery_sweep_milliseconds": "60000", "delivery_lease_seconds": "60"}
WAIT = 20.0  # a bound for a loaded machine; the sweep would take 60 s


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    async with fresh_postgres_database() as url:
        yield url


async def participant_id(snakkes: Snakkes, telegram_id: int) -> int:
    pseudonym = snakkes.service.core.keyring.pseudonym("telegram", str(telegram_id))
    async with snakkes.service.database.session() as session:
        found = await session.scalar(
            select(Participant.id).where(Participant.pseudonym == pseudonym)
        )
    assert found is not None
    return found


async def test_a_message_an_instance_cannot_send_wakes_one_that_can(
    postgres_url: str, double: BotApiDouble, start_snakkes: StartSnakkes
) -> None:
    """An instance without Telegram writes to a Telegram user (a check-in, a volunteer's
    relay): it gives the row back, and the instance running Telegram sends it at once."""
    options = {"database_url": postgres_url, **SLOW_SWEEP}
    telegram = await start_snakkes(**options)
    web_only = await start_snakkes(telegram_token="", **options)
    person = double.user(language_code="da")
    double.send_command(person, "/start")
    await double.wait_for_messages(person, timeout=WAIT)

    someone = await participant_id(web_only, person.id)
    delivery = await web_only.service.outbox.send(someone, Outbound("Fra en anden instans"))
    assert delivery is Delivery.SENT  # in the outbox's hands

    [message] = await double.wait_for_messages(person, timeout=WAIT)
    assert message.text == "Fra en anden instans"
    await outbox_settled(telegram.service.database, WAIT)
    assert telegram.service.postman.sent == 2  # the /start reply and this
    assert web_only.service.postman.sent == 0


async def test_an_instance_that_stops_hands_its_messages_to_another_at_once(
    postgres_url: str, double: BotApiDouble, start_snakkes: StartSnakkes
) -> None:
    """A reply in the hands of an instance that stops (its send hangs) goes back to the
    outbox and another instance sends it, without waiting for the lease or the sweep."""
    options = {
        "database_url": postgres_url,
        "telegram_mode": "webhook",
        "delivery_send_timeout_seconds": "30",
        **SLOW_SWEEP,
    }
    other = await start_snakkes(**options)
    stopping = await start_snakkes(**options)  # registered last: Telegram posts to it
    double.pump_webhook()
    person = double.user(language_code="da")
    double.stall_next("sendMessage", 120, delivered=False, chat_id=person.id)
    double.send_command(person, "/help")
    await double.wait_for_call("sendMessage", timeout=WAIT)  # the hanging try
    async with stopping.service.database.session() as session:
        held = (await session.scalars(select(OutboxMessage.claimed_by))).all()
    assert held == [stopping.service.postman.owner]

    await stopping.stop()
    [reply] = await double.wait_for_messages(person, timeout=WAIT)
    assert reply.text
    await outbox_settled(other.service.database, WAIT)
    assert other.service.postman.sent == 1
