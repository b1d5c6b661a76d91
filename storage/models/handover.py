"""The handover to volunteers: invites, volunteers, the queue of handovers and the messages
relayed in them.

A volunteer is a participant too (their Telegram address is sealed like everyone's, and
/forget or deleting the participant removes the volunteer). A handover belongs to the young
person (ON DELETE CASCADE) and outlives the volunteer (ON DELETE SET NULL). Message text
lives only in `relay_messages`, deleted when the conversation ends unless the deployment
keeps it for a while ([privacy] message_retention_hours); it and the notes are sealed at
rest with the secret key (SealedText).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.types import SealedText, utcnow

OPEN_STATUSES = "('draft', 'waiting', 'active')"


class Invite(Base):
    """A one-time code for a new volunteer; only its SHA-256 hash is stored."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    org_slug: Mapped[str] = mapped_column(String(40))
    role: Mapped[str] = mapped_column(String(12))  # volunteer | coordinator
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class Volunteer(Base):
    __tablename__ = "volunteers"
    __table_args__ = (UniqueConstraint("org_slug", "alias"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), unique=True
    )
    org_slug: Mapped[str] = mapped_column(String(40))
    role: Mapped[str] = mapped_column(String(12))
    # The name young people see; None until chosen during onboarding.
    alias: Mapped[str | None] = mapped_column(String(24))
    accepted_at: Mapped[datetime | None]  # the code of conduct
    active: Mapped[bool] = mapped_column(default=False)  # registered and not deactivated
    available: Mapped[bool] = mapped_column(default=False)
    # What the volunteer's next typed text is: "" (nothing special), "alias", or
    # "handback:<handover id>" (the note for the next volunteer).
    awaiting: Mapped[str] = mapped_column(String(32), default="")
    # With room for more than one conversation: the one typed text goes to.
    focus_handover_id: Mapped[int | None]
    # Set for a volunteer of the browser console (argon2id; the console's log-in).
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # The console's second factor (RFC 6238), sealed at rest; None: not set up.
    totp_secret: Mapped[str | None] = mapped_column(SealedText("volunteers.totp_secret"))
    totp_step: Mapped[int | None]  # the 30-second step of the last code used: no replays
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_active_at: Mapped[datetime] = mapped_column(default=utcnow)


class Handover(Base):
    """One young person's way to a volunteer: draft (reading what the volunteer will see,
    writing a note) → waiting → active → ended; or withdrawn / timed_out from the queue."""

    __tablename__ = "handovers"
    __table_args__ = (
        Index("ix_handovers_status_crisis_requested", "status", "crisis", "requested_at"),
        # One open handover per young person, whatever two instances do at once.
        Index(
            "uq_handovers_open_participant",
            "participant_id",
            unique=True,
            sqlite_where=text(f"status IN {OPEN_STATUSES}"),
            postgresql_where=text(f"status IN {OPEN_STATUSES}"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True
    )
    volunteer_id: Mapped[int | None] = mapped_column(
        ForeignKey("volunteers.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(12))
    young_number: Mapped[int]  # "Ung #4821": from the pseudonym, identifies nobody
    org_slug: Mapped[str | None] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(2))
    age_band: Mapped[str] = mapped_column(String(8))
    channel: Mapped[str] = mapped_column(String(16))
    crisis: Mapped[bool] = mapped_column(default=False)
    writing_note: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str | None] = mapped_column(SealedText("handovers.note"))
    handback_note: Mapped[str | None] = mapped_column(SealedText("handovers.handback_note"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    requested_at: Mapped[datetime | None]  # first joined the queue: the order of service
    waiting_since: Mapped[datetime | None]  # this wait (after a hand-back: since then)
    timeout_noticed_at: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]
    last_message_at: Mapped[datetime | None]
    idle_asked_at: Mapped[datetime | None]
    resumed_at: Mapped[datetime | None]  # last told "nothing was lost" after a restart
    ended_at: Mapped[datetime | None]
    ended_by: Mapped[str | None] = mapped_column(String(12))
    flagged: Mapped[bool] = mapped_column(default=False)  # for the coordinator
    # The safety net last heard distress, not clear risk, in this conversation: the
    # console's gentle alert with the suggested direct question.
    distress_at: Mapped[datetime | None]
    feedback_rating: Mapped[int | None]
    feedback_again: Mapped[bool | None]
    debrief_topic: Mapped[str | None] = mapped_column(String(16))
    debrief_crisis: Mapped[bool | None]
    debrief_follow_up: Mapped[bool | None]


class RelayMessage(Base):
    __tablename__ = "relay_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    handover_id: Mapped[int] = mapped_column(
        ForeignKey("handovers.id", ondelete="CASCADE"), index=True
    )
    sender: Mapped[str] = mapped_column(String(10))  # young | volunteer
    text: Mapped[str] = mapped_column(SealedText("relay_messages.text"))
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
