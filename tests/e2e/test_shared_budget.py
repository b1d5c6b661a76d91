"""Two instances on one PostgreSQL share Telegram's budget: behind a round-robin proxy, with
400 updates and a burst of 2,000 due check-ins at once (issue #13's size), the double
(counting as Telegram does) never sees more than 30 messages in a second and answers no
429, each update is answered once and each check-in sent once, and the burst keeps going.
The pace itself (at least 95 % of the cap) is a timing figure: printed here, asserted only
as "not starved", and measured in bench/ (the rule: no timed assertions in tests). 2,400
messages at 30 a second take 80 s at the least: the longest test in the suite, on purpose."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import select

from dialogues.messages import Outbound
from storage.models import Participant
from tests.botapi import BotApiDouble
from tests.conftest import POSTGRES_URL, fresh_postgres_database
from tests.e2e.conftest import TOKEN, Snakkes, StartSnakkes, free_port
from tests.scheduler.helpers import local_noon, move_clock, runner, seed

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="SNAKKES_TEST_POSTGRES_URL is not set")
UPDATES, BURST = 400, 2000


@pytest.fixture
async def double() -> AsyncIterator[BotApiDouble]:
    """A double that counts and enforces Telegram's flood limits."""
    async with BotApiDouble(token=TOKEN, enforce_limits=True) as running:
        yield running


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    async with fresh_postgres_database() as url:
        yield url


async def round_robin(targets: list[str]) -> AsyncIterator[str]:
    """A reverse proxy that hands each webhook post to the next instance in turn."""
    turn = itertools.cycle(targets)
    client = aiohttp.ClientSession()

    async def forward(request: web.Request) -> web.Response:
        body = await request.read()
        async with client.post(next(turn), data=body, headers=dict(request.headers)) as reply:
            return web.Response(status=reply.status, body=await reply.read())

    app = web.Application()
    app.router.add_post("/telegram/webhook", forward)
    runner_ = web.AppRunner(app, access_log=None)
    await runner_.setup()
    port = free_port()
    await web.TCPSite(runner_, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}/telegram/webhook"
    finally:
        await runner_.cleanup()
        await client.close()


async def test_two_instances_stay_within_30_a_second_together(
    postgres_url: str, double: BotApiDouble, start_snakkes: StartSnakkes
) -> None:
    options = {"database_url": postgres_url, "telegram_mode": "webhook"}
    first, second = await start_snakkes(**options), await start_snakkes(**options)
    noon = local_noon(first)
    for instance in (first, second):
        await move_clock(instance, noon - timedelta(hours=1))
    due = [double.user(language_code="da") for _ in range(BURST)]
    await seed(first, due, noon)
    writers = [double.user(language_code="da") for _ in range(UPDATES)]

    sent_at: list[float] = []
    double.on_sent(lambda message: sent_at.append(time.monotonic()))
    proxy = round_robin([f"{i.url}/telegram/webhook" for i in (first, second)])
    url = await anext(proxy)
    try:
        double.route_webhook(url)
        double.pump_webhook(connections=16)
        await asyncio.gather(move_clock(first, noon), move_clock(second, noon))
        for person in writers:
            double.send_command(person, "/help")
        deadline = time.monotonic() + 400  # a bound for a slow machine, not a wait
        for person in [*writers, *due]:
            await double.wait_for_messages(
                person, timeout=max(1.0, deadline - time.monotonic())
            )
    finally:
        await proxy.aclose()

    assert set(double.delivered_count_by_chat.values()) == {1}  # each once
    assert len(double.delivered_count_by_chat) == UPDATES + BURST
    assert double.rejected_429 == 0
    assert double.most_in_a_second <= 30
    # Not a timing figure (those are benchmarks'): only that sharing does not starve the
    # burst. A send holds its place from its start until a second after its answer, so the
    # pace is 30 / (1 s + a send's latency): near 30 on an idle machine.
    rate = (len(sent_at) - 1) / (sent_at[-1] - sent_at[0])
    print(f"two instances: {len(sent_at)} messages at {rate:.1f} a second "
          f"({rate / 30:.0%} of the cap), at most {double.most_in_a_second} in a second")
    # Sharing does not starve either instance's burst. The pace is not asserted: a send
    # holds its place from its start until a second after its answer, so the pace is
    # 30 / (1 s + a send's latency), near 30 on a quiet machine (bench/checkin_burst.py,
    # 98.9 %) and less when other processes hold the cores. Answers marked as of the
    # transaction that marked them, not of their coming, held places longer: 83 % at load 4;
    # marked as of their coming, 95 % at load 7 (2026-12-02).
    assert runner(first).sent > 0
    assert runner(second).sent > 0


async def test_two_instances_keep_one_message_a_second_to_one_person_together(
    postgres_url: str, double: BotApiDouble, start_snakkes: StartSnakkes
) -> None:
    """Each instance sends its own messages to the same person at once (a check-in from one,
    a volunteer's relay from the other): the chat's window in the database keeps them to
    one a second together, so the double (1 a second per chat, as Telegram) refuses none."""
    options = {"database_url": postgres_url, "telegram_mode": "webhook"}
    first, second = await start_snakkes(**options), await start_snakkes(**options)
    double.pump_webhook()
    person = double.user(language_code="da")
    double.send_command(person, "/help")
    await double.wait_for_messages(person, timeout=20)
    keyring = first.service.core.keyring
    async with first.service.database.session() as session:
        someone = await session.scalar(
            select(Participant.id).where(
                Participant.pseudonym == keyring.pseudonym("telegram", str(person.id))
            )
        )
    assert someone is not None
    each = 3

    async def write(instance: Snakkes, name: str) -> None:
        outbox = instance.service.outbox
        assert outbox is not None
        await asyncio.gather(
            *(outbox.send(someone, Outbound(f"{name} {n}")) for n in range(each))
        )

    await asyncio.gather(write(first, "første"), write(second, "anden"))
    messages = await double.wait_for_messages(person, count=2 * each, timeout=60)
    assert sorted(m.text for m in messages) == sorted(
        [f"første {n}" for n in range(each)] + [f"anden {n}" for n in range(each)]
    )
    assert double.rejected_429 == 0
