"""The running service's Outbox for the domain's runners (check-ins, the handover's rounds):
a message to a participant becomes an outbox row, then the sender delivers it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery import Parcel, Postman, body_of
from dialogues.messages import Delivery, Lane, Outbound, Written
from storage import outbox, participants
from storage.crypto import Keyring
from storage.db import Database
from storage.models import Participant

# How long a runner waits for the first try before it counts the message as handed over.
FIRST_TRY_WAIT = 30.0


class ChannelOutbox:
    def __init__(
        self, database: Database, keyring: Keyring, postman: Postman, lane: Lane = Lane.RELAY
    ) -> None:
        self.database = database
        self.keyring = keyring
        self.postman = postman
        self.lane = lane

    def in_lane(self, lane: Lane) -> ChannelOutbox:
        """The same outbox, for messages of another lane (check-ins: Lane.ROUTINE)."""
        return ChannelOutbox(self.database, self.keyring, self.postman, lane)

    async def send(self, participant_id: int, message: Outbound) -> Delivery:
        """Write the message to the outbox and wait for its first try: SENT when it arrived
        or is being tried again (the sender keeps it), BLOCKED on a 403, FAILED on a 400."""
        async with self.database.session() as session, session.begin():
            parcel = await self.write(session, participant_id, message)
        if parcel is None:
            return Delivery.BLOCKED
        return await self.deliver(parcel)

    async def write(
        self, session: AsyncSession, participant_id: int, message: Outbound
    ) -> Parcel | None:
        """The message's row, in the caller's transaction (deliver it once that commits)."""
        now = self.postman.clock()
        participant = await session.get(Participant, participant_id)
        if participant is None or not participant.reachable:
            return None
        row = outbox.add(session, outbox.values_of(
            self.keyring,
            chat=participant.pseudonym,
            channel=participant.channel,
            sealed_address=participant.sealed_address,
            body=body_of(message),
            lane=int(self.lane),
            participant_id=participant.id,
            owner=self.postman.owner,
            held_until=self.postman.held_until(now),
            now=now,
        ))
        await session.flush()
        address = participants.address_of(self.keyring, participant)
        return Parcel(row.id, row.chat, row.channel, address, message, self.lane, row.created_at)

    async def deliver(self, written: Written) -> Delivery:
        """Hand a written message (its transaction committed) to the sender; wait for its
        first try."""
        if not isinstance(written, Parcel):
            raise TypeError("not written by this outbox")
        self.postman.take([written])
        return await written.first_try(FIRST_TRY_WAIT)
