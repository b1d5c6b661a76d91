"""The web chat's outgoing messages, kept until the browser acknowledges them.

The web has no push: a message for a person in the web chat (a reply, a check-in, a
volunteer's words) is stored here first and sent to any open socket. Its id is the
sequence number the browser acknowledges; the row, text and all, is deleted on that ack
or with the participant (/forget, "erase everything"), or when it has waited longer than
the retention allows; the text is sealed at rest (SealedText).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.types import SealedText, utcnow


class WebchatMessage(Base):
    __tablename__ = "webchat_messages"
    # AUTOINCREMENT on SQLite: a sequence number is never reused, even after every row was
    # acknowledged and deleted (PostgreSQL's sequences never reuse one anyway).
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012 - SQLAlchemy's own API

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(SealedText("webchat_messages.text"))
    # Rows of buttons: [[{"label": ..., "data": ...}, ...], ...]
    choices: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
