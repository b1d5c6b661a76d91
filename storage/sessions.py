"""Log-in sessions, one way for every table that keeps them: the dashboard's coordinators
(`dashboard_sessions`) and the console's volunteers (`console_sessions`).

A session is a random token in the browser's cookie; the table keeps only its SHA-256
hash, the session's CSRF token, and when it was opened and ends. Opening one clears the
expired ones; looking one up finds it only while it runs and while its owner is active;
closing one (log-out) or all of an owner's (a new password, a deactivation) deletes them.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

Row = TypeVar("Row")
Owner = TypeVar("Owner")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Sessions(Generic[Row, Owner]):
    """The sessions of one table: `model` the session rows, `owner` whom they belong to
    (a model with `id` and `active`), `owner_column` the rows' column that points there."""

    model: type[Row]
    owner: type[Owner]
    owner_column: str

    def _column(self, name: str) -> Any:
        return getattr(self.model, name)

    async def open(
        self, session: AsyncSession, owner_id: int, now: datetime, lifetime: timedelta
    ) -> str:
        """A new session; returns the cookie's token (not stored as it is)."""
        await session.execute(delete(self.model).where(self._column("expires_at") <= now))
        token = secrets.token_urlsafe(32)
        session.add(self.model(**{
            "token_hash": token_hash(token),
            self.owner_column: owner_id,
            "csrf_token": secrets.token_urlsafe(32),
            "created_at": now,
            "expires_at": now + lifetime,
        }))
        return token

    async def find(
        self, session: AsyncSession, token: str, now: datetime
    ) -> tuple[Row, Owner] | None:
        """The running session of this token and its active owner, or None."""
        row: Any = await session.get(self.model, token_hash(token))
        if row is None or row.expires_at <= now:
            return None
        owner: Any = await session.get(self.owner, getattr(row, self.owner_column))
        if owner is None or not owner.active:
            return None
        return row, owner

    async def close(self, session: AsyncSession, token: str) -> None:
        await session.execute(
            delete(self.model).where(self._column("token_hash") == token_hash(token))
        )

    async def close_all_of(self, session: AsyncSession, owner_id: int) -> int:
        """End every session of one owner; how many there were."""
        result = await session.execute(
            delete(self.model).where(self._column(self.owner_column) == owner_id)
        )
        return int(getattr(result, "rowcount", 0) or 0)
