"""Idempotency of inbound updates: each (channel, update key) is handled once."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import CTE, Executable

from storage import inbox
from storage.models import GroupNotice, InboxUpdate, ProcessedUpdate
from storage.types import utcnow


@dataclass(frozen=True)
class Claim:
    """An inbound update to claim in a turn's transaction (see `claim`)."""

    channel: str
    update_key: str
    inbox_update_id: int | None = None

    def values(self) -> dict[str, object]:
        """The bound values of `claimed`'s statement."""
        values: dict[str, object] = {
            "channel": self.channel,
            "update_key": self.update_key,
            "processed_at": utcnow(),
        }
        if self.inbox_update_id is not None:
            values["inbox_update_id"] = self.inbox_update_id
        return values


def claimed(*, settling: bool) -> CTE:
    """PostgreSQL: the claim as a CTE for a statement that reads in the same round trip
    (storage.participants.claim_and_arrive): one row when the update was claimed, none when
    it was already; with `settling`, the inbox row (`inbox_update_id`) is deleted too."""
    statement = _CLAIM_AND_SETTLE if settling else _CLAIM
    return statement.returning(ProcessedUpdate.update_key).cte("claimed")


async def claim(
    session: AsyncSession, channel: str, update_key: str, *, inbox_update_id: int | None = None
) -> bool:
    """Record the update as handled, in the caller's transaction; False if it already was.

    The claim commits or rolls back with the work it guards, so a failed attempt leaves the
    update free for Telegram's retry, and a concurrent instance waits on the unique key.

    `inbox_update_id`: a polled Telegram update's row in the inbox (storage/inbox.py), deleted
    in the same transaction, claimed or not (a duplicate is handled too). On PostgreSQL the
    turn does both in one statement with the arrival (`claimed`).
    """
    if inbox_update_id is not None:
        await inbox.handled_one(session, inbox_update_id)
    return await _insert_once(
        session, ProcessedUpdate, channel=channel, update_key=update_key, processed_at=utcnow()
    )


async def claim_group_notice(session: AsyncSession, pseudonym: str) -> bool:
    """True the first time a group is seen: it gets the 'private only' notice once."""
    return await _insert_once(session, GroupNotice, pseudonym=pseudonym, noticed_at=utcnow())


async def prune(session: AsyncSession, older_than: datetime) -> int:
    """Forget update ids old enough that Telegram no longer redelivers them (24 h)."""
    result = await session.execute(
        delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < older_than)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def _insert_once(session: AsyncSession, model: type, **values: object) -> bool:
    connection = await session.connection()  # Core, for the rowcount the ORM path hides
    statement = _insert_statement(model, connection.dialect.name, tuple(values))
    result = await connection.execute(statement, values)
    return bool(result.rowcount)


_SETTLE = delete(InboxUpdate).where(InboxUpdate.update_id == bindparam("inbox_update_id"))
_CLAIM = (
    postgresql.insert(ProcessedUpdate)
    .values({name: bindparam(name) for name in ("channel", "update_key", "processed_at")})
    .on_conflict_do_nothing()
)
# The inbox row's deletion as a data-modifying CTE of the claim: the INSERT's row count is
# still the claim's alone.
_CLAIM_AND_SETTLE = _CLAIM.add_cte(_SETTLE.cte("settled"))


@functools.cache
def _insert_statement(model: type, dialect: str, columns: tuple[str, ...]) -> Executable:
    """INSERT … ON CONFLICT DO NOTHING with bound values; built once, run for every update."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(model).values({name: bindparam(name) for name in columns}).on_conflict_do_nothing()
    )
