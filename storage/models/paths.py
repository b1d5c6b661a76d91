"""Which ways of help a person has taken, for "what helps" (insights): no text, no
details, when it first happened; erased with the person."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base


class ParticipantPath(Base):
    """A person took this path (kept a check-in, talked with a volunteer, visited a
    community) first at this time."""

    __tablename__ = "participant_paths"

    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), primary_key=True
    )
    path: Mapped[str] = mapped_column(String(16), primary_key=True)
    first_at: Mapped[datetime]
