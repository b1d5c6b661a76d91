"""The running service's Outbox: from a participant id to their channel and address."""

from __future__ import annotations

import logging
from typing import Protocol

from dialogues.messages import Delivery, Outbound
from storage import participants
from storage.crypto import Keyring
from storage.db import Database
from storage.models import Participant

log = logging.getLogger(__name__)


class Sender(Protocol):
    """A channel's way of delivering one message to one address."""

    async def deliver(self, address: str, message: Outbound) -> Delivery: ...


class ChannelOutbox:
    def __init__(self, database: Database, keyring: Keyring) -> None:
        self.database = database
        self.keyring = keyring
        self.senders: dict[str, Sender] = {}

    def register(self, channel: str, sender: Sender) -> None:
        self.senders[channel] = sender

    async def send(self, participant_id: int, message: Outbound) -> Delivery:
        async with self.database.session() as session:
            participant = await session.get(Participant, participant_id)
        if participant is None or not participant.reachable:
            return Delivery.BLOCKED
        sender = self.senders.get(participant.channel)
        if sender is None:
            log.warning("no sender for channel %s", participant.channel)
            return Delivery.FAILED
        address = participants.address_of(self.keyring, participant)
        delivery = await sender.deliver(address, message)
        if delivery is Delivery.BLOCKED:
            async with self.database.session() as session, session.begin():
                await participants.mark_unreachable(session, participant.pseudonym)
        return delivery
