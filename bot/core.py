"""The channel-agnostic core: one inbound message from one person, handled exactly once.

Every channel hands its messages here as an `Envelope`. The core claims the update,
finds the participant by pseudonym, lets the conversation answer, and writes the answer and
every message to someone else (the relay, a volunteer's alert) to the outbox, all in one
transaction. Once it commits, this instance's sender (bot/delivery.py) delivers them; a
failure rolls everything back, so a retried delivery starts from a clean slate, and a
redelivered update that was handled finds its answer already in the outbox.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery import Parcel, Postman, body_of, first_tries
from dialogues.content import LANGUAGES
from dialogues.conversation import Conversation, Turn
from dialogues.messages import Delivery, Inbound, Kind, Lane, Outbound
from dialogues.understanding import Meaning
from storage import inbox, outbox, participants, updates
from storage.crypto import Keyring
from storage.db import Database
from storage.models import Participant

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Envelope:
    """An inbound message with what the core needs to know about where it came from.

    `user_key` and `address` are the channel's own identifiers: the first is turned into a
    pseudonym, the second is sealed; neither is stored or logged as it is.
    """

    channel: str
    user_key: str
    address: str
    inbound: Inbound
    update_key: str | None = None
    language_hint: str | None = None
    # A polled Telegram update's row in the inbox (storage/inbox.py): it goes with the turn
    # that handled it (one commit, not two), deleted by the claim's statement. Stored
    # durably before its offset was confirmed, it makes good the turn's loss in a crash of
    # the database, so on PostgreSQL that turn commits without waiting for the flush
    # (storage.participants); a turn without one (a webhook's) commits durably.
    inbox_update_id: int | None = None


@dataclass
class Handled:
    replies: list[Outbound] = field(default_factory=list)
    duplicate: bool = False
    pseudonym: str = ""
    language: str | None = None  # the person's language after the turn; None if erased
    parcels: list[Parcel] = field(default_factory=list)  # the replies, in the sender's hands
    posts: list[Parcel] = field(default_factory=list)  # the turn's messages to other people

    async def first_tries(self, timeout: float = 10.0) -> list[Delivery]:  # noqa: ASYNC109
        """Wait until each reply was tried once (they are in the outbox either way)."""
        return await first_tries(self.parcels, timeout)


@dataclass
class _Letter:
    """A message written in the turn's transaction: its outbox row, and its id once the row
    is inserted (`_post`)."""

    row: dict[str, Any]
    address: str
    message: Outbound
    reply: bool
    id: int = 0


class Core:
    def __init__(
        self,
        database: Database,
        keyring: Keyring,
        conversation: Conversation,
        postman: Postman,
        *,
        default_language: str = "da",
    ) -> None:
        self.database = database
        self.keyring = keyring
        self.conversation = conversation
        self.postman = postman
        self.default_language = default_language

    def language_for(self, hint: str | None) -> str:
        """Telegram reports e.g. "en-GB"; anything we do not speak gets the default."""
        base = (hint or "").split("-", 1)[0].lower()
        return base if base in LANGUAGES else self.default_language

    async def handle(self, envelope: Envelope) -> Handled:
        meaning = await self.understand(envelope)
        handled, letters = await self._handle(envelope, meaning)
        parcels = [self._parcel(envelope, letter) for letter in letters]
        self.postman.take(parcels)
        for parcel, letter in zip(parcels, letters, strict=True):
            (handled.parcels if letter.reply else handled.posts).append(parcel)
        return handled

    async def understand(self, envelope: Envelope) -> Meaning | None:
        """The safety net and the embedding of the text, before the transaction opens: the
        model runs in a thread while no database connection is held."""
        key = self.keyring.pseudonym(envelope.channel, envelope.user_key)
        return await self.conversation.understand(key, envelope.inbound)

    async def _handle(
        self, envelope: Envelope, meaning: Meaning | None = None
    ) -> tuple[Handled, list[_Letter]]:
        async with self.database.session() as session, session.begin():
            language = self.language_for(envelope.language_hint)
            claim = None
            if envelope.update_key is not None:
                claim = updates.Claim(
                    envelope.channel, envelope.update_key, envelope.inbox_update_id
                )
            elif envelope.inbox_update_id is not None:
                await inbox.handled_one(session, envelope.inbox_update_id)
            claimed, arrival = await participants.claim_and_arrive(
                session,
                self.keyring,
                claim,
                channel=envelope.channel,
                channel_user_id=envelope.user_key,
                address=envelope.address,
                language=language,
                # A button pressed by someone we do not know (say, just after /forget) must
                # not bring their record back: it only gets a kind "no longer active".
                create=envelope.inbound.kind is not Kind.CHOICE,
            )
            if not claimed:
                log.info("duplicate update ignored", extra={"channel": envelope.channel})
                return Handled(duplicate=True), []
            if arrival is None:
                stale = [self.conversation.stale(language)]
                letters = self._replies(envelope, None, stale, Lane.LIVE)
                await self._post(session, letters)
                return Handled(replies=stale, language=language), letters
            participant = arrival.participant
            turn = await self.conversation.handle(
                session, arrival, envelope.inbound, channel=envelope.channel, meaning=meaning
            )
            letters = await self._letters(session, envelope, turn)
            await self._post(session, letters)
            handled = Handled(
                replies=turn.replies,
                pseudonym=participant.pseudonym,
                language=None if turn.erased else participant.language,
            )
            return handled, letters

    async def _letters(
        self, session: AsyncSession, envelope: Envelope, turn: Turn
    ) -> list[_Letter]:
        """The turn's replies and its messages to others, as outbox rows."""
        lane = Lane.CRISIS if turn.urgent else Lane.LIVE
        own = None if turn.erased else turn.participant
        letters = self._replies(envelope, own, turn.replies, lane)
        now = self.postman.clock()
        for participant_id, message in turn.outgoing:
            other = await session.get(Participant, participant_id)
            if other is None or not other.reachable:
                continue
            row = self._row(other.pseudonym, other.channel, other.sealed_address,
                            message, Lane.CRISIS if turn.urgent else Lane.RELAY, other.id, now)
            address = participants.address_of(self.keyring, other)
            letters.append(_Letter(row, address, message, reply=False))
        return letters

    @staticmethod
    async def _post(session: AsyncSession, letters: list[_Letter]) -> None:
        """The letters' rows in one Core statement after the ORM's flush of the turn's
        state (the unit of work for an outbox row cost more of the loop than its INSERT)."""
        ids = await outbox.insert(session, [letter.row for letter in letters])
        for letter, row_id in zip(letters, ids, strict=True):
            letter.id = row_id

    def _replies(
        self,
        envelope: Envelope,
        participant: Participant | None,
        replies: Sequence[Outbound],
        lane: Lane,
    ) -> list[_Letter]:
        """Rows for the person who wrote; `participant` is None when nobody is stored (the
        last words after an erasure), and the row then carries its own sealed address."""
        if not replies:
            return []
        chat = self.keyring.pseudonym(envelope.channel, envelope.user_key)
        sealed = (
            participant.sealed_address
            if participant is not None
            else self.keyring.seal(envelope.address, chat)
        )
        now = self.postman.clock()
        pid = participant.id if participant is not None else None
        return [
            _Letter(
                self._row(chat, envelope.channel, sealed, reply, lane, pid, now),
                envelope.address,
                reply,
                reply=True,
            )
            for reply in replies
        ]

    def _row(  # noqa: PLR0917 - one row's fields, each named at the call
        self,
        chat: str,
        channel: str,
        sealed_address: bytes,
        message: Outbound,
        lane: Lane,
        participant_id: int | None,
        now: datetime,
    ) -> dict[str, Any]:
        return outbox.values_of(
            self.keyring,
            chat=chat,
            channel=channel,
            sealed_address=sealed_address,
            body=body_of(message),
            lane=int(lane),
            participant_id=participant_id,
            owner=self.postman.owner,
            held_until=self.postman.held_until(now),
            now=now,
        )

    def _parcel(self, envelope: Envelope, letter: _Letter) -> Parcel:
        row = letter.row
        return Parcel(
            letter.id,
            row["chat"],
            row["channel"],
            letter.address,
            letter.message,
            Lane(row["lane"]),
            row["created_at"],
        )

    async def claim_group_notice(self, channel: str, group_key: str, update_key: str) -> bool:
        """True when this group should get the one 'private chats only' notice."""
        pseudonym = self.keyring.pseudonym(f"{channel}-group", group_key)
        async with self.database.session() as session, session.begin():
            if not await updates.claim(session, channel, update_key):
                return False
            return await updates.claim_group_notice(session, pseudonym)

    async def mark_unreachable(self, pseudonym: str) -> None:
        """The person blocked the bot: stop writing to them until they write again."""
        async with self.database.session() as session, session.begin():
            await participants.mark_unreachable(session, pseudonym)
        log.info("participant unreachable; sends stopped")
