"""Finding, creating and erasing participants."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import String, bindparam, delete, exists, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.checkins import SENT
from storage.crypto import Keyring
from storage.handover import OPEN
from storage.models import Checkin, ConversationState, Handover, Participant, Volunteer
from storage.types import utcnow

# Refreshed at most this often: an hour is precise enough for "last active", and most
# messages then write nothing to the participant's row.
ACTIVE_PRECISION = timedelta(hours=1)


@dataclass(frozen=True)
class Involvement:
    """What else a person was part of when their message arrived, read with them in one
    query: a feature whose answer here is no skips its own look-up for this message."""

    volunteer: bool = False
    open_handover: bool = False
    checkin_sent: bool = False  # a check-in or reminder waits for an answer


NOT_INVOLVED = Involvement()


@dataclass(frozen=True)
class Arrival:
    participant: Participant
    is_new: bool
    state: ConversationState | None = None  # None: new, or not yet in a conversation
    involvement: Involvement = NOT_INVOLVED


# Run for every message, so built once (bound parameters), not per call: the participant,
# their conversation state and the three checks (on indexes) in one statement. The open
# states as plain bound values, not an IN list that is expanded (and its SQL rendered
# again) at every execution.
_OPEN = [literal(status, String) for status in OPEN]
_ARRIVAL = (
    select(
        Participant,
        ConversationState,
        exists().where(Volunteer.participant_id == Participant.id),
        exists().where(Handover.participant_id == Participant.id, Handover.status.in_(_OPEN)),
        exists().where(Checkin.participant_id == Participant.id, Checkin.status == SENT),
    )
    .outerjoin(ConversationState, ConversationState.participant_id == Participant.id)
    .where(Participant.pseudonym == bindparam("pseudonym"))
)


async def arrive(
    session: AsyncSession,
    keyring: Keyring,
    *,
    channel: str,
    channel_user_id: str,
    address: str,
    language: str,
    create: bool = True,
) -> Arrival | None:
    """The participant for this channel user with what they are part of; created on first
    contact (unless `create` is false: then None).

    `language` is used only for a new participant. The sealed address is refreshed when it
    changed (a web session renewed), and a participant seen again is reachable again.
    """
    pseudonym = keyring.pseudonym(channel, channel_user_id)
    row = (await session.execute(_ARRIVAL, {"pseudonym": pseudonym})).first()
    now = utcnow()
    if row is None:
        if not create:
            return None
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
        return Arrival(participant, is_new=True)
    found, state, volunteer, handover, checkin = row
    if (
        not keyring.is_current(found.sealed_address)
        or keyring.open(found.sealed_address, pseudonym) != address
    ):
        found.sealed_address = keyring.seal(address, pseudonym)
    if now - found.last_active_at >= ACTIVE_PRECISION:
        found.last_active_at = now
    if not found.reachable:
        found.reachable = True
    return Arrival(found, False, state, Involvement(volunteer, handover, checkin))


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
