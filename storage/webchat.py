"""The web chat's mailbox: outgoing messages stored until the browser acknowledges them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Participant, WebchatMessage
from storage.types import utcnow


async def participant_by_pseudonym(session: AsyncSession, pseudonym: str) -> Participant | None:
    return await session.scalar(select(Participant).where(Participant.pseudonym == pseudonym))


async def store(
    session: AsyncSession, participant_id: int, text: str, choices: list[Any]
) -> WebchatMessage:
    """Keep one message for the browser; its id (the sequence number) is set on return."""
    message = WebchatMessage(
        participant_id=participant_id, text=text, choices=choices, created_at=utcnow()
    )
    session.add(message)
    await session.flush()
    return message


async def pending(session: AsyncSession, participant_id: int) -> Sequence[WebchatMessage]:
    """What the browser has not acknowledged yet, oldest first."""
    result = await session.scalars(
        select(WebchatMessage)
        .where(WebchatMessage.participant_id == participant_id)
        .order_by(WebchatMessage.id)
    )
    return result.all()


async def acknowledge(session: AsyncSession, participant_id: int, seqs: Iterable[int]) -> int:
    """Delete what the browser has received; only the person's own messages can go."""
    wanted = list(seqs)
    if not wanted:
        return 0
    result = await session.execute(
        delete(WebchatMessage).where(
            WebchatMessage.participant_id == participant_id, WebchatMessage.id.in_(wanted)
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def prune(session: AsyncSession, older_than: datetime) -> int:
    """Drop messages that waited longer than the deployment keeps text (or nobody can fetch
    any more: their browser session has expired)."""
    result = await session.execute(
        delete(WebchatMessage).where(WebchatMessage.created_at < older_than)
    )
    return int(getattr(result, "rowcount", 0) or 0)
