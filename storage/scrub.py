"""Deleted text must not linger in the SQLite files.

SQLite keeps deleted rows' bytes in free space of the database file, and every page
written since the last checkpoint in the write-ahead log, where a deleted message stays
readable until the log is overwritten. Two things close that: `secure_delete` (set on
every connection in storage/db.py) zeroes what is deleted, and a checkpoint that
truncates the log (`wal_checkpoint(TRUNCATE)`) after the deletions copies the zeroed pages
into the file and empties the log. The service runs `checkpoint` every few seconds while
the log is not empty ([privacy] scrub_seconds). PostgreSQL needs none of this here: its
own vacuum reclaims dead rows.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL; None for PostgreSQL or an in-memory database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def needs_checkpoint(path: Path) -> bool:
    wal = path.with_name(path.name + "-wal")
    return wal.exists() and wal.stat().st_size > 0


def checkpoint(path: Path) -> bool:
    """Copy the log into the file and truncate it; False when a reader or writer was busy
    (then the next round tries again). It never waits for a lock: waiting would hold up
    the service's writers while it waits. Blocking: run it in a thread."""
    connection = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        # First copy what is there without holding anyone up; then the short part that
        # does (the rest, the sync, the truncation).
        connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    except sqlite3.OperationalError:
        return False
    finally:
        connection.close()
    return int(busy) == 0
