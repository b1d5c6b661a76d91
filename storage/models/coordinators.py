"""Coordinators of partner organisations and their dashboard sessions.

A coordinator logs in to the dashboard with a name and a password (only an argon2 hash is
stored). A session is a random token in an HttpOnly cookie; the table keeps only the token's
SHA-256 hash, so a copy of the database cannot be used to take over a session.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.types import utcnow


class Coordinator(Base):
    __tablename__ = "coordinators"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    org_slug: Mapped[str] = mapped_column(String(40))
    admin: Mapped[bool] = mapped_column(default=False)  # sees every organisation
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]


class DashboardSession(Base):
    __tablename__ = "dashboard_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    coordinator_id: Mapped[int] = mapped_column(
        ForeignKey("coordinators.id", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class LoginThrottle(Base):
    """Log-in attempts per key (a keyed hash of a name or of an address; never the name or
    the address itself), counted before the password is checked. `not_before` is when the
    next attempt may be checked: exponential back-off, not a lock-out."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    not_before: Mapped[datetime]
    updated_at: Mapped[datetime] = mapped_column(index=True)
