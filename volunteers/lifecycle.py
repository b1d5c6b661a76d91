"""The moves of a handover that both a turn and the runner make: notifying volunteers,
ending, handing back, leaving the queue. Each changes rows in the caller's transaction and
returns the messages (`Post`s) to send once it commits."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from dialogues.messages import Delivery, Outbox
from storage import events
from storage import handover as store
from storage.models import Handover, Participant, Volunteer
from volunteers.messages import Post, Wording
from volunteers.queue import Policy, servable_by

ENDED_BY_YOUNG, ENDED_BY_VOLUNTEER = "young", "volunteer"
ENDED_IDLE, ENDED_BLOCKED = "idle", "blocked"


async def language_of(session: AsyncSession, participant_id: int) -> str:
    person = await session.get(Participant, participant_id)
    return person.language if person is not None else "da"


async def record(
    session: AsyncSession, row: Handover, kind: str, detail: str = "", *,
    now: datetime, value: int | None = None,
) -> None:
    await events.record(
        session, kind, detail, channel=row.channel, language=row.language, at=now, value=value,
        org=row.org_slug,
    )


async def notify_waiting(
    session: AsyncSession,
    wording: Wording,
    policy: Policy,
    row: Handover,
    now: datetime,
    *,
    skip_volunteer: int | None = None,
) -> list[Post]:
    """Tell each available volunteer who may serve `row` now, and has room, that someone
    is waiting: how many, how long, the language, the crisis flag; never who."""
    posts: list[Post] = []
    for volunteer in await store.on_duty(session):
        org = policy.organisation(volunteer.org_slug)
        if volunteer.id == skip_volunteer or org is None:
            continue
        if not org.serves(row.language, row.age_band) or not org.open_at(now):
            continue
        if len(await store.active_for(session, volunteer.id)) >= org.capacity:
            continue
        servable = await servable_by(session, policy, volunteer, now)
        started = [h.waiting_since or now for h in servable]
        longest = max((now - t for t in started), default=timedelta())
        language = await language_of(session, volunteer.participant_id)
        notice = wording.waiting_notice(row, language, count=len(servable), longest=longest)
        posts.append((volunteer.participant_id, notice))
    return posts


async def end(
    session: AsyncSession,
    wording: Wording,
    policy: Policy,
    row: Handover,
    now: datetime,
    *,
    by: str,
) -> list[Post]:
    """End an active conversation: feedback for the young person, a debrief for the
    volunteer; text and notes go unless the deployment keeps them a while."""
    row.status, row.ended_at, row.ended_by = store.ENDED, now, by
    length = int((now - (row.claimed_at or now)).total_seconds())
    await record(session, row, "handover_ended", by, now=now, value=length)
    if policy.retention <= timedelta():
        await store.forget_text(session, row.id)
        row.note = row.handback_note = None
    posts: list[Post] = []
    volunteer = await session.get(Volunteer, row.volunteer_id) if row.volunteer_id else None
    alias = volunteer.alias or "" if volunteer else ""
    if by != ENDED_BLOCKED:
        young = await language_of(session, row.participant_id)
        posts.append((row.participant_id, wording.say("handover_ended_young", young, alias=alias)))
        posts.append((row.participant_id, wording.feedback(row, young)))
    if volunteer is not None:
        if volunteer.focus_handover_id == row.id:
            volunteer.focus_handover_id = None
        language = await language_of(session, volunteer.participant_id)
        key = "volunteer_ended_blocked" if by == ENDED_BLOCKED else "volunteer_ended"
        name = wording.name(row, language)
        posts.append((volunteer.participant_id, wording.say(key, language, name=name)))
        posts.append((volunteer.participant_id, wording.debrief(row, language)))
    return posts


async def hand_back(
    session: AsyncSession,
    wording: Wording,
    policy: Policy,
    row: Handover,
    now: datetime,
    *,
    note: str | None,
    lost: bool = False,
) -> list[Post]:
    """Back to the queue, keeping the place (the first request time): by the volunteer's
    choice, or because the volunteer can no longer be reached (`lost`)."""
    volunteer = await session.get(Volunteer, row.volunteer_id) if row.volunteer_id else None
    alias = volunteer.alias or "" if volunteer else ""
    previous = volunteer.id if volunteer else None
    if volunteer is not None and volunteer.focus_handover_id == row.id:
        volunteer.focus_handover_id = None
    row.status, row.volunteer_id, row.org_slug = store.WAITING, None, None
    row.waiting_since, row.timeout_noticed_at, row.idle_asked_at = now, None, None
    row.claimed_at = None
    if note:
        row.handback_note = note
    await record(session, row, "handover_handed_back", "lost" if lost else "", now=now)
    young = await language_of(session, row.participant_id)
    key = "handover_volunteer_gone" if lost else "handover_handed_back"
    posts: list[Post] = [(row.participant_id, wording.say(key, young, alias=alias))]
    posts += await notify_waiting(session, wording, policy, row, now, skip_volunteer=previous)
    return posts


async def leave_queue(
    session: AsyncSession, row: Handover, now: datetime, *, blocked: bool = False
) -> None:
    """Out of the queue (or the draft): after a time-out notice it counts as timed out."""
    timed_out = row.timeout_noticed_at is not None
    row.status = store.TIMED_OUT if timed_out else store.WITHDRAWN
    row.ended_at, row.ended_by = now, ENDED_BLOCKED if blocked else ENDED_BY_YOUNG
    row.writing_note = False
    if row.requested_at is not None:
        await record(session, row, "handover_left", "blocked" if blocked else row.status, now=now)
    await store.forget_text(session, row.id)
    row.note = row.handback_note = None


async def deliver(outbox: Outbox, posts: list[Post]) -> bool:
    """Send in order; False when someone turned out to have blocked the bot (the outbox has
    marked them unreachable; the runner's next round settles their handover)."""
    blocked = False
    for participant_id, message in posts:
        if await outbox.send(participant_id, message) is Delivery.BLOCKED:
            blocked = True
    return not blocked
