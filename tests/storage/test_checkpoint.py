"""SQLite's write-ahead log is copied into the file beside the event loop, not on it: a
commit does not stop every chat to checkpoint a full log, and `Database.checkpoint` leaves
the loop running while it copies (it stopped the loop twice every two seconds at 100
updates a second, and made the tail: bench/RESULTS.md, p99 38 -> 163 ms)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path

import pytest
from sqlalchemy import delete, insert

from storage import migrate
from storage.db import Database
from storage.models import ProcessedUpdate
from storage.types import utcnow

PAGES = 1500  # more than SQLite's default autocheckpoint (1,000 pages)


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'snakkes.db'}")
    await migrate.upgrade(db)
    yield db
    await db.close()


def log_size(tmp_path: Path) -> int:
    wal = tmp_path / "snakkes.db-wal"
    return wal.stat().st_size if wal.exists() else 0


async def write_pages(database: Database, pages: int) -> None:
    """Many small transactions, as the service writes them, each a few pages of log."""
    now = utcnow()
    for n in range(pages // 2):
        async with database.session() as session, session.begin():
            await session.execute(
                insert(ProcessedUpdate).values(
                    channel="telegram", update_key=f"{n:08d}" + "x" * 50, processed_at=now
                )
            )


async def ran_beside(work: Awaitable[bool]) -> tuple[bool, bool]:
    """`work`'s result, and whether the event loop went on running other tasks meanwhile."""
    ticks = 0
    done = False

    async def tick() -> None:
        nonlocal ticks
        while not done:
            ticks += 1
            await asyncio.sleep(0)

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0)
    before = ticks
    result = await work
    done = True
    await ticker
    return result, ticks > before


async def test_commits_leave_the_log_to_the_checkpoint(
    database: Database, tmp_path: Path
) -> None:
    await write_pages(database, PAGES)
    # No commit copied the log into the file on the event loop along the way.
    assert log_size(tmp_path) > 2000 * 4096  # 2,700 pages; SQLite by itself: 1,000
    # The loop went on while the log was copied.
    assert await ran_beside(database.checkpoint()) == (True, True)


async def test_removed_text_is_truncated_out_of_the_log(
    database: Database, tmp_path: Path
) -> None:
    await write_pages(database, 200)
    async with database.session() as session, session.begin():
        await session.execute(delete(ProcessedUpdate))
    database.text_removed = True  # as after a DELETE of outbox or inbox rows
    assert await database.checkpoint()
    assert database.scrubbed.is_set()
    assert log_size(tmp_path) == 0


async def test_the_truncating_checkpoint_leaves_the_loop_running(
    database: Database, tmp_path: Path
) -> None:
    """Removed text leaves the log in a thread: the loop goes on while the log is copied,
    synced and truncated (inline, it stopped every chat for 15-60 ms every 2 s)."""
    await write_pages(database, PAGES)
    async with database.session() as session, session.begin():
        await session.execute(delete(ProcessedUpdate))
    database.text_removed = True
    assert await ran_beside(database.scrub()) == (True, True)
    assert database.scrubbed.is_set()
    assert log_size(tmp_path) == 0


async def test_the_truncating_checkpoint_gives_way_to_a_transaction_of_the_loop(
    database: Database, tmp_path: Path
) -> None:
    """A write transaction that stays open on the loop while the scrub runs in its thread:
    the scrub gives way (the loop running all the while) and keeps the removed text for its
    next round, which truncates the log once the transaction is over."""
    await write_pages(database, 20)
    async with database.session() as session, session.begin():
        await session.execute(delete(ProcessedUpdate))
        database.text_removed = True
        assert not await asyncio.wait_for(database.scrub(), 5)  # the log was held
        assert database.text_removed  # still to be scrubbed
        await session.execute(
            insert(ProcessedUpdate).values(
                channel="telegram", update_key="after", processed_at=utcnow()
            )
        )
    assert await database.scrub()
    assert database.scrubbed.is_set()
    assert log_size(tmp_path) == 0
