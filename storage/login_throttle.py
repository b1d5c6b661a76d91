"""The log-in throttle, in the database: every attempt is counted before its password is
checked, in one transaction that locks the attempt's rows, so a burst of parallel requests
(on one instance or several) cannot slip past it.

Each key (a keyed hash of the name, and one of the client's address) has a count of
attempts that did not succeed and a time before which no further attempt is checked. The
first few are free; after that the wait doubles with every failure, up to a ceiling: a
guesser is slowed to a crawl, while a coordinator whose name someone else is trying waits
seconds or minutes, never a fixed lock-out. A success clears the name's count.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import LoginThrottle


@dataclass(frozen=True)
class Backoff:
    free: int  # attempts checked without waiting
    ceiling: timedelta  # the longest wait
    forget_after: timedelta = timedelta(minutes=15)  # quiet this long: start again

    def wait(self, failures: int) -> timedelta:
        if failures <= self.free:
            return timedelta()
        return min(timedelta(seconds=2 ** min(failures - self.free, 20)), self.ceiling)


PER_NAME = Backoff(free=4, ceiling=timedelta(minutes=5))
PER_ADDRESS = Backoff(free=20, ceiling=timedelta(minutes=15))


async def attempt(
    session: AsyncSession, keys: Iterable[tuple[str, Backoff]], now: datetime
) -> timedelta:
    """Count one attempt under every key, in the caller's transaction, before the password
    is checked. Returns how long to wait (and counts nothing) when a key is backing off;
    zero when the attempt may be checked."""
    wanted = sorted(dict(keys).items())  # one lock order for every caller
    dialect = (await session.connection()).dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    await session.execute(
        insert(LoginThrottle)
        .values([{"key": k, "failures": 0, "not_before": now, "updated_at": now}
                 for k, _ in wanted])
        .on_conflict_do_nothing()
    )
    statement = select(LoginThrottle).where(LoginThrottle.key.in_([k for k, _ in wanted]))
    if dialect == "postgresql":
        statement = statement.with_for_update()
    rows = {
        row.key: row
        for row in await session.scalars(statement.execution_options(populate_existing=True))
    }
    wait = max((rows[k].not_before - now for k, _ in wanted), default=timedelta())
    if wait > timedelta():
        return wait
    for key, backoff in wanted:
        row = rows[key]
        if now - row.updated_at > backoff.forget_after:
            row.failures = 0
        row.failures += 1
        row.not_before, row.updated_at = now + backoff.wait(row.failures), now
    await session.flush()
    return timedelta()


async def succeeded(
    session: AsyncSession, name_key: str, address_key: str, now: datetime
) -> None:
    """The right password: the name's count starts again, and the address's attempt is not
    held against it (many people behind one address log in every morning)."""
    name = await session.get(LoginThrottle, name_key)
    if name is not None:
        name.failures, name.not_before, name.updated_at = 0, now, now
    address = await session.get(LoginThrottle, address_key)
    if address is not None and address.failures > 0:
        address.failures -= 1
        address.not_before = now + PER_ADDRESS.wait(address.failures)


async def prune(session: AsyncSession, older_than: datetime) -> int:
    result = await session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.updated_at < older_than, LoginThrottle.not_before < older_than
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
