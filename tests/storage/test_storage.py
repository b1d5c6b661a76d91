"""Storage on SQLite and PostgreSQL: migrations, update claims, erasure."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from storage import migrate, participants, updates
from storage.crypto import Keyring
from storage.db import Database
from storage.models import Participant, ProcessedUpdate
from storage.types import utcnow

KEYRING = Keyring(b"k" * 32)


async def test_migrations_reach_the_head_and_are_idempotent(database: Database) -> None:
    assert await migrate.is_current(database)
    await migrate.upgrade(database)
    assert await migrate.is_current(database)


async def test_an_update_is_claimed_once(database: Database) -> None:
    async with database.session() as session, session.begin():
        assert await updates.claim(session, "telegram", "1001")
    async with database.session() as session, session.begin():
        assert not await updates.claim(session, "telegram", "1001")
        assert await updates.claim(session, "web", "1001")


async def test_a_claim_rolled_back_with_failed_work_can_be_claimed_again(
    database: Database,
) -> None:
    session = database.session()
    async with session:
        await session.begin()
        assert await updates.claim(session, "telegram", "2002")
        await session.rollback()
    async with database.session() as session, session.begin():
        assert await updates.claim(session, "telegram", "2002")


async def test_concurrent_claims_of_one_update_let_exactly_one_through(
    database: Database,
) -> None:
    async def attempt() -> bool:
        async with database.session() as session, session.begin():
            claimed = await updates.claim(session, "telegram", "3003")
            await asyncio.sleep(0.05)  # hold the transaction open while the others try
            return claimed

    results = await asyncio.gather(*(attempt() for _ in range(5)))
    assert sorted(results) == [False, False, False, False, True]


async def test_old_claims_are_pruned(database: Database) -> None:
    async with database.session() as session, session.begin():
        await updates.claim(session, "telegram", "4004")
    async with database.session() as session, session.begin():
        assert await updates.prune(session, utcnow()) == 1
        assert await session.scalar(select(func.count()).select_from(ProcessedUpdate)) == 0


async def test_a_participant_is_found_again_by_pseudonym_and_erased(database: Database) -> None:
    async with database.session() as session, session.begin():
        first, new = await participants.resolve(
            session, KEYRING, channel="telegram", channel_user_id="77", address="77", language="en"
        )
        assert new
    async with database.session() as session, session.begin():
        again, new = await participants.resolve(
            session, KEYRING, channel="telegram", channel_user_id="77", address="77", language="da"
        )
        assert not new
        assert again is not None
        assert first is not None
        assert again.id == first.id
        assert again.language == "en"
        assert participants.address_of(KEYRING, again) == "77"
        await participants.erase(session, again.id)
    async with database.session() as session:
        assert await session.scalar(select(func.count()).select_from(Participant)) == 0
