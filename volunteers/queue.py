"""The queue: who may wait, where they are in it, how long it takes, and who takes whom.

Who is served first: crisis-flagged people, then the longest waiting. A volunteer takes
only people their organisation serves (language, age band), only while it is open, and
only with room under the organisation's capacity per volunteer. The take itself is the
conditional update in storage.handover.claim: of two volunteers pressing at once, one wins.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from storage import handover as store
from storage.models import Handover, Volunteer
from volunteers.organisations import Organisation

ESTIMATE_SAMPLE = 20
ESTIMATE_WINDOW = timedelta(days=14)
ESTIMATE_MINIMUM = 3  # fewer recent waits than this: "not enough data yet"
_CANDIDATES = 10


@dataclass(frozen=True)
class Policy:
    organisations: tuple[Organisation, ...]
    wait_timeout: timedelta = timedelta(minutes=10)
    idle_ask: timedelta = timedelta(minutes=30)
    idle_close: timedelta = timedelta(minutes=10)
    note_max_chars: int = 500
    retention: timedelta = timedelta()  # text kept after the end; 0: deleted at the end
    crisis_recent: timedelta = timedelta(hours=24)  # the safety net fired this recently
    # A draft (reading the preview, writing a note) left this long is abandoned: it goes,
    # note and all.
    draft_lifetime: timedelta = timedelta(minutes=30)

    def organisation(self, slug: str | None) -> Organisation | None:
        return next((org for org in self.organisations if org.slug == slug), None)

    def serving(self, language: str, age_band: str | None) -> tuple[Organisation, ...]:
        return tuple(org for org in self.organisations if org.serves(language, age_band))

    def open_serving(
        self, language: str, age_band: str | None, now: datetime
    ) -> tuple[Organisation, ...]:
        return tuple(org for org in self.serving(language, age_band) if org.open_at(now))


class Outcome(StrEnum):
    TAKEN = "taken"
    GONE = "gone"  # someone else took them, or they left
    NOT_YOURS = "not_yours"  # the volunteer's organisation does not serve them
    CLOSED = "closed"  # the volunteer's organisation is closed now
    FULL = "full"  # the volunteer has no room for another conversation
    NOBODY = "nobody"  # /next found nobody to take


@dataclass(frozen=True)
class Taken:
    outcome: Outcome
    handover: Handover | None = None


def young_number(pseudonym: str) -> int:
    """The number in "Ung #4821": stable for a person, shared by about one in 9000."""
    return int(pseudonym[:8], 16) % 9000 + 1000


async def estimate(session: AsyncSession, now: datetime) -> timedelta | None:
    """The median of the last waits (at most 20, at most 14 days old), or None when there
    are too few to say anything honest."""
    waits = await store.recent_waits(session, now - ESTIMATE_WINDOW, ESTIMATE_SAMPLE)
    if len(waits) < ESTIMATE_MINIMUM:
        return None
    return timedelta(seconds=statistics.median(waits))


def _ahead(row: Handover, other: Handover) -> bool:
    if other.crisis != row.crisis:
        return other.crisis
    return (other.requested_at, other.id) < (row.requested_at, row.id)


async def place(session: AsyncSession, row: Handover) -> int:
    """1 for the next to be served among people waiting in the same language."""
    others = await store.waiting(session, languages=[row.language])
    return 1 + sum(1 for other in others if other.id != row.id and _ahead(row, other))


async def has_room(
    session: AsyncSession, organisations: tuple[Organisation, ...]
) -> bool:
    """Whether one of the organisations lets one more person wait."""
    for org in organisations:
        waiting = await store.waiting(
            session, languages=org.languages, age_bands=org.age_bands
        )
        if len(waiting) < org.max_waiting:
            return True
    return False


async def _check(
    session: AsyncSession, policy: Policy, volunteer: Volunteer, now: datetime
) -> tuple[Organisation | None, Outcome | None]:
    org = policy.organisation(volunteer.org_slug)
    if org is None or not org.open_at(now):
        return org, Outcome.CLOSED
    if await store.lock_volunteer(session, volunteer.id) is None:
        return org, Outcome.CLOSED
    if len(await store.active_for(session, volunteer.id)) >= org.capacity:
        return org, Outcome.FULL
    return org, None


async def take(
    session: AsyncSession, policy: Policy, volunteer: Volunteer, handover_id: int,
    now: datetime,
) -> Taken:
    """The "take" button: this person, if still waiting and the volunteer may take them."""
    org, refusal = await _check(session, policy, volunteer, now)
    if refusal is not None or org is None:
        return Taken(refusal or Outcome.CLOSED)
    row = await session.get(Handover, handover_id)
    if row is None or row.status != store.WAITING:
        return Taken(Outcome.GONE)
    if not org.serves(row.language, row.age_band):
        return Taken(Outcome.NOT_YOURS)
    if not await store.claim(session, handover_id, volunteer.id, org.slug, now):
        return Taken(Outcome.GONE)
    await session.refresh(row)
    return Taken(Outcome.TAKEN, row)


async def take_next(
    session: AsyncSession, policy: Policy, volunteer: Volunteer, now: datetime
) -> Taken:
    """/next: the person who should be served first among those the volunteer may take."""
    org, refusal = await _check(session, policy, volunteer, now)
    if refusal is not None or org is None:
        return Taken(refusal or Outcome.CLOSED)
    candidates = await store.waiting(
        session,
        languages=org.languages,
        age_bands=org.age_bands,
        limit=_CANDIDATES,
        skip_locked=True,
    )
    for row in candidates:
        if await store.claim(session, row.id, volunteer.id, org.slug, now):
            await session.refresh(row)
            return Taken(Outcome.TAKEN, row)
    return Taken(Outcome.NOBODY)


async def servable_by(
    session: AsyncSession, policy: Policy, volunteer: Volunteer, now: datetime
) -> list[Handover]:
    """The waiting people this volunteer could take now, in the order of service."""
    org = policy.organisation(volunteer.org_slug)
    if org is None or not org.open_at(now):
        return []
    return list(
        await store.waiting(session, languages=org.languages, age_bands=org.age_bands)
    )
