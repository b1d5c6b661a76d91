"""The durable outbox's rows: added with the state change that caused them, claimed by one
instance's sender at a time, deleted once delivered (see bot/delivery.py for the sender).

A claim is a lease (`claimed_by`, `claimed_until`): the instance that wrote a row holds it
from the start and sends it at once; rows of an instance that died come free when the
lease runs out, and any instance's sweep takes them. A chat's rows go out in id order: a
row is not claimed while an earlier one of the same chat is held by another instance.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    and_,
    any_,
    bindparam,
    delete,
    exists,
    or_,
    select,
    update,
)
from sqlalchemy import insert as insert_into
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.crypto import Keyring
from storage.db import Database, unflushed_commit
from storage.models import OutboxMessage
from storage.types import utcnow

_REASON_CHARS = 200


@dataclass(frozen=True)
class Body:
    """What a message says: its text and its rows of buttons as (label, data) pairs."""

    text: str
    choices: tuple[tuple[tuple[str, str], ...], ...] = ()


def body_context(chat: str) -> str:
    return f"outbox/{chat}"


def seal_body(keyring: Keyring, chat: str, body: Body) -> bytes:
    payload = json.dumps({"t": body.text, "c": body.choices}, ensure_ascii=False)
    return keyring.seal(payload, body_context(chat))


def open_body(keyring: Keyring, row: OutboxMessage) -> Body:
    payload: dict[str, Any] = json.loads(keyring.open(row.sealed_body, body_context(row.chat)))
    choices = tuple(tuple((str(c[0]), str(c[1])) for c in line) for line in payload["c"])
    return Body(str(payload["t"]), choices)


def add(session: AsyncSession, values: dict[str, Any]) -> OutboxMessage:
    """Add one message (its row's `values_of`) in the caller's transaction; its id is set
    at the next flush."""
    row = OutboxMessage(**values)
    session.add(row)
    return row


def values_of(
    keyring: Keyring,
    *,
    chat: str,
    channel: str,
    sealed_address: bytes,
    body: Body,
    lane: int,
    participant_id: int | None,
    owner: str | None,
    held_until: datetime | None,
    now: datetime,
) -> dict[str, Any]:
    """One message's row, its body sealed: for `add`, or for `insert` with others."""
    return {
        "participant_id": participant_id,
        "chat": chat,
        "channel": channel,
        "sealed_address": sealed_address,
        "sealed_body": seal_body(keyring, chat, body),
        "lane": lane,
        "attempts": 0,
        "created_at": now,
        "due_at": now,
        "claimed_by": owner,
        "claimed_until": held_until,
    }


async def insert(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Write rows (`values_of`) in the caller's transaction, in one statement, without the
    ORM's unit of work (a turn writes one for every message); their ids, in order, which is
    also the order they are sent in. Anything the ORM holds is flushed first."""
    if not rows:
        return []
    await session.flush()
    connection = await session.connection()
    result = await connection.execute(_INSERT, list(rows))
    return list(result.scalars())


_INSERT = insert_into(OutboxMessage).returning(OutboxMessage.id, sort_by_parameter_order=True)


async def claim(
    session: AsyncSession,
    *,
    owner: str,
    now: datetime,
    held_until: datetime,
    limit: int,
    skip: Collection[int] = (),
    channels: Collection[str] | None = None,
) -> Sequence[OutboxMessage]:
    """Take up to `limit` rows that are due and held by nobody (or by an instance whose lease
    ran out), most urgent lane first; never a row behind another instance's in its chat;
    only rows for `channels` (the ones the caller runs), when given."""
    earlier = aliased(OutboxMessage)
    free = or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now)
    blocked = exists().where(
        earlier.chat == OutboxMessage.chat,
        earlier.id < OutboxMessage.id,
        earlier.failed_reason.is_(None),
        earlier.claimed_until >= now,
        earlier.claimed_by != owner,
    )
    condition = and_(
        OutboxMessage.failed_reason.is_(None), OutboxMessage.due_at <= now, free, ~blocked
    )
    if skip:
        condition = and_(condition, OutboxMessage.id.not_in(list(skip)))
    if channels is not None:
        condition = and_(condition, OutboxMessage.channel.in_(list(channels)))
    due = (
        select(OutboxMessage.id)
        .where(condition)
        .order_by(OutboxMessage.lane, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("due")
    )
    ids = (
        await session.scalars(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(select(due.c.id)))
            .values(claimed_by=owner, claimed_until=held_until)
            .returning(OutboxMessage.id)
        )
    ).all()
    if not ids:
        return []
    rows = await session.scalars(
        select(OutboxMessage).where(OutboxMessage.id.in_(ids)).order_by(OutboxMessage.id)
    )
    return rows.all()


async def renew(session: AsyncSession, owner: str, ids: Collection[int], until: datetime) -> None:
    """Keep holding what this instance still has in hand."""
    if ids:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(list(ids)), OutboxMessage.claimed_by == owner)
            .values(claimed_until=until)
        )


async def forget_delivered(database: Database, ids: Collection[int]) -> None:
    """`delivered` in a transaction of its own; on PostgreSQL the one statement without BEGIN
    and COMMIT around it (its own transaction): one round trip, not three.

    On PostgreSQL its commit does not wait for the write-ahead log's flush
    (`_FORGET_UNFLUSHED`): a deletion a crash of the database forgets leaves the row to be
    sent again once its lease runs out, at least once, never lost; a kill -9 of our process
    forgets nothing PostgreSQL committed. So the sender's bound (a message the channel took
    holds its place until its row's deletion committed, bot/delivery.py) is as before."""
    if database.dialect != "postgresql":
        async with database.session() as session, session.begin():
            await delivered(session, ids)
    elif ids:
        async with database.autocommit.connect() as connection:
            await connection.execute(_FORGET_UNFLUSHED, {"ids": list(ids)})


async def delivered(session: AsyncSession, ids: Collection[int]) -> None:
    """The channel has them: the rows, text and all, go."""
    if ids:
        connection = await session.connection()  # Core: built once, run for every send
        statement = _DELIVERED_ANY if connection.dialect.name == "postgresql" else _DELIVERED
        await connection.execute(statement, {"ids": list(ids)})


# SQLite: an IN list expanded at each execution. PostgreSQL: one array parameter, so the SQL
# is the same whatever the number of ids (no rendering per call, one prepared statement).
_DELIVERED = delete(OutboxMessage).where(OutboxMessage.id.in_(bindparam("ids", expanding=True)))
_DELIVERED_ANY = delete(OutboxMessage).where(
    OutboxMessage.id == any_(bindparam("ids", type_=ARRAY(BigInteger)))
)
# The row of one that turns the flush off for this statement's transaction, as a condition
# PostgreSQL evaluates once (an uncorrelated subquery), before any row.
_FORGET_UNFLUSHED = _DELIVERED_ANY.where(unflushed_commit().scalar_subquery() == "off")


async def later(
    session: AsyncSession, row_id: int, *, attempts: int, due_at: datetime, held_until: datetime
) -> None:
    """A try that may be repeated failed: try again at `due_at`, still held by us."""
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row_id)
        .values(attempts=attempts, due_at=due_at, claimed_until=held_until)
    )


