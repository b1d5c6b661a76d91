"""Messages on their way to a person: written in the same transaction as the turn (or the
round) that caused them, deleted once the channel has them (bot/delivery.py).

Nothing readable waits here: the address is the participant's sealed one, the text and its
buttons are sealed under the secret key too. A message that failed for good keeps only why.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.types import utcnow


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_chat_id", "chat", "id"),
        Index("ix_outbox_due_at", "due_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Erasing the person erases what still waits for them; None for the last words after
    # an erasure (the answer to /forget) and for people who were never stored.
    participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True
    )
    chat: Mapped[str] = mapped_column(String(64))  # the recipient's pseudonym: order per chat
    channel: Mapped[str] = mapped_column(String(16))
    sealed_address: Mapped[bytes] = mapped_column(LargeBinary)  # sealed with `chat`
    sealed_body: Mapped[bytes] = mapped_column(LargeBinary)  # text and buttons, sealed
    lane: Mapped[int] = mapped_column(SmallInteger)  # dialogues.messages.Lane
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The instance sending it, until when; an instance that died lets it go by expiring.
    claimed_by: Mapped[str | None] = mapped_column(String(32))
    claimed_until: Mapped[datetime | None]
    # Set when it failed for good (Telegram's 400, or too old): the body is gone then.
    failed_reason: Mapped[str | None] = mapped_column(String(200))


class InboxUpdate(Base):
    """A Telegram update fetched by polling, kept until it is handled: the next offset is
    asked for (which confirms the batch to Telegram) only once the batch is stored here.

    The update itself is sealed; one that cannot be read is set aside without its content.
    """

    __tablename__ = "telegram_inbox"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    sealed_update: Mapped[bytes | None] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    set_aside_at: Mapped[datetime | None]


class TelegramSend(Base):
    """One send to Telegram in the shared window (PostgreSQL, several instances): it counts
    from its start until a second after its answer (a minute, in a group's own window;
    storage/budget.py)."""

    __tablename__ = "telegram_sends"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime]
    answered_at: Mapped[datetime | None] = mapped_column(index=True)
    # The chat, as a keyed hash (bot/telegram/limits.py), for the per-chat limits.
    chat: Mapped[str | None] = mapped_column(String(64), index=True)


class TelegramBudget(Base):
    """The one row every instance locks to take a place in the window, one at a time."""

    __tablename__ = "telegram_budget"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
