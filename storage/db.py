"""The database: one async engine per service, with the same transaction semantics on
SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import re
import sqlite3
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
from storage.crypto import Keyring
from storage.types import KEYRING_ON_DIALECT

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
        # Deleted rows are overwritten with zeros, not merely unlinked: text that is gone
        # is gone from the file too (the WAL is checkpointed after it: Database.scrub).
        cursor.execute("PRAGMA secure_delete=ON")
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


def create_unflushed_engine(url: str, *, pool_size: int = 8) -> AsyncEngine:
    """A PostgreSQL engine for rows nobody needs after a crash (the shared send windows,
    storage/budget.py): a commit does not wait for the write-ahead log to reach the disk
    (`synchronous_commit = off`), so a transaction that holds the window's row lock holds it
    for less. A database crash may forget the last fraction of a second of sends: the
    window is then briefly too generous, nothing more."""
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args={"server_settings": {"synchronous_commit": "off"}},
    )


# Statements that remove text (messages, notes) or a person, on SQLite: afterwards the
# write-ahead log still holds the old pages until it is checkpointed.
_REMOVES_TEXT = re.compile(
    r"^\s*(DELETE\s+FROM\s+(relay_messages|webchat_messages|handovers|participants|outbox"
    r"|telegram_inbox)\b"
    r"|UPDATE\s+handovers\s+SET\b.*\bnote\b)",
    re.IGNORECASE | re.DOTALL,
)


class Database:
    """The engine and its session factory, opened and closed by the service's lifecycle.

    On SQLite, a deletion of text leaves the old pages in the write-ahead log (and freed
    space in the file, which `secure_delete` zeroes): `scrub()` checkpoints the log into
    the file and truncates it; the service calls it soon after text was deleted, and
    `close()` does at the end.
    """

    def __init__(self, url: str, keyring: Keyring | None = None) -> None:
        self.url = url
        self.engine = create_engine(url)
        if keyring is not None:  # for the sealed text columns (storage/types.py)
            setattr(self.engine.dialect, KEYRING_ON_DIALECT, keyring)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.readers = async_sessionmaker(
            self.engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False
        )
        self.text_removed = False
        self.scrubbed = asyncio.Event()  # set after each checkpoint that removed text
        if self.dialect == "sqlite":
            event.listen(self.engine.sync_engine, "after_cursor_execute", self._watch)

    def _watch(self, _conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
        if _REMOVES_TEXT.match(statement) and getattr(cursor, "rowcount", -1) != 0:
            self.text_removed = True

    async def scrub(self) -> bool:
        """On SQLite, after text was removed: checkpoint the write-ahead log into the file
        and truncate it. True when done (or nothing to do); False when a reader held it
        (try again soon)."""
        if not self.text_removed:
            return True
        self.text_removed = False
        path = make_url(self.url).database or ":memory:"
        # Outside any transaction (the engine's connections always BEGIN IMMEDIATE), on a
        # connection of its own; a checkpoint of a small log takes a millisecond or two.
        connection = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        except sqlite3.OperationalError:
            busy = 1
        finally:
            connection.close()
        if busy:
            self.text_removed = True
            return False
        self.scrubbed.set()
        return True

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
        try:
            await self.scrub()
        finally:
            await self.engine.dispose()
