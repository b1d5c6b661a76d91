"""Where each person is in the conversation, their loneliness measurements, and the
anonymised event log the statistics are computed from."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.types import utcnow


class ConversationState(Base):
    """One row per person: flow and node, the answers they chose (never free text), and the
    counters the conversation needs (fallback rotation, flood window, crisis flag)."""

    __tablename__ = "conversation_states"

    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), primary_key=True
    )
    flow: Mapped[str] = mapped_column(String(32))
    node: Mapped[str] = mapped_column(String(32))
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    last_fallback: Mapped[str | None] = mapped_column(String(32))
    flood_window_start: Mapped[datetime | None]
    flood_count: Mapped[int] = mapped_column(default=0)
    flood_noticed: Mapped[bool] = mapped_column(default=False)
    # When the safety net last fired for this person; the handover serves them first.
    crisis_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Measurement(Base):
    """The Three-Item Loneliness Scale (1-3 each) and the direct question (1-5), any of which
    may be skipped (None); under the pseudonym, so later measurements can be paired."""

    __tablename__ = "measurements"
    __table_args__ = (
        Index("ix_measurements_participant_id_taken_at", "participant_id", "taken_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True
    )
    taken_at: Mapped[datetime] = mapped_column(default=utcnow)
    context: Mapped[str] = mapped_column(String(16))  # intake | menu | checkin
    companionship: Mapped[int | None]
    left_out: Mapped[int | None]
    isolated: Mapped[int | None]
    lonely: Mapped[int | None]


class StatEvent(Base):
    """An anonymised event for the statistics: no pseudonym, no text, time to the hour."""

    __tablename__ = "stat_events"
    __table_args__ = (
        Index("ix_stat_events_kind_hour", "kind", "hour"),
        # Covering indexes for the statistics (storage/statistics.py): whole kinds over a
        # range of hours, grouped without visiting the table.
        Index("ix_stat_events_kind_hour_detail_org", "kind", "hour", "detail", "org"),
        Index(
            "ix_stat_events_kind_hour_channel_language",
            *("kind", "hour", "channel", "language", "detail"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # e.g. crisis, topic, new_person
    detail: Mapped[str] = mapped_column(String(32), default="")
    channel: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(2))
    hour: Mapped[datetime]
    # A measured amount where the kind has one (a wait or a length in seconds), else None.
    value: Mapped[int | None]
    # The partner organisation the event belongs to (a volunteer's), where there is one.
    org: Mapped[str | None] = mapped_column(String(40))
