"""The database: one async engine per service, with the same transaction semantics on
SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Select, event, exc, func, select, text
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
_AUTOCHECKPOINT_PAGES = 10_000
# How long the truncating checkpoint (in its thread) waits for the loop's transactions: the
# loop's own end within a callback or two. While it waits for readers it holds writers off,
# so briefly; a transaction open longer makes it give way and try again at the next round.
_TRUNCATE_WAIT = 0.05


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """Build the engine. SQLite gets WAL, foreign keys (for ON DELETE CASCADE), a busy timeout
    and BEGIN IMMEDIATE, so concurrent writers queue instead of failing on a lock upgrade;
    a read-only session (`Database.reading`) begins DEFERRED and takes no write lock."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return _postgresql_engine(url, pool_size=pool_size)
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
        # A commit that fills the log to this many pages copies it into the file (and syncs
        # it) inline, on the event loop: every chat waits. Database.checkpoint does that
        # work in a thread every few seconds, so this is only the backstop (40 MB).
        cursor.execute(f"PRAGMA wal_autocheckpoint={_AUTOCHECKPOINT_PAGES}")
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
    return _postgresql_engine(
        url,
        pool_size=pool_size,
        connect_args={"server_settings": {"synchronous_commit": "off"}},
    )


def unflushed_commit() -> Select[tuple[str]]:
    """PostgreSQL: a row of one to read in a transaction's statement (as a FROM item, or a
    scalar subquery: PostgreSQL evaluates either once). Reading it makes that transaction's
    commit not wait for the write-ahead log's flush: `synchronous_commit` off until the
    transaction ends (`set_config` with is_local, what `SET LOCAL` does, without a round
    trip of its own). With 4 ms flushes (this machine's disk at times) a flush waited for is
    the largest part of a commit, and flushes waited for in a row queue behind each other.

    Only for a transaction whose loss in a crash of the database (its server or the
    machine; not of our process: PostgreSQL keeps what it committed when a client dies) is
    made good by something durable written before it. Such a commit is visible at once and
    kept unless the database crashes within a fraction of a second (the WAL writer flushes
    it within three `wal_writer_delay`s, 0.6 s by default), and any later durable commit
    flushes it too. What uses it says what makes good its loss (storage.participants,
    storage.outbox)."""
    setting = func.set_config("synchronous_commit", "off", True)
    return select(setting.label("synchronous_commit"))


def _postgresql_engine(url: str, *, pool_size: int, **options: Any) -> AsyncEngine:
    """A PostgreSQL engine whose pool hands out no connection the server has closed.

    Not SQLAlchemy's `pool_pre_ping`: on asyncpg its ping is BEGIN, an empty query and
    ROLLBACK, three round trips before every transaction (three of every eight an update
    cost, and more of the event loop's CPU than any statement). asyncpg notices a connection
    the server closed (a restart, an idle time-out, `pg_terminate_backend`) when the close
    arrives, and says so without a round trip; such a connection is replaced at checkout."""
    engine = create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, **options)
    event.listen(engine.sync_engine, "checkout", _closed_by_server)
    return engine


def _closed_by_server(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    if dbapi_connection.driver_connection.is_closed():
        # The pool drops this one and checks out another (a new one if need be).
        raise exc.DisconnectionError("closed by the server")


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
        # PostgreSQL: for one statement that is its own transaction (no BEGIN and COMMIT
        # round trips; its commit as durable as any other).
        self.autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self.text_removed = False
        self.scrubbed = asyncio.Event()  # set after each checkpoint that removed text
        if self.dialect == "sqlite":
            event.listen(self.engine.sync_engine, "after_cursor_execute", self._watch)

    def _watch(self, _conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
        if _REMOVES_TEXT.match(statement) and getattr(cursor, "rowcount", -1) != 0:
            self.text_removed = True

    async def checkpoint(self) -> bool:
        """On SQLite, every few seconds (the service's loop): copy the write-ahead log into
        the file in a thread of its own, then, if text was removed, truncate the log. True
        when done (or nothing to do); False when a reader held the log (try again soon).

        Copying the log and syncing the file takes tens of milliseconds once the outbox and
        the inbox write a few megabytes a second (1,000 pages every 2 s at 30 updates a
        second). Done inline, on the event loop, it stops every chat: SQLite's own
        autocheckpoint in whichever commit filled the log, and the truncating checkpoint
        below, each about once every 2 s. Both now run in a thread (sqlite3 lets go of the
        GIL while it works): the copy beside the loop's readers and writers, and the
        truncating step for removed text too (`scrub`), which cost 15-60 ms of a stopped
        loop on a busy disk (its sync); the autocheckpoint is only a backstop at 10,000
        pages."""
        if self.dialect != "sqlite":
            return True
        path = make_url(self.url).database or ":memory:"
        if path == ":memory:":
            return True
        await asyncio.to_thread(_checkpoint, path, "PASSIVE")
        return await self.scrub()

    async def scrub(self) -> bool:
        """On SQLite, after text was removed: checkpoint the write-ahead log into the file
        and truncate it. True when done (or nothing to do); False when the log stayed busy
        (try again soon).

        In a thread, on a connection of its own, off the event loop: the loop goes on
        meanwhile. The checkpoint waits briefly (`_TRUNCATE_WAIT`) for a transaction of the
        loop's to end, which the running loop lets it do, and gives way (False) to one that
        stays open; while it holds the log, the loop's writers wait for it without blocking
        the loop (storage/sqlite.py). Text removed while it runs is scrubbed by the next
        call. After `checkpoint`'s passive copy, only what came since is copied here."""
        if not self.text_removed:
            return True
        self.text_removed = False
        path = make_url(self.url).database or ":memory:"
        if await asyncio.to_thread(_checkpoint, path, "TRUNCATE", _TRUNCATE_WAIT):
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


def _checkpoint(path: str, mode: str, wait: float = 0.0) -> bool:
    """A checkpoint of the write-ahead log on a connection of its own, waiting up to `wait`
    seconds for readers and writers; True when one still held it up (busy)."""
    connection = sqlite3.connect(path, timeout=wait, isolation_level=None)
    try:
        busy, _, _ = connection.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
    except sqlite3.OperationalError:
        busy = 1
    finally:
        connection.close()
    return bool(busy)
