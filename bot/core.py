"""The channel-agnostic core: one inbound message from one person, handled exactly once.

Every channel hands its messages here as an `Envelope`. The core claims the update,
finds the participant by pseudonym, lets the conversation answer, and commits all of it
in one transaction; the channel then sends the replies. A failure rolls everything back,
so a retried delivery starts from a clean slate.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from dialogues.content import LANGUAGES
from dialogues.conversation import AfterCommit, Conversation
from dialogues.messages import Inbound, Kind, Outbound
from dialogues.understanding import Meaning
from storage import participants, updates
from storage.crypto import Keyring
from storage.db import Database

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


@dataclass
class Handled:
    replies: list[Outbound] = field(default_factory=list)
    duplicate: bool = False
    pseudonym: str = ""


class Core:
    def __init__(
        self,
        database: Database,
        keyring: Keyring,
        conversation: Conversation,
        *,
        default_language: str = "da",
    ) -> None:
        self.database = database
        self.keyring = keyring
        self.conversation = conversation
        self.default_language = default_language

    def language_for(self, hint: str | None) -> str:
        """Telegram reports e.g. "en-GB"; anything we do not speak gets the default."""
        base = (hint or "").split("-", 1)[0].lower()
        return base if base in LANGUAGES else self.default_language

    async def handle(self, envelope: Envelope) -> Handled:
        meaning = await self.understand(envelope)
        handled, after_commit = await self._handle(envelope, meaning)
        for work in after_commit:
            try:
                await work()
            except Exception as error:
                # Committed already: what is left is a message to someone else that did not
                # go out; the runners' rounds catch up with the state (e.g. a block).
                log.error("after-commit work failed: %s", type(error).__name__)
        return handled

    async def understand(self, envelope: Envelope) -> Meaning | None:
        """The safety net (and the embedding) on the text, before the transaction opens:
        the model runs in a thread while no database connection is held."""
        inbound = envelope.inbound
        if inbound.kind is Kind.CHOICE or not inbound.text.strip():
            return None
        if inbound.kind is Kind.COMMAND:
            # A command's argument is a code or a deep-link payload: the lexicon reads it,
            # the model (which guesses at random strings) does not.
            return self.conversation.safety.plain(inbound.text)
        key = self.keyring.pseudonym(envelope.channel, envelope.user_key)
        return await self.conversation.safety.understand(key, inbound.text)

    async def _handle(
        self, envelope: Envelope, meaning: Meaning | None = None
    ) -> tuple[Handled, list[AfterCommit]]:
        async with self.database.session() as session, session.begin():
            if envelope.update_key is not None and not await updates.claim(
                session, envelope.channel, envelope.update_key
            ):
                log.info("duplicate update ignored", extra={"channel": envelope.channel})
                return Handled(duplicate=True), []
            language = self.language_for(envelope.language_hint)
            arrival = await participants.arrive(
                session,
                self.keyring,
                channel=envelope.channel,
                channel_user_id=envelope.user_key,
                address=envelope.address,
                language=language,
                # A button pressed by someone we do not know (say, just after /forget) must
                # not bring their record back: it only gets a kind "no longer active".
                create=envelope.inbound.kind is not Kind.CHOICE,
            )
            if arrival is None:
                return Handled(replies=[self.conversation.stale(language)]), []
            participant = arrival.participant
            turn = await self.conversation.handle(
                session, arrival, envelope.inbound, channel=envelope.channel, meaning=meaning
            )
            handled = Handled(replies=turn.replies, pseudonym=participant.pseudonym)
            return handled, turn.after_commit

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
