"""Telegram updates fetched by polling, stored before the next offset confirms them to
Telegram and deleted once handled (bot/telegram/polling.py). A crash loses nothing: what is
stored is handled after the restart; a redelivery is recognised by storage.updates' claim."""

from __future__ import annotations

import functools
import json
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    DateTime,
    LargeBinary,
    bindparam,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import Executable

from storage.crypto import Keyring
from storage.db import Database
from storage.models import InboxUpdate

CONTEXT = "telegram-inbox"


async def store(
    session: AsyncSession, keyring: Keyring, batch: Sequence[dict[str, Any]], now: datetime
) -> None:
    """Keep a fetched batch, each update sealed; one fetched again is kept once."""
    rows = [
        {
            "update_id": int(item["update_id"]),
            "sealed_update": keyring.seal(json.dumps(item, ensure_ascii=False), CONTEXT),
            "received_at": now,
        }
        for item in batch
    ]
    if not rows:
        return
    connection = await session.connection()
    await connection.execute(_store_statement(connection.dialect.name), rows)


async def keep(
    database: Database, keyring: Keyring, batch: Sequence[dict[str, Any]], now: datetime
) -> None:
    """`store` in a transaction of its own. On PostgreSQL one statement for the whole batch,
    run without BEGIN and COMMIT around it (the statement is its own transaction, as
    durable as any: the server answers once its commit is flushed): one round trip instead
    of three before the next offset is asked for."""
    if database.dialect != "postgresql":
        async with database.session() as session, session.begin():
            await store(session, keyring, batch, now)
        return
    if not batch:
        return
    async with database.autocommit.connect() as connection:
        await connection.execute(
            _KEEP,
            {
                "update_ids": [int(item["update_id"]) for item in batch],
                "sealed": [
                    keyring.seal(json.dumps(item, ensure_ascii=False), CONTEXT) for item in batch
                ],
                "received_at": now,
            },
        )


_BATCH = (
    func.unnest(
        bindparam("update_ids", type_=ARRAY(BigInteger)),
        bindparam("sealed", type_=ARRAY(LargeBinary)),
    )
    .table_valued("update_id", "sealed_update", name="batch")
    .render_derived()
)
_KEEP = (
    postgresql.insert(InboxUpdate)
    .from_select(
        ["update_id", "sealed_update", "received_at"],
        select(
            _BATCH.c.update_id,
            _BATCH.c.sealed_update,
            bindparam("received_at", type_=DateTime(timezone=True)),
        ),
    )
    .on_conflict_do_nothing()
)


@functools.cache
def _store_statement(dialect: str) -> Executable:
    """INSERT … ON CONFLICT DO NOTHING with bound values; built once, run for every batch."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(InboxUpdate).values(
        {name: bindparam(name) for name in ("update_id", "sealed_update", "received_at")}
    )
    return statement.on_conflict_do_nothing()


async def waiting(
    session: AsyncSession, *, limit: int, skip: Collection[int] = ()
) -> Sequence[InboxUpdate]:
    """Updates not handled yet, oldest first."""
    query = select(InboxUpdate).where(InboxUpdate.set_aside_at.is_(None))
    if skip:
        query = query.where(InboxUpdate.update_id.not_in(list(skip)))
    return (await session.scalars(query.order_by(InboxUpdate.update_id).limit(limit))).all()


def payload_of(keyring: Keyring, row: InboxUpdate) -> Any:
    """The update as Telegram sent it (raises when it cannot be opened or read)."""
    if row.sealed_update is None:
        raise ValueError("set aside")
    return json.loads(keyring.open(row.sealed_update, CONTEXT))


async def handled(session: AsyncSession, update_ids: Collection[int]) -> None:
    if update_ids:
        await session.execute(
            delete(InboxUpdate).where(InboxUpdate.update_id.in_(list(update_ids)))
        )


async def handled_one(session: AsyncSession, update_id: int) -> None:
    """One update handled: deleted in the transaction of the turn that handled it."""
    connection = await session.connection()  # Core: no ORM work for a statement per update
    await connection.execute(_DELETE_ONE, {"update_id": update_id})


_DELETE_ONE = delete(InboxUpdate).where(InboxUpdate.update_id == bindparam("update_id"))


async def set_aside(session: AsyncSession, update_id: int, now: datetime) -> None:
    """An update that cannot be handled: kept as a count, its content dropped."""
    await session.execute(
        update(InboxUpdate)
        .where(InboxUpdate.update_id == update_id)
        .values(sealed_update=None, set_aside_at=now)
    )


async def prune(session: AsyncSession, older_than: datetime) -> int:
    """Forget set-aside updates after a while (they hold no content, only that they were)."""
    result = await session.execute(
        delete(InboxUpdate).where(
            InboxUpdate.set_aside_at.is_not(None), InboxUpdate.set_aside_at < older_than
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