async def failed(session: AsyncSession, row_id: int, reason: str) -> None:
    """Failed for good: keep why (never the text), let the chat's next message go."""
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row_id)
        .values(
            failed_reason=reason[:_REASON_CHARS] or "failed",
            sealed_body=b"",
            claimed_by=None,
            claimed_until=None,
        )
    )


async def drop_chat(session: AsyncSession, chat: str) -> None:
    """The person blocked the bot: nothing waiting for them will arrive."""
    await session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.chat == chat, OutboxMessage.failed_reason.is_(None)
        )
    )


async def release(
    session: AsyncSession, owner: str | None = None, now: datetime | None = None
) -> None:
    """Give rows back: this instance's (at a clean stop), or every one (at the start of the
    only instance, on SQLite, whose earlier process can hold nothing any more). With `now`,
    they are due at once: a pause between tries was the giving instance's, and the instance
    woken to take them looks once."""
    statement = update(OutboxMessage).where(OutboxMessage.failed_reason.is_(None))
    if owner is not None:
        statement = statement.where(OutboxMessage.claimed_by == owner)
    values: dict[str, Any] = {"claimed_by": None, "claimed_until": None}
    if now is not None:
        values["due_at"] = now
    await session.execute(statement.values(**values))


async def give_back(session: AsyncSession, owner: str, ids: Collection[int]) -> None:
    """Let any sender take these rows now (this one cannot send them)."""
    if ids:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(list(ids)), OutboxMessage.claimed_by == owner)
            .values(claimed_by=None, claimed_until=None)
        )


async def prune_failed(session: AsyncSession, older_than: datetime | None = None) -> int:
    """Forget failures once nobody needs their reason any more."""
    result = await session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.failed_reason.is_not(None),
            OutboxMessage.created_at < (older_than or utcnow()),
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
