"""PostgreSQL's pool hands out no connection the server has closed, without a round trip
before every transaction (storage.db: no `pool_pre_ping`, a check of asyncpg's own state)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from storage.db import Database
from tests.conftest import POSTGRES_URL, fresh_postgres_database

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="SNAKKES_TEST_POSTGRES_URL is not set")


@pytest.fixture
async def database() -> AsyncIterator[Database]:
    """PostgreSQL only: SQLite has no pool of server connections."""
    async with fresh_postgres_database() as url:
        db = Database(url)
        yield db
        await db.close()


@pytest.mark.parametrize("engine", ["service", "unflushed"])
async def test_a_connection_the_server_closed_is_replaced_at_checkout(
    database: Database, engine: str
) -> None:
    from storage.db import create_unflushed_engine  # noqa: PLC0415

    target = database.engine if engine == "service" else create_unflushed_engine(database.url)
    try:
        async with target.connect() as connection:
            pid = int(await connection.scalar(text("SELECT pg_backend_pid()")) or 0)
        # The pooled connection's server process goes away (as in a restart).
        admin = make_url(database.url).set(drivername="postgresql")
        killer = await asyncpg.connect(admin.render_as_string(hide_password=False))
        try:
            assert await killer.fetchval("SELECT pg_terminate_backend($1)", pid)
        finally:
            await killer.close()
        await asyncio.sleep(0.2)  # the close reaches asyncpg
        statements: list[str] = []
        # Nothing is sent to the closed connection: the transaction runs on another one.
        async with target.connect() as connection, connection.begin():
            now_pid = int(await connection.scalar(text("SELECT pg_backend_pid()")) or 0)
            statements.append("ok")
        assert now_pid != pid
        assert statements == ["ok"]
    finally:
        if target is not database.engine:
            await target.dispose()


async def test_no_round_trip_before_a_transaction(database: Database) -> None:
    """Checking a connection out sends nothing: a transaction of one statement is BEGIN,
    the statement and COMMIT on the server's side (a ping would add three)."""
    async with database.engine.connect() as connection:
        await connection.scalar(text("SELECT 1"))  # prepared once, cached on the connection
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
    assert driver is not None
    before = driver._protocol.queries_count  # asyncpg's own count
    async with database.engine.connect() as connection, connection.begin():
        assert (await connection.get_raw_connection()).driver_connection is driver
        await connection.scalar(text("SELECT 1"))
    assert driver._protocol.queries_count - before == 3
