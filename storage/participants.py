"""Finding, creating and erasing participants."""

from __future__ import annotations

from sqlalchemy import bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.crypto import Keyring
from storage.models import Participant
from storage.types import utcnow

# Run for every message, so built once (bound parameters), not per call.
_BY_PSEUDONYM = select(Participant).where(Participant.pseudonym == bindparam("pseudonym"))


async def resolve(
    session: AsyncSession,
    keyring: Keyring,
    *,
    channel: str,
    channel_user_id: str,
    address: str,
    language: str,
    create: bool = True,
) -> tuple[Participant | None, bool]:
    """The participant for this channel user, created on first contact (unless `create` is
    false: then None); True when new.

    `language` is used only for a new participant. The sealed address is refreshed when it
    changed (a web session renewed), and a participant seen again is reachable again.
    """
    pseudonym = keyring.pseudonym(channel, channel_user_id)
    found = await session.scalar(_BY_PSEUDONYM, {"pseudonym": pseudonym})
    now = utcnow()
    if found is None:
        if not create:
            return None, False
        participant = Participant(
            pseudonym=pseudonym,
            channel=channel,
            sealed_address=keyring.seal(address, pseudonym),
            language=language,
            created_at=now,
            last_active_at=now,
        )
        session.add(participant)
        await session.flush()
        return participant, True
    if keyring.open(found.sealed_address, pseudonym) != address:
        found.sealed_address = keyring.seal(address, pseudonym)
    found.last_active_at = now
    found.reachable = True
    return found, False


def address_of(keyring: Keyring, participant: Participant) -> str:
    return keyring.open(participant.sealed_address, participant.pseudonym)


async def erase(session: AsyncSession, participant_id: int) -> None:
    """Delete the participant; every row about them goes with it (ON DELETE CASCADE)."""
    await session.execute(delete(Participant).where(Participant.id == participant_id))


async def mark_unreachable(session: AsyncSession, pseudonym: str) -> Participant | None:
    participant = await session.scalar(
        select(Participant).where(Participant.pseudonym == pseudonym)
    )
    if participant is not None:
        participant.reachable = False
    return participant
