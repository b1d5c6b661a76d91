"""Two instances of the service on one PostgreSQL share the due check-ins: each is sent
exactly once, as counted by the Bot API double."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from storage import checkins
from tests.botapi import BotApiDouble
from tests.conftest import POSTGRES_URL, fresh_postgres_database
from tests.e2e.conftest import StartSnakkes
from tests.scheduler.helpers import local_noon, move_clock, rows, runner, seed, settled

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="SNAKKES_TEST_POSTGRES_URL is not set")
DUE = 2000


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    async with fresh_postgres_database() as url:
        yield url


async def test_two_instances_send_each_of_2000_due_checkins_exactly_once(
    postgres_url: str, double: BotApiDouble, start_snakkes: StartSnakkes
) -> None:
    # Webhook mode, because only one instance may poll; the rate limiter is raised so the
    # test is not paced at Telegram's 30 a second (the pacing has tests of its own).
    options = {
        "database_url": postgres_url,
        "telegram_mode": "webhook",
        "telegram_max_messages_per_second": "5000",
    }
    first, second = await start_snakkes(**options), await start_snakkes(**options)
    noon = local_noon(first)
    for instance in (first, second):
        await move_clock(instance, noon - timedelta(hours=1))
    people = [double.user(language_code="da") for _ in range(DUE)]
    await seed(first, people, noon)

    deadline = time.monotonic() + 120  # a bound for a slow machine, not a wait
    await asyncio.gather(move_clock(first, noon), move_clock(second, noon))
    for person in people:
        await double.wait_for_messages(person, timeout=max(1.0, deadline - time.monotonic()))
    await asyncio.gather(settled(first), settled(second))

    sends = double.calls_to("sendMessage")
    assert len(sends) == DUE
    assert all(call.ok for call in sends)
    assert len(double.delivered_count_by_chat) == DUE
    assert set(double.delivered_count_by_chat.values()) == {1}
    assert runner(first).sent > 0
    assert runner(second).sent > 0
    assert runner(first).sent + runner(second).sent == DUE
    statuses = [row.status for row in await rows(first) if row.kind == checkins.CHECKIN]
    assert statuses == [checkins.SENT] * DUE


async def test_two_instances_send_each_community_follow_up_exactly_once(
    postgres_url: str, double: BotApiDouble, start_snakkes: StartSnakkes
) -> None:
    """The follow-up after suggestions of communities rides on the same claims."""
    options = {
        "database_url": postgres_url,
        "telegram_mode": "webhook",
        "telegram_max_messages_per_second": "5000",
    }
    first, second = await start_snakkes(**options), await start_snakkes(**options)
    noon = local_noon(first)
    for instance in (first, second):
        await move_clock(instance, noon - timedelta(hours=1))
    people = [double.user(language_code="da") for _ in range(300)]
    await seed(first, people, noon, kind=checkins.BRIDGE)
    await asyncio.gather(move_clock(first, noon), move_clock(second, noon))
    for person in people:
        [message] = await double.wait_for_messages(person, timeout=30)
        assert message.text.startswith("Hej 👋 – fik du kigget forbi?")
    await asyncio.gather(settled(first), settled(second))
    assert set(double.delivered_count_by_chat.values()) == {1}
    assert len(double.delivered_count_by_chat) == 300
    statuses = [row.status for row in await rows(first) if row.kind == checkins.BRIDGE]
    assert statuses == [checkins.SENT] * 300
