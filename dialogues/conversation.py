"""The entry point of the conversation: one inbound message of one participant in, the
replies out. Commands every person has live here; the flows build on it."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dialogues.content import LANGUAGES, Texts
from dialogues.messages import MAX_TEXT, Choice, Inbound, Kind, Outbound, rows
from storage import participants
from storage.models import Participant, PendingErasure
from storage.types import utcnow

LANGUAGE_NAMES = {"da": "Dansk", "en": "English"}


@dataclass
class Turn:
    """One inbound message being handled, inside the caller's transaction."""

    session: AsyncSession
    participant: Participant
    inbound: Inbound
    is_new: bool
    replies: list[Outbound] = field(default_factory=list)
    erased: bool = False

    @property
    def language(self) -> str:
        return self.participant.language


Handler = Callable[[Turn], Awaitable[None]]


class Conversation:
    """Routes a turn: commands, button presses, input the bot cannot use, then free text."""

    def __init__(self, texts: Texts) -> None:
        self.texts = texts
        self._commands: dict[str, Handler] = {
            "start": self._start,
            "help": self._help,
            "privacy": self._privacy,
            "forget": self._forget,
            "language": self._language,
        }
        self._choices: dict[str, Handler] = {
            "consent": self._consent,
            "lang": self._set_language,
            "forget": self._confirm_forget,
        }

    @property
    def commands(self) -> tuple[str, ...]:
        """Public commands, in the order menus list them."""
        return tuple(self._commands)

    async def handle(self, turn: Turn) -> None:
        inbound = turn.inbound
        if inbound.kind is Kind.COMMAND:
            handler = self._commands.get(inbound.command, self._unknown_command)
        elif inbound.kind is Kind.CHOICE:
            handler = self._choices.get(inbound.data.split(":", 1)[0], self._stale)
        elif inbound.kind is Kind.MEDIA:
            handler = self._say("media")
        elif inbound.kind is Kind.EDITED:
            handler = self._say("edited")
        elif not inbound.text.strip():
            return  # nothing to answer: an empty message is ignored on purpose
        elif len(inbound.text) > MAX_TEXT:
            handler = self._too_long
        else:
            handler = self._free_text
        await handler(turn)

    def say(self, turn: Turn, key: str, *choices: Choice, **values: object) -> None:
        turn.replies.append(Outbound(self.texts.get(key, turn.language, **values), rows(*choices)))

    def _say(self, key: str) -> Handler:
        async def handler(turn: Turn) -> None:
            self.say(turn, key)

        return handler

    async def _start(self, turn: Turn) -> None:
        choices = (
            ()
            if turn.participant.consented_at
            else (Choice(self.texts.get("consent_button", turn.language), "consent"),)
        )
        self.say(turn, "greeting", *choices)

    async def _consent(self, turn: Turn) -> None:
        if turn.participant.consented_at is None:
            turn.participant.consented_at = utcnow()
        self.say(turn, "consent_thanks")

    async def _help(self, turn: Turn) -> None:
        self.say(turn, "help")

    async def _privacy(self, turn: Turn) -> None:
        self.say(turn, "privacy")

    async def _language(self, turn: Turn) -> None:
        buttons = [Choice(LANGUAGE_NAMES[lang], f"lang:{lang}") for lang in LANGUAGES]
        self.say(turn, "language_prompt", *buttons)

    async def _set_language(self, turn: Turn) -> None:
        language = turn.inbound.data.partition(":")[2]
        if language not in LANGUAGES:
            await self._stale(turn)
            return
        turn.participant.language = language
        self.say(turn, "language_set")

    async def _forget(self, turn: Turn) -> None:
        """Ask once; the buttons carry a one-time token so an old confirmation cannot erase."""
        token = secrets.token_hex(4)
        pending = await turn.session.get(PendingErasure, turn.participant.id)
        if pending is None:
            turn.session.add(PendingErasure(participant_id=turn.participant.id, token=token))
        else:
            pending.token, pending.requested_at = token, utcnow()
        self.say(
            turn,
            "forget_confirm",
            Choice(self.texts.get("forget_yes", turn.language), f"forget:yes:{token}"),
            Choice(self.texts.get("forget_no", turn.language), f"forget:no:{token}"),
        )

    async def _confirm_forget(self, turn: Turn) -> None:
        _, answer, token = [*turn.inbound.data.split(":"), "", ""][:3]
        pending = await turn.session.scalar(
            select(PendingErasure).where(PendingErasure.participant_id == turn.participant.id)
        )
        if pending is None or not secrets.compare_digest(pending.token, token):
            await self._stale(turn)
            return
        if answer == "yes":
            language = turn.language
            await participants.erase(turn.session, turn.participant.id)
            turn.erased = True
            turn.replies.append(Outbound(self.texts.get("forget_done", language)))
        else:
            await turn.session.delete(pending)
            self.say(turn, "forget_cancelled")

    async def _unknown_command(self, turn: Turn) -> None:
        self.say(turn, "unknown_command")

    async def _stale(self, turn: Turn) -> None:
        turn.replies.append(self.stale(turn.language))

    def stale(self, language: str) -> Outbound:
        """The answer to a button that no longer means anything."""
        return Outbound(self.texts.get("stale_button", language))

    async def _too_long(self, turn: Turn) -> None:
        self.say(turn, "too_long", limit=MAX_TEXT)

    async def _free_text(self, turn: Turn) -> None:
        if turn.is_new or turn.participant.consented_at is None:
            await self._start(turn)
            return
        self.say(turn, "listening")
