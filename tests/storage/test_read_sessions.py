"""A read (the dashboard's statistics, the web chat's look-ups) never holds SQLite's write
lock: a chat's transaction goes ahead while a long read is open."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from storage import migrate, updates
from storage.db import Database
from storage.models import ProcessedUpdate


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    await migrate.upgrade(db)
    yield db
    await db.close()


async def test_a_write_goes_ahead_while_a_read_is_open(database: Database) -> None:
    async with database.reading() as reader:
        before = await reader.scalar(select(func.count()).select_from(ProcessedUpdate))
        assert before == 0  # the read's transaction is open from here on

        async def write() -> None:
            async with database.session() as writer, writer.begin():
                assert await updates.claim(writer, "telegram", "1")

        await asyncio.wait_for(write(), 5)  # 30 s of busy waiting before the change
    async with database.reading() as reader:
        assert await reader.scalar(select(func.count()).select_from(ProcessedUpdate)) == 1
