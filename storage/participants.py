"""Finding, creating and erasing participants."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, String, bindparam, delete, exists, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import updates
from storage.checkins import SENT
from storage.crypto import Keyring
from storage.db import unflushed_commit
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
_FOUND = (
    Participant,
    ConversationState,
    exists().where(Volunteer.participant_id == Participant.id),
    exists().where(Handover.participant_id == Participant.id, Handover.status.in_(_OPEN)),
    exists().where(Checkin.participant_id == Participant.id, Checkin.status == SENT),
)
_ARRIVAL = (
    select(*_FOUND)
    .outerjoin(ConversationState, ConversationState.participant_id == Participant.id)
    .where(Participant.pseudonym == bindparam("pseudonym"))
)


def _claiming_arrival(*, settling: bool) -> Select[Any]:
    """PostgreSQL: the update's claim (storage/updates.py) and the arrival in one statement:
    whether it was claimed, then the arrival's columns, NULL when nobody has the pseudonym
    (one row either way: the person is outer-joined to a row of one).

    `settling`: the update came from the inbox (a polled Telegram update, stored durably
    before its offset was confirmed; storage/inbox.py), and its row is deleted here. Then
    the turn commits without waiting for the flush (the row of one is
    `storage.db.unflushed_commit`): if a crash of the database forgets the turn, it
    forgets the row's deletion and the claim with it, and the update is handled again
    from its stored copy, nothing lost; its replies may then be sent twice, only after
    such a crash (README, "What each mode guarantees"). An update with nothing durable
    behind it (a webhook's, whose 200 promises it) commits as durably as ever."""
    claimed = updates.claimed(settling=settling)
    one = (unflushed_commit() if settling else select(literal(1).label("one"))).subquery("one")
    return (
        select(select(func.count()).select_from(claimed).scalar_subquery(), *_FOUND)
        .select_from(one)
        .outerjoin(Participant, Participant.pseudonym == bindparam("pseudonym"))
        .outerjoin(ConversationState, ConversationState.participant_id == Participant.id)
    )


_CLAIMING_ARRIVAL = {settling: _claiming_arrival(settling=settling) for settling in (False, True)}


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
    return await _arrived(
        session, keyring, row, pseudonym, channel=channel, address=address, language=language,
        create=create,
    )


async def claim_and_arrive(
    session: AsyncSession,
    keyring: Keyring,
    claim: updates.Claim | None,
    *,
    channel: str,
    channel_user_id: str,
    address: str,
    language: str,
    create: bool = True,
) -> tuple[bool, Arrival | None]:
    """`updates.claim` (when there is an update to claim), then `arrive` (unless the update
    was claimed before: then False and nothing is read); on PostgreSQL in one statement, a
    round trip fewer for every message."""
    connection = await session.connection()
    if claim is None or connection.dialect.name != "postgresql":
        if claim is not None and not await updates.claim(
            session, claim.channel, claim.update_key, inbox_update_id=claim.inbox_update_id
        ):
            return False, None
        arrival = await arrive(
            session, keyring, channel=channel, channel_user_id=channel_user_id,
            address=address, language=language, create=create,
        )
        return True, arrival
    pseudonym = keyring.pseudonym(channel, channel_user_id)
    statement = _CLAIMING_ARRIVAL[claim.inbox_update_id is not None]
    row = (await session.execute(statement, claim.values() | {"pseudonym": pseudonym})).one()
    if not row[0]:
        return False, None
    found = row[1:] if row[1] is not None else None
    arrival = await _arrived(
        session, keyring, found, pseudonym, channel=channel, address=address, language=language,
        create=create,
    )
    return True, arrival


async def _arrived(
    session: AsyncSession,
    keyring: Keyring,
    row: Sequence[Any] | None,
    pseudonym: str,
    *,
    channel: str,
    address: str,
    language: str,
    create: bool,
) -> Arrival | None:
    """The arrival from its row (None: nobody has the pseudonym yet)."""
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
