"""The volunteers' browser console: log-in sessions, the coordinators' inbox, canned
responses and the read-along audit log.

None of these tables holds what a young person or a volunteer wrote. The inbox says that
a conversation was flagged or needs a follow-up, by whom and for which "Ung #NNNN"; the
audit log says which coordinator read along with which conversation, and when.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.types import utcnow


class ConsoleSession(Base):
    """A volunteer's log-in: the cookie's token is stored only as its SHA-256 hash."""

    __tablename__ = "console_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(
        ForeignKey("volunteers.id", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class InboxItem(Base):
    """Something a coordinator of the organisation should look at: a flag, or a debrief
    that asked for a follow-up. Open until a coordinator marks it handled."""

    __tablename__ = "inbox_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_slug: Mapped[str] = mapped_column(String(40), index=True)
    kind: Mapped[str] = mapped_column(String(12))  # flag | follow_up
    handover_id: Mapped[int | None] = mapped_column(
        ForeignKey("handovers.id", ondelete="SET NULL")
    )
    young_number: Mapped[int]
    volunteer_alias: Mapped[str] = mapped_column(String(24))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(8), default="open")  # open | handled
    handled_by: Mapped[str | None] = mapped_column(String(64))
    handled_at: Mapped[datetime | None]


class CannedResponse(Base):
    """A reply a volunteer can insert with one click; {pseudonym} and {alias} are filled
    in for the conversation at hand."""

    __tablename__ = "canned_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_slug: Mapped[str] = mapped_column(String(40), index=True)
    language: Mapped[str] = mapped_column(String(2))
    title: Mapped[str] = mapped_column(String(60))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReadAlong(Base):
    """A coordinator opened a conversation read-only: who, which, when."""

    __tablename__ = "read_alongs"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_slug: Mapped[str] = mapped_column(String(40), index=True)
    coordinator_name: Mapped[str] = mapped_column(String(64))
    handover_id: Mapped[int | None] = mapped_column(
        ForeignKey("handovers.id", ondelete="SET NULL")
    )
    young_number: Mapped[int]
    volunteer_alias: Mapped[str] = mapped_column(String(24))
    viewed_at: Mapped[datetime] = mapped_column(default=utcnow)
