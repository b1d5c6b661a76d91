"""Check-ins: the bot writing first, at a time the person chose.

Each row is one message the runner is to send once: a planned check-in, the one gentle
reminder after it, or the question whether to keep going. The database is the truth; the
scheduler only wakes the runner. A weekly check-in is one row at a time: when it is done
(sent, missed, failed) the next week's row is planned in the same transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.types import utcnow


class Checkin(Base):
    __tablename__ = "checkins"
    __table_args__ = (Index("ix_checkins_status_due_at", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(8))  # checkin | reminder | ask
    # The time of day the person chose ("morning", ...), kept by name so a deployment that
    # moves its slots moves the weekly check-ins with them; "" for reminders and questions.
    slot: Mapped[str] = mapped_column(String(16), default="")
    weekday: Mapped[int | None]  # 0 = Monday; set for a weekly check-in
    due_at: Mapped[datetime]
    # planned | paused | claimed | sending | sent | answered | missed | cancelled | failed
    # | blocked | uncertain (a send that crashed half-way: never repeated)
    status: Mapped[str] = mapped_column(String(12), default="planned")
    # For a reminder or a question: the check-in it follows.
    follows_id: Mapped[int | None] = mapped_column(ForeignKey("checkins.id", ondelete="CASCADE"))
    claimed_by: Mapped[str | None] = mapped_column(String(32))
    claimed_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    sent_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
