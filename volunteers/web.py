"""The volunteer's side in the browser console: the moves of the Telegram console
(volunteers/console.py) as plain operations on the caller's transaction, and a view of
everything the console shows, read from the database each time (so any instance can serve
it, and what one instance stored another shows).

Each move returns the `Post`s to send once the caller commits. Messages the handover
sends to the volunteer themselves (the Telegram console's words) are left out: the
browser shows the state instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import console as inbox
from storage import handover as store
from storage.models import Handover, RelayMessage, Volunteer
from volunteers import lifecycle, queue
from volunteers.messages import TOPICS, Post, Wording
from volunteers.queue import Outcome, Policy
from volunteers.relay import framed

DEBRIEF_WINDOW = timedelta(hours=24)
MAX_NOTE = 500


@dataclass(frozen=True)
class Card:
    """What a volunteer sees of a young person: the same as the Telegram card."""

    id: int
    name: str
    language: str
    age_band: str
    channel: str
    crisis: bool
    note: str | None
    handback_note: str | None
    waiting_seconds: int


@dataclass(frozen=True)
class Line:
    id: int
    sender: str  # young | volunteer
    text: str
    at: datetime


@dataclass(frozen=True)
class Talk:
    card: Card
    lines: list[Line]
    alert: str  # the safety net's alert with the crisis lines, or ""
    readers: list[str] = field(default_factory=list)  # coordinators reading along
    quiet: bool = False  # asked whether anyone is still there; closes soon without a word
    alert_kind: str = ""  # crisis (clear risk) | distress (the gentle one) | ""


@dataclass(frozen=True)
class View:
    alias: str
    org: str
    available: bool
    open: bool
    capacity: int
    queue: list[Card]
    talks: list[Talk]
    debriefs: list[Card]
    colleagues: list[str]  # available volunteers of the organisation with room


class WebDesk:
    def __init__(self, policy: Policy, wording: Wording) -> None:
        self.policy = policy
        self.wording = wording

    # -- what the console shows ----------------------------------------------------------
    async def view(
        self, session: AsyncSession, volunteer: Volunteer, language: str, now: datetime,
        *, after: int = 0,
    ) -> View:
        """Everything the console shows; messages only after id `after` (0: all)."""
        org = self.policy.organisation(volunteer.org_slug)
        waiting = await queue.servable_by(session, self.policy, volunteer, now)
        talks = []
        for row in await store.active_for(session, volunteer.id):
            start = row.claimed_at or now  # after a hand-back: only this volunteer's part
            lines = [
                Line(m.id, m.sender, m.text, m.sent_at)
                for m in await store.messages_of(session, row.id)
                if m.id > after and m.sent_at >= start
            ]
            readers = await inbox.read_along_by(session, row.id, row.claimed_at or now)
            kind = self._alert_kind(row)
            talks.append(Talk(self.card(row, language, now), lines,
                              self._alert(row, language, kind), list(readers),
                              quiet=row.idle_asked_at is not None, alert_kind=kind))
        ended = await session.scalars(
            select(Handover).where(
                Handover.volunteer_id == volunteer.id,
                Handover.status == store.ENDED,
                Handover.debrief_follow_up.is_(None),
                Handover.ended_at >= now - DEBRIEF_WINDOW,
            ).order_by(Handover.ended_at)
        )
        return View(
            alias=volunteer.alias or "",
            org=org.name if org else volunteer.org_slug,
            available=volunteer.available,
            open=org is not None and org.open_at(now),
            capacity=org.capacity if org else 1,
            queue=[self.card(row, language, now) for row in waiting],
            talks=talks,
            debriefs=[self.card(row, language, now) for row in ended.all()],
            colleagues=await inbox.colleague_aliases(session, volunteer,
                                                     org.capacity if org else 1),
        )

    def card(self, row: Handover, language: str, now: datetime) -> Card:
        since = row.waiting_since or row.requested_at or now
        return Card(
            id=row.id,
            name=self.wording.name(row, language),
            language=self.wording.get(f"handover_language_{row.language}", language),
            age_band=self.wording.get(f"handover_age_{row.age_band}", language),
            channel=self.wording.get(f"handover_channel_{row.channel}", language),
            crisis=row.crisis,
            note=row.note,
            handback_note=row.handback_note,
            waiting_seconds=max(0, int((now - since).total_seconds())),
        )

    @staticmethod
    def _alert_kind(row: Handover) -> str:
        """Clear risk stays for the conversation; distress shows from when the net heard
        it in this volunteer's part of the conversation."""
        if row.crisis:
            return "crisis"
        heard = row.distress_at
        if heard is not None and (row.claimed_at is None or heard >= row.claimed_at):
            return "distress"
        return ""

    def _alert(self, row: Handover, language: str, kind: str) -> str:
        """The same words as the Telegram console's: the crisis lines, and the direct
        question to ask (for distress gently: "consider asking")."""
        if not kind:
            return ""
        return self.wording.get(
            f"volunteer_{kind}_alert", language,
            name=self.wording.name(row, language), crisis_lines=self.wording.lines(language),
        )

    # -- on duty -------------------------------------------------------------------------
    def set_available(self, volunteer: Volunteer, available: bool, now: datetime) -> None:
        volunteer.available, volunteer.last_active_at = available, now

    async def take(
        self, session: AsyncSession, volunteer: Volunteer, handover_id: int, now: datetime
    ) -> tuple[Outcome, list[Post]]:
        """The atomic take of storage.handover.claim: of two at once, one wins."""
        taken = await queue.take(session, self.policy, volunteer, handover_id, now)
        row = taken.handover
        if taken.outcome is not Outcome.TAKEN or row is None:
            return taken.outcome, []
        volunteer.last_active_at = now
        wait = int((now - (row.requested_at or now)).total_seconds())
        await lifecycle.record(session, row, "handover_claimed", now=now, value=wait)
        young = await lifecycle.language_of(session, row.participant_id)
        org = self.policy.organisation(row.org_slug)
        return Outcome.TAKEN, [
            (row.participant_id, self.wording.connected(young, volunteer.alias or "", org))
        ]

    # -- in a conversation ---------------------------------------------------------------
    async def own(self, session: AsyncSession, volunteer: Volunteer, handover_id: int
                  ) -> Handover | None:
        row = await session.get(Handover, handover_id)
        if row is None or row.volunteer_id != volunteer.id or row.status != store.ACTIVE:
            return None
        return row

    async def say(
        self, session: AsyncSession, volunteer: Volunteer, row: Handover, text: str,
        now: datetime,
    ) -> tuple[Line, list[Post]]:
        """The volunteer's words to the young person, framed as "<alias>: …"; the line as
        the console shows it (kept while the conversation runs, as the relay keeps it)."""
        kept = RelayMessage(handover_id=row.id, sender=store.VOLUNTEER, text=text, sent_at=now)
        session.add(kept)
        row.last_message_at, row.idle_asked_at = now, None
        volunteer.last_active_at = now
        young = await lifecycle.language_of(session, row.participant_id)
        await session.flush()
        messages = framed(self.wording, volunteer.alias or "", text, young)
        line = Line(kept.id, kept.sender, kept.text, kept.sent_at)
        return line, [(row.participant_id, message) for message in messages]

    async def end(self, session: AsyncSession, volunteer: Volunteer, row: Handover,
                  now: datetime) -> list[Post]:
        posts = await lifecycle.end(session, self.wording, self.policy, row, now,
                                    by=lifecycle.ENDED_BY_VOLUNTEER)
        return self._to_others(volunteer, posts)

    async def hand_back(
        self, session: AsyncSession, volunteer: Volunteer, row: Handover, note: str,
        now: datetime,
    ) -> list[Post]:
        posts = await lifecycle.hand_back(session, self.wording, self.policy, row, now,
                                          note=note.strip()[:MAX_NOTE] or None)
        return self._to_others(volunteer, posts)

    async def transfer(
        self, session: AsyncSession, volunteer: Volunteer, row: Handover, *, to_alias: str,
        note: str, now: datetime,
    ) -> tuple[bool, list[Post]]:
        """To another available volunteer of the organisation with room, with a private
        note only they see; the young person is told who they talk with now."""
        others = await self._colleagues(session, volunteer)
        other = next((v for v in others if (v.alias or "").lower() == to_alias.lower()), None)
        if other is None:
            return False, []
        await store.lock_volunteer(session, other.id)
        org = self.policy.organisation(volunteer.org_slug)
        if len(await store.active_for(session, other.id)) >= (org.capacity if org else 1):
            return False, []
        row.volunteer_id, row.handback_note = other.id, note.strip()[:MAX_NOTE] or None
        row.last_message_at, row.idle_asked_at = now, None
        await lifecycle.record(session, row, "handover_transferred", now=now)
        young = await lifecycle.language_of(session, row.participant_id)
        told = self.wording.say("handover_transferred", young, alias=other.alias or "",
                                previous=volunteer.alias or "")
        return True, [(row.participant_id, told)]

    async def flag(self, session: AsyncSession, volunteer: Volunteer, row: Handover,
                   now: datetime) -> list[Post]:
        """For the coordinators: into the organisation's inbox, and to any coordinator who
        uses the Telegram console."""
        if not row.flagged:
            row.flagged = True
            await lifecycle.record(session, row, "handover_flagged", now=now)
            inbox.add_to_inbox(session, inbox.FLAG, row, org_slug=volunteer.org_slug,
                               alias=volunteer.alias or "", now=now)
        return await tell_coordinators(session, self.wording, volunteer, row)

    async def debrief(
        self, session: AsyncSession, volunteer: Volunteer, handover_id: int, *,
        topic: str, crisis: bool, follow_up: bool, now: datetime,
    ) -> tuple[bool, list[Post]]:
        """The three debrief answers at once; a follow-up always lands in the inbox."""
        row = await session.get(Handover, handover_id)
        if (row is None or row.volunteer_id != volunteer.id or row.status != store.ENDED
                or row.debrief_follow_up is not None or topic not in TOPICS):
            return False, []
        row.debrief_topic, row.debrief_crisis, row.debrief_follow_up = topic, crisis, follow_up
        await lifecycle.record(session, row, "debrief_topic", topic, now=now)
        await lifecycle.record(session, row, "debrief_crisis", _yes(crisis), now=now)
        await lifecycle.record(session, row, "debrief_follow_up", _yes(follow_up), now=now)
        if not follow_up:
            return True, []
        inbox.add_to_inbox(session, inbox.FOLLOW_UP, row, org_slug=volunteer.org_slug,
                           alias=volunteer.alias or "", now=now)
        return True, await tell_coordinators(session, self.wording, volunteer, row)

    # -- helpers -------------------------------------------------------------------------
    async def _colleagues(self, session: AsyncSession, volunteer: Volunteer) -> list[Volunteer]:
        org = self.policy.organisation(volunteer.org_slug)
        return list(await inbox.colleagues_with_room(session, volunteer,
                                                     org.capacity if org else 1))

    @staticmethod
    def _to_others(volunteer: Volunteer, posts: list[Post]) -> list[Post]:
        return [(pid, message) for pid, message in posts if pid != volunteer.participant_id]


def _yes(answer: bool) -> str:
    return "yes" if answer else "no"


async def tell_coordinators(
    session: AsyncSession, wording: Wording, volunteer: Volunteer, row: Handover
) -> list[Post]:
    """A word to the organisation's coordinators who use the Telegram console."""
    posts: list[Post] = []
    for coordinator in await store.coordinators(session, volunteer.org_slug):
        if coordinator.id == volunteer.id:
            continue
        person = await lifecycle.language_of(session, coordinator.participant_id)
        posts.append((coordinator.participant_id, wording.say(
            "volunteer_coordinator_flag", person,
            alias=volunteer.alias or "", name=wording.name(row, person),
        )))
    return posts
