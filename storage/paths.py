"""The paths of help a person has taken, marked once each (see models/paths.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ParticipantPath

CHECKINS, VOLUNTEER, COMMUNITY = "checkins", "volunteer", "community"
PATHS = (CHECKINS, VOLUNTEER, COMMUNITY)


async def mark(session: AsyncSession, participant_id: int, path: str, now: datetime) -> None:
    """Note that the person took `path`, unless they had before (the first time stays).
    The time is exact, like a measurement's: what helps compares the two."""
    if path not in PATHS:
        raise ValueError(f"unknown path {path!r}")
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    await session.execute(
        dialect.insert(ParticipantPath)
        .values(participant_id=participant_id, path=path, first_at=now)
        .on_conflict_do_nothing()
    )
