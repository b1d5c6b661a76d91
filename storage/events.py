"""The anonymised event log the statistics are built from: no pseudonym, no text, and the
time rounded down to the hour, so an event cannot be matched to a message."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import StatEvent
from storage.types import utcnow


def to_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


async def record(
    session: AsyncSession,
    kind: str,
    detail: str,
    *,
    channel: str,
    language: str,
    at: datetime | None = None,
    value: int | None = None,
    org: str | None = None,
) -> None:
    session.add(
        StatEvent(
            kind=kind,
            detail=detail,
            channel=channel,
            language=language,
            hour=to_hour(at or utcnow()),
            value=value,
            org=org,
        )
    )
