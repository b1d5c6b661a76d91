"""Telegram's limits: 429 retry_after is waited out as told, a burst is paced and never
dropped, and one chat gets at most one message a second."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from storage import checkins
from tests.botapi import BotApiDouble
from tests.e2e.conftest import TOKEN, StartSnakkes
from tests.scheduler.helpers import local_noon, move_clock, rows, seed


@pytest.fixture
async def double() -> AsyncIterator[BotApiDouble]:
    """A double that enforces Telegram's flood limits (30/s overall, 1/s per chat) with 429."""
    async with BotApiDouble(token=TOKEN, enforce_limits=True) as running:
        yield running


async def test_a_429_with_retry_after_is_waited_out_and_nothing_is_lost(
    double: BotApiDouble, start_snakkes: StartSnakkes
) -> None:
    snakkes = await start_snakkes()
    noon = local_noon(snakkes)
    await move_clock(snakkes, noon - timedelta(hours=1))
    people = [double.user(language_code="da") for _ in range(3)]
    await seed(snakkes, people, noon)
    double.fail_next("sendMessage", error_code=429, retry_after=2)

    await move_clock(snakkes, noon)
    for person in people:
        await double.wait_for_messages(person, timeout=10)
    sends = double.calls_to("sendMessage")
    [refused] = [index for index, call in enumerate(sends) if call.error_code == 429]
    refusal, later = sends[refused], sends[refused + 1 :]
    retry = next(call for call in later if call.params["chat_id"] == refusal.params["chat_id"])
    assert retry.at - refusal.at >= 2.0  # waited as told
    # Nothing was started during the wait: what came sooner was already on its way.
    assert all(call.at - refusal.at < 0.5 or call.at - refusal.at >= 2.0 for call in later)
    assert [double.delivered_count_by_chat[p.chat_id] for p in people] == [1, 1, 1]
    assert {row.status for row in await rows(snakkes)} == {checkins.SENT, checkins.PLANNED}


async def test_a_burst_over_the_flood_limit_is_paced_and_every_checkin_arrives_once(
    double: BotApiDouble, start_snakkes: StartSnakkes
) -> None:
    # PTB's own limiter is set above Telegram's, so the double's 429s are what paces it.
    snakkes = await start_snakkes(telegram_max_messages_per_second="200")
    noon = local_noon(snakkes)
    await move_clock(snakkes, noon - timedelta(hours=1))
    people = [double.user(language_code="da") for _ in range(45)]
    await seed(snakkes, people, noon)

    await move_clock(snakkes, noon)
    for person in people:
        await double.wait_for_messages(person, timeout=15)
    assert double.rejected_429 > 0
    assert set(double.delivered_count_by_chat.values()) == {1}
    assert len(double.delivered_count_by_chat) == 45


async def test_one_chat_gets_at_most_one_message_a_second(
    double: BotApiDouble, start_snakkes: StartSnakkes
) -> None:
    snakkes = await start_snakkes()
    noon = local_noon(snakkes)
    await move_clock(snakkes, noon - timedelta(hours=1))
    ada = double.user(language_code="da")
    await seed(snakkes, [ada], noon, per_user=3)

    await move_clock(snakkes, noon)
    first, second, third = await double.wait_for_messages(ada, 3, timeout=10)
    assert double.rejected_429 == 0
    assert second.at - first.at >= 0.95
    assert third.at - second.at >= 0.95
