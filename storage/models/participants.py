"""Participants, and the service's own bookkeeping of updates and groups."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.types import utcnow


class Participant(Base):
    """A person on one channel, known only by a pseudonym; no name, username or phone."""

    __tablename__ = "participants"

    id: Mapped[int] = mapped_column(primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    # The address to write back to (a Telegram chat id), sealed under the secret key.
    sealed_address: Mapped[bytes] = mapped_column(LargeBinary)
    language: Mapped[str] = mapped_column(String(2))
    # The age band the person chose to tell (e.g. "15-17"), or None.
    age_band: Mapped[str | None] = mapped_column(String(8))
    # Set once the person has seen and accepted what snakkes is (a bot, not therapy).
    consented_at: Mapped[datetime | None]
    reachable: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_active_at: Mapped[datetime] = mapped_column(default=utcnow)


class PendingErasure(Base):
    """A /forget that waits for its one confirmation; removed with the participant."""

    __tablename__ = "pending_erasures"

    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), primary_key=True
    )
    token: Mapped[str] = mapped_column(String(16))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProcessedUpdate(Base):
    """Inbound updates already handled, so a redelivery is recognised across restarts and
    instances. Holds no link to a person: an update id alone identifies nobody."""

    __tablename__ = "processed_updates"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    update_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class GroupNotice(Base):
    """Groups already told that snakkes only talks in private (keyed by a pseudonym)."""

    __tablename__ = "group_notices"

    pseudonym: Mapped[str] = mapped_column(String(64), primary_key=True)
    noticed_at: Mapped[datetime] = mapped_column(default=utcnow)
