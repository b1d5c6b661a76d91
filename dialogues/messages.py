"""Our own small message types. Channels translate their payloads into `Inbound` and render
`Outbound`; nothing in the domain sees a Telegram update or an HTTP request."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

# Telegram's limit for one message; the web chat applies the same.
MAX_TEXT = 4096


class Kind(StrEnum):
    TEXT = "text"
    COMMAND = "command"
    CHOICE = "choice"  # a pressed button; `data` holds what the button carried
    MEDIA = "media"  # stickers, photos, voice and the like; `data` names the kind
    EDITED = "edited"  # an edit of an earlier message


@dataclass(frozen=True)
class Inbound:
    kind: Kind
    text: str = ""
    command: str = ""  # without the slash, lower-case: "start"
    data: str = ""

    @classmethod
    def from_text(cls, text: str) -> Inbound:
        """Typed text; a leading "/word" makes it a command (also "/start@snakkes_bot")."""
        stripped = text.strip()
        if stripped.startswith("/") and len(stripped) > 1:
            word, _, rest = stripped[1:].partition(" ")
            command = word.split("@", 1)[0].lower()
            if command.isascii() and command.replace("_", "").isalnum():
                return cls(Kind.COMMAND, text=rest.strip(), command=command)
        return cls(Kind.TEXT, text=text)


@dataclass(frozen=True)
class Choice:
    label: str
    data: str  # at most 64 bytes (Telegram's callback_data limit)

    def __post_init__(self) -> None:
        if len(self.data.encode()) > 64:
            raise ValueError(f"choice data over 64 bytes: {self.data!r}")


@dataclass(frozen=True)
class Outbound:
    text: str
    choices: tuple[tuple[Choice, ...], ...] = field(default=())  # rows of buttons

    def __post_init__(self) -> None:
        if not self.text or len(self.text) > MAX_TEXT:
            raise ValueError("outbound text must have 1 to 4096 characters")


def rows(*choices: Choice, per_row: int = 1) -> tuple[tuple[Choice, ...], ...]:
    """Lay out buttons `per_row` to a row."""
    return tuple(choices[i : i + per_row] for i in range(0, len(choices), per_row))


class Lane(IntEnum):
    """Which messages go first when Telegram's budget is short: crisis answers and alerts,
    then replies in live conversations, then the relay, then check-ins and reminders."""

    CRISIS = 0
    LIVE = 1
    RELAY = 2
    ROUTINE = 3


class Delivery(StrEnum):
    SENT = "sent"
    BLOCKED = "blocked"  # the person blocked the bot (Telegram 403): stop writing to them
    FAILED = "failed"  # anything else; the message did not arrive


class Outbox(Protocol):
    """How the domain writes first (a check-in, a relayed message) to a participant.

    The running service supplies one that finds the participant's channel and address;
    tests may supply a recording one. Rate limits and 429s are the outbox's business.
    """

    async def send(self, participant_id: int, message: Outbound) -> Delivery: ...


class Written(Protocol):
    """A message written to the durable outbox, in the hands of its sender once the writing
    transaction committed."""

    async def first_try(self, timeout: float) -> Delivery: ...  # noqa: ASYNC109 - a bound wait


@runtime_checkable
class DurableOutbox(Outbox, Protocol):
    """An outbox that writes in the caller's transaction, so the message and the state
    change that caused it (a check-in taken over for sending) commit together or not at
    all; `deliver` hands it to the sender once that transaction committed."""

    async def write(
        self, session: AsyncSession, participant_id: int, message: Outbound
    ) -> Written | None:
        """The message's row in `session`'s transaction; None: the person is unreachable."""
        ...

    async def deliver(self, written: Written) -> Delivery: ...
