"""The database: one async engine per service, with the same transaction semantics on
SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storage import sqlite

READ_ONLY = "snakkes_read_only"


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """Build the engine. SQLite gets WAL, foreign keys (for ON DELETE CASCADE), a busy timeout
    and BEGIN IMMEDIATE, so concurrent writers queue instead of failing on a lock upgrade;
    a read-only session (`Database.reading`) begins DEFERRED and takes no write lock."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(
            url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
        )
    path = parsed.database or ":memory:"
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    # Calls run inline on the event loop (storage/sqlite.py), not in aiosqlite's thread.
    engine = create_async_engine(url, async_creator=sqlite.creator(path))

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=0")  # a busy database is retried without blocking
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA secure_delete=ON")  # deleted text is zeroed (storage/scrub.py)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A read-only session (Database.reading) begins DEFERRED: in WAL mode it neither
        # waits for nor holds up writers.
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class Database:
    """The engine and its session factory, opened and closed by the service's lifecycle."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.readers = async_sessionmaker(
            self.engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self) -> AsyncSession:
        return self.sessions()

    def reading(self) -> AsyncSession:
        """A session that only reads (never writes in it): on SQLite its transaction does
        not take the write lock, so a page refreshing its view waits for no one."""
        return self.readers()

    async def ping(self) -> bool:
        """True when the database answers; used by /healthz."""
        try:
            async with self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    async def close(self) -> None:
        await self.engine.dispose()
