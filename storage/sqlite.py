"""SQLite for the async engine without a thread per connection.

aiosqlite runs every call (cursor, execute, fetch, close) in a worker thread: four thread
hand-offs per statement, which measured about 0.6 ms of CPU each on the benchmark machine
and dominated an update's cost. SQLite on a local file answers in microseconds, so this
adapter runs the calls inline on the event loop instead. What could block the loop is a
lock held by another connection: `busy_timeout` is therefore 0 here, and a busy database
is retried with `await asyncio.sleep`, letting the holder finish in the meantime.

It offers the part of aiosqlite's interface that SQLAlchemy's aiosqlite dialect uses, and
is plugged in with `create_async_engine(..., async_creator=...)`.

Why it imitates two private attributes of aiosqlite (`_connection`, `_tx` with its `_conn`):
SQLAlchemy 2.1's only async SQLite dialect is the aiosqlite one, and its connection adapter
reaches into them (dialects/sqlite/aiosqlite.py: the isolation-level setter queues a job on
`_tx`; commit and rollback check `_connection`). `async_creator` is the supported way to
hand SQLAlchemy a connection of our own, but no supported interface says what that
connection must offer besides aiosqlite's public one; the alternatives are a dialect of our
own built on SQLAlchemy's internal adapter classes (more private surface, not less) or
aiosqlite's thread per connection (the cost this module exists to avoid). So the two are
imitated here, narrowly, and tests/storage run every query through them on each upgrade.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

BUSY_WAIT_SECONDS = 30.0
_FIRST_PAUSE = 0.001
_LONGEST_PAUSE = 0.05


async def _patiently(call: Callable[[], T]) -> T:
    """Run `call`; while the database is locked by another connection, wait and retry."""
    pause, waited = _FIRST_PAUSE, 0.0
    while True:
        try:
            return call()
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) and "busy" not in str(error):
                raise
            if waited >= BUSY_WAIT_SECONDS:
                raise
        await asyncio.sleep(pause)
        waited += pause
        pause = min(pause * 2, _LONGEST_PAUSE)


class Cursor:
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Cursor:
        await _patiently(lambda: self._cursor.execute(sql, parameters))
        return self

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Cursor:
        rows = list(rows)
        await _patiently(lambda: self._cursor.executemany(sql, rows))
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def setinputsizes(self, *sizes: Any) -> None:
        return None

    async def close(self) -> None:
        self._cursor.close()


class _Immediate:
    """Stands in for aiosqlite's job queue, which the dialect uses to set isolation_level:
    the job runs at once."""

    def put_nowait(self, job: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = job
        try:
            future.set_result(function())
        except Exception as error:  # handed to whoever awaits the future
            future.set_exception(error)


class Connection:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn = connection
        self._tx = _Immediate()

    @classmethod
    async def open(cls, path: str) -> Connection:
        connection = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False, timeout=0
        )
        return cls(connection)

    @property
    def _connection(self) -> sqlite3.Connection:
        return self._conn

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> Cursor:
        return Cursor(self._conn.cursor())

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Cursor:
        return await self.cursor().execute(sql, parameters)

    async def commit(self) -> None:
        await _patiently(self._conn.commit)

    async def rollback(self) -> None:
        self._conn.rollback()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        self._conn.close()

    def stop(self) -> None:
        self._conn.close()


def creator(path: str) -> Callable[[], Awaitable[Connection]]:
    """For `create_async_engine(async_creator=...)`."""

    async def connect() -> Connection:
        return await Connection.open(path)

    return connect
