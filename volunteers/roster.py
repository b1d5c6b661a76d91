"""Who is on the roster: signing up in the browser console, and deactivating.

Both the CLI (`snakkes volunteers deactivate`) and the dashboard call `deactivate`; the
handover runner then hands the volunteer's conversations back to the queue. A volunteer of
the browser console is a participant on the "console" channel like any other (so the
handover's messages to volunteers reach them the same way), with a random key as their
channel user id and address: nothing in it points at a person.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from storage import console, coordinators, participants
from storage import handover as store
from storage.crypto import Keyring
from storage.models import Volunteer
from volunteers import invites

CONSOLE_CHANNEL = "console"
ALIAS = re.compile(r"^[^\W\d_][^\W\d_ '-]*(?:[ '-][^\W\d_]+)*$")


def clean_alias(text: str) -> str | None:
    """The alias as it will be shown, or None when it is not a plausible name."""
    alias = " ".join(text.split())
    return alias if 2 <= len(alias) <= 24 and ALIAS.match(alias) else None


class SignUp(StrEnum):
    DONE = "done"
    CODE = "code"  # unknown, used or expired
    ALIAS_INVALID = "alias_invalid"
    ALIAS_TAKEN = "alias_taken"
    TELEGRAM_ONLY = "telegram_only"  # reserved: an organisation without the console


async def sign_up(
    session: AsyncSession,
    keyring: Keyring,
    *,
    code: str,
    alias: str,
    password_hash: str,
    language: str,
    now: datetime,
) -> tuple[SignUp, Volunteer | None]:
    """A new volunteer of the browser console from a one-time invite. An invite for a
    coordinator also makes a dashboard log-in with the same name and password: one person,
    both roles. Everything happens in the caller's transaction (a refusal after the code
    was redeemed must roll back)."""
    shown = clean_alias(alias)
    if shown is None:
        return SignUp.ALIAS_INVALID, None

    invite = await invites.redeem(session, code, now)
    if invite is None:
        return SignUp.CODE, None
    if await store.alias_taken(session, invite.org_slug, shown):
        return SignUp.ALIAS_TAKEN, None
    if invite.role == "coordinator" and await coordinators.by_name(session, shown) is not None:
        return SignUp.ALIAS_TAKEN, None
    key = secrets.token_urlsafe(24)
    arrival = await participants.arrive(
        session, keyring, channel=CONSOLE_CHANNEL, channel_user_id=key, address=key,
        language=language,
    )
    if arrival is None:  # never: `create` is true
        raise RuntimeError("no participant for a new console volunteer")
    person = arrival.participant
    person.consented_at = now
    volunteer = Volunteer(
        participant_id=person.id, org_slug=invite.org_slug, role=invite.role, alias=shown,
        accepted_at=now, active=True, available=False, awaiting="",
        password_hash=password_hash, created_at=now, last_active_at=now,
    )
    session.add(volunteer)
    if invite.role == "coordinator":
        await coordinators.add(session, shown, invite.org_slug, password_hash, admin=False,
                               now=now)
    await session.flush()
    return SignUp.DONE, volunteer


async def deactivate(session: AsyncSession, alias: str, org_slug: str) -> Volunteer | None:
    """Stop a volunteer taking conversations and end their console sessions; their open
    conversations go back to the queue on the handover runner's next round."""
    found = await console.volunteer_by_alias(session, org_slug, alias)
    if found is None:
        return None
    found.active, found.available = False, False
    await console.close_sessions_of(session, found.id)
    return found
