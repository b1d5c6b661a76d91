"""One-time invite codes for volunteers and coordinators.

A code is random (secrets), shown once on the coordinator's terminal, and stored only as
its SHA-256 hash: a copy of the database cannot be used to sign up. Redeeming marks it used
in one conditional update, so a code works exactly once, and only before it expires.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from storage import handover
from storage.models import Invite

ROLES = ("volunteer", "coordinator")
# No 0/O, 1/I/L: a code is read off one screen and typed on a phone.
_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_GROUPS, _GROUP_LENGTH = 3, 4  # 60 bits
_DURATION = re.compile(r"^(\d{1,4})([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def new_code() -> str:
    groups = (
        "".join(secrets.choice(_ALPHABET) for _ in range(_GROUP_LENGTH)) for _ in range(_GROUPS)
    )
    return "-".join(groups)


def code_hash(code: str) -> str:
    """The stored form; spaces, dashes and case do not matter when typing a code."""
    normalised = re.sub(r"[\s-]", "", code).upper()
    return hashlib.sha256(normalised.encode()).hexdigest()


def parse_duration(text: str) -> timedelta:
    """"7d", "12h", "30m"; raises ValueError."""
    match = _DURATION.match(text.strip().lower())
    if match is None or int(match.group(1)) == 0:
        raise ValueError(f"{text!r} is not a duration like 7d, 12h or 30m")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def create(
    session: AsyncSession, org_slug: str, role: str, *, now: datetime, valid_for: timedelta
) -> str:
    """Add an invite; returns the code, which is not stored anywhere."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    code = new_code()
    session.add(
        Invite(
            code_hash=code_hash(code),
            org_slug=org_slug,
            role=role,
            created_at=now,
            expires_at=now + valid_for,
        )
    )
    return code


async def redeem(session: AsyncSession, code: str, now: datetime) -> Invite | None:
    if not code.strip():
        return None
    return await handover.redeem_invite(session, code_hash(code), now)
