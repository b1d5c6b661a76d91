"""A web chat message stored by one instance reaches a socket held by another at once
(PostgreSQL LISTEN/NOTIFY), not at the next 10-second sweep."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.webchat.channel import CHANNEL
from dialogues.messages import Outbound
from storage.models import Participant
from tests.conftest import POSTGRES_URL, fresh_postgres_database
from tests.e2e.conftest import StartSnakkes
from tests.e2e.webchat import WebClient, web_outbox

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="SNAKKES_TEST_POSTGRES_URL is not set")


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    async with fresh_postgres_database() as url:
        yield url


async def test_a_message_stored_on_one_instance_reaches_a_socket_on_another_at_once(
    postgres_url: str, start_snakkes: StartSnakkes
) -> None:
    options = {"telegram_token": "", "database_url": postgres_url}
    one, two = await start_snakkes(**options), await start_snakkes(**options)
    assert two.service.web is not None
    assert two.service.web.sweep_every >= 10  # the sweep cannot be what delivers it
    async with WebClient(two.url) as client:
        await client.open_page()
        async with client.socket() as sock:
            await sock.say("/start")
            pseudonym = one.service.core.keyring.pseudonym(CHANNEL, client.session_key)
            async with one.service.database.session() as session:
                person = await session.scalar(
                    select(Participant).where(Participant.pseudonym == pseudonym)
                )
            assert person is not None
            for n in range(3):
                started = time.monotonic()
                await web_outbox(one.service).send(person.id, Outbound(f"Fra den anden {n}"))
                message = await asyncio.wait_for(sock.expect("message"), 3)
                assert message["text"] == f"Fra den anden {n}"
                assert time.monotonic() - started < 3
                await sock.ack([message])
