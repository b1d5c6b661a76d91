"""The volunteer's side: their private chat with the bot is their console.

Joining: /volunteer CODE, the code of conduct ("vo:accept"), then an alias. On duty:
/available, /away, /next; "vt:take:<id>" from a waiting notice. In a conversation:
"vc:<what>:<id>" (end, back to the queue, flag for the coordinator, write to). After it:
the debrief, "vd:<id>:<question>:<answer>".
"""

from __future__ import annotations

from dialogues.conversation import Turn
from dialogues.messages import Choice
from storage import console as inbox
from storage import handover as store
from storage import paths
from storage.models import Handover, Volunteer
from volunteers import invites, lifecycle, queue, roster
from volunteers.desk import Desk
from volunteers.messages import TOPICS, Post
from volunteers.relay import Relay

_HANDBACK = "handback:"


class Console:
    def __init__(self, desk: Desk, relay: Relay) -> None:
        self.desk = desk
        self.relay = relay
        self.policy = desk.policy
        self.wording = desk.wording

    # -- joining -------------------------------------------------------------------------
    async def join(self, turn: Turn) -> None:
        """/volunteer CODE: use the invite, then show the code of conduct."""
        code = turn.inbound.text.strip()
        if not code:
            turn.say("volunteer_code_missing")
            return
        volunteer = await self.desk.volunteer(turn)
        if volunteer is not None and volunteer.active:
            turn.say("volunteer_already", org=self._org_name(volunteer))
            return
        invite = await invites.redeem(turn.session, code, turn.now)
        if invite is None:
            turn.say("volunteer_code_unknown")
            return
        org = self.policy.organisation(invite.org_slug)
        if org is not None and not org.telegram_console:
            invite.used_at = None  # the code stays good for the browser console
            turn.say("volunteer_use_console", org=org.name)
            return
        if volunteer is None:
            volunteer = Volunteer(participant_id=turn.participant.id, created_at=turn.now)
            turn.session.add(volunteer)
        volunteer.org_slug, volunteer.role = invite.org_slug, invite.role
        volunteer.alias, volunteer.accepted_at, volunteer.active = None, None, False
        volunteer.available, volunteer.awaiting = False, ""
        volunteer.last_active_at = turn.now
        turn.say(
            "volunteer_conduct",
            Choice(turn.label("volunteer_accept"), "vo:accept"),
            org=self._org_name(volunteer),
        )

    async def onboarding(self, turn: Turn) -> None:
        volunteer = await self.desk.volunteer(turn)
        if turn.inbound.data != "vo:accept" or volunteer is None or volunteer.active:
            self.desk.stale(turn)
            return
        volunteer.accepted_at, volunteer.awaiting = turn.now, "alias"
        turn.say("volunteer_alias_prompt")

    async def _alias(self, turn: Turn, volunteer: Volunteer) -> None:
        alias = roster.clean_alias(turn.inbound.text)
        if alias is None:
            turn.say("volunteer_alias_invalid")
            return
        org = self._org_name(volunteer)
        if await store.alias_taken(turn.session, volunteer.org_slug, alias):
            turn.say("volunteer_alias_taken", alias=alias, org=org)
            return
        volunteer.alias, volunteer.active, volunteer.awaiting = alias, True, ""
        turn.say("volunteer_registered", alias=alias, org=org)

    # -- on duty -------------------------------------------------------------------------
    async def available(self, turn: Turn) -> None:
        volunteer = await self._on_roll(turn)
        if volunteer is None:
            return
        volunteer.available = True
        org = self.policy.organisation(volunteer.org_slug)
        if org is None or not org.open_at(turn.now):
            turn.say("volunteer_available_closed", org=self._org_name(volunteer))
            return
        waiting = await queue.servable_by(turn.session, self.policy, volunteer, turn.now)
        choices = [Choice(turn.label("volunteer_take_next"), "vt:next")] if waiting else []
        turn.say("volunteer_available", *choices, count=len(waiting))

    async def away(self, turn: Turn) -> None:
        volunteer = await self._on_roll(turn)
        if volunteer is not None:
            volunteer.available = False
            turn.say("volunteer_away")

    async def next(self, turn: Turn) -> None:
        volunteer = await self._on_roll(turn)
        if volunteer is not None:
            taken = await queue.take_next(turn.session, self.policy, volunteer, turn.now)
            await self._taken(turn, volunteer, taken)

    async def take(self, turn: Turn) -> None:
        """"vt:take:<id>" from a notice, or "vt:next"."""
        volunteer = await self.desk.active_volunteer(turn)
        _, what, row_id = [*turn.inbound.data.split(":"), "", ""][:3]
        if volunteer is None or what not in ("take", "next"):
            self.desk.stale(turn)
            return
        if what == "next":
            taken = await queue.take_next(turn.session, self.policy, volunteer, turn.now)
        elif row_id.isdigit():
            taken = await queue.take(turn.session, self.policy, volunteer, int(row_id), turn.now)
        else:
            self.desk.stale(turn)
            return
        await self._taken(turn, volunteer, taken)

    async def _taken(self, turn: Turn, volunteer: Volunteer, taken: queue.Taken) -> None:
        row = taken.handover
        if taken.outcome is not queue.Outcome.TAKEN or row is None:
            org = self.policy.organisation(volunteer.org_slug)
            turn.say(
                f"volunteer_{taken.outcome.value}",
                org=self._org_name(volunteer),
                capacity=org.capacity if org else 1,
            )
            return
        volunteer.focus_handover_id, volunteer.last_active_at = row.id, turn.now
        wait = int((turn.now - (row.requested_at or turn.now)).total_seconds())
        await lifecycle.record(turn.session, row, "handover_claimed", now=turn.now, value=wait)
        await paths.mark(turn.session, row.participant_id, paths.VOLUNTEER, turn.now)
        alias = volunteer.alias or ""
        turn.replies.append(self.wording.taken(row, turn.language, alias))
        young = await lifecycle.language_of(turn.session, row.participant_id)
        org = self.policy.organisation(row.org_slug)
        self.desk.post(turn, [(row.participant_id, self.wording.connected(young, alias, org))])

    # -- in a conversation ---------------------------------------------------------------
    async def control(self, turn: Turn) -> None:
        """"vc:<what>:<id>" on the volunteer's own conversation."""
        volunteer = await self.desk.active_volunteer(turn)
        _, what, row_id = [*turn.inbound.data.split(":"), "", ""][:3]
        row = await self._own_active(turn, volunteer, row_id)
        if volunteer is None or row is None:
            self.desk.stale(turn)
            return
        if what == "end":
            await self._end(turn, row)
        elif what == "back":
            volunteer.awaiting = f"{_HANDBACK}{row.id}"
            turn.say(
                "volunteer_handback_prompt",
                Choice(turn.label("volunteer_handback_without"), f"vc:backnow:{row.id}"),
                Choice(turn.label("volunteer_handback_cancel"), f"vc:stay:{row.id}"),
            )
        elif what == "backnow":
            await self._hand_back(turn, volunteer, row, note=None)
        elif what == "stay":
            volunteer.awaiting = ""
            turn.say("volunteer_stayed")
        elif what == "flag":
            await self._flag(turn, volunteer, row)
        elif what == "focus":
            volunteer.focus_handover_id = row.id
            turn.say("volunteer_focused", name=self.wording.name(row, turn.language))
        else:
            self.desk.stale(turn)

    async def end(self, turn: Turn, volunteer: Volunteer) -> None:
        """/end from a volunteer: the conversation they write to."""
        row = await self._current(turn, volunteer)
        if row is None:
            turn.say("volunteer_not_in_conversation")
            return
        await self._end(turn, row)

    async def _end(self, turn: Turn, row: Handover) -> None:
        posts = await lifecycle.end(
            turn.session, self.wording, self.policy, row, turn.now, by=lifecycle.ENDED_BY_VOLUNTEER
        )
        self._split(turn, posts)

    async def _hand_back(
        self, turn: Turn, volunteer: Volunteer, row: Handover, note: str | None
    ) -> None:
        volunteer.awaiting = ""
        name = self.wording.name(row, turn.language)
        posts = await lifecycle.hand_back(
            turn.session, self.wording, self.policy, row, turn.now, note=note
        )
        turn.say("volunteer_handed_back", name=name)
        self.desk.post(turn, posts)

    async def _flag(self, turn: Turn, volunteer: Volunteer, row: Handover) -> None:
        if not row.flagged:
            row.flagged = True
            await lifecycle.record(turn.session, row, "handover_flagged", now=turn.now)
            inbox.add_to_inbox(turn.session, inbox.FLAG, row, org_slug=volunteer.org_slug,
                               alias=volunteer.alias or "", now=turn.now)
        turn.say("volunteer_flagged")
        self.desk.post(turn, await self._tell_coordinators(turn, volunteer, row))

    async def _tell_coordinators(
        self, turn: Turn, volunteer: Volunteer, row: Handover
    ) -> list[Post]:
        posts: list[Post] = []
        for coordinator in await store.coordinators(turn.session, volunteer.org_slug):
            if coordinator.id == volunteer.id:
                continue
            language = await lifecycle.language_of(turn.session, coordinator.participant_id)
            posts.append((coordinator.participant_id, self.wording.say(
                "volunteer_coordinator_flag", language,
                alias=volunteer.alias or "", name=self.wording.name(row, language),
            )))
        return posts

    # -- typed text ----------------------------------------------------------------------
    async def on_text(self, turn: Turn, volunteer: Volunteer) -> bool:
        """Anything a volunteer (or someone becoming one) types that is not a command or a
        button; False leaves it to the rest of the conversation."""
        if not volunteer.active:
            if volunteer.awaiting == "alias":
                await self._alias(turn, volunteer)
                return True
            return False
        volunteer.last_active_at = turn.now
        if volunteer.awaiting.startswith(_HANDBACK):
            row = await self._own_active(turn, volunteer, volunteer.awaiting[len(_HANDBACK):])
            if row is not None and turn.inbound.text.strip():
                await self._hand_back(turn, volunteer, row, note=turn.inbound.text.strip()[:500])
                return True
            volunteer.awaiting = ""
        row = await self._current(turn, volunteer)
        if row is None:
            self.help(turn, volunteer)
            return True
        await self.relay.to_young(turn, volunteer, row)
        return True

    def help(self, turn: Turn, volunteer: Volunteer) -> None:
        status = "volunteer_status_available" if volunteer.available else "volunteer_status_away"
        turn.say(
            "volunteer_console",
            alias=volunteer.alias or "",
            org=self._org_name(volunteer),
            status=turn.label(status),
        )

    # -- debrief -------------------------------------------------------------------------
    async def debrief(self, turn: Turn) -> None:
        _, row_id, question, answer = [*turn.inbound.data.split(":"), "", "", ""][:4]
        volunteer = await self.desk.volunteer(turn)
        row = await turn.session.get(Handover, int(row_id)) if row_id.isdigit() else None
        if (
            volunteer is None
            or row is None
            or row.volunteer_id != volunteer.id
            or row.status != store.ENDED
        ):
            self.desk.stale(turn)
            return
        prefix, now = f"vd:{row.id}", turn.now
        if question == "t" and answer in TOPICS and row.debrief_topic is None:
            row.debrief_topic = answer
            await lifecycle.record(turn.session, row, "debrief_topic", answer, now=now)
            turn.replies.append(
                self.wording.yes_no("volunteer_debrief_crisis", turn.language, f"{prefix}:c")
            )
        elif question == "c" and answer in ("yes", "no") and row.debrief_crisis is None:
            row.debrief_crisis = answer == "yes"
            await lifecycle.record(turn.session, row, "debrief_crisis", answer, now=now)
            turn.replies.append(
                self.wording.yes_no("volunteer_debrief_follow_up", turn.language, f"{prefix}:f")
            )
        elif question == "f" and answer in ("yes", "no") and row.debrief_follow_up is None:
            row.debrief_follow_up = answer == "yes"
            await lifecycle.record(turn.session, row, "debrief_follow_up", answer, now=now)
            turn.say("volunteer_debrief_thanks")
            if row.debrief_follow_up:
                inbox.add_to_inbox(turn.session, inbox.FOLLOW_UP, row, org_slug=volunteer.org_slug,
                                   alias=volunteer.alias or "", now=now)
                self.desk.post(turn, await self._tell_coordinators(turn, volunteer, row))
        else:
            self.desk.stale(turn)

    # -- helpers -------------------------------------------------------------------------
    async def _on_roll(self, turn: Turn) -> Volunteer | None:
        """The registered volunteer behind a volunteer command; others get "unknown"."""
        volunteer = await self.desk.volunteer(turn)
        if volunteer is None or volunteer.alias is None:
            turn.say("unknown_command")
            return None
        if not volunteer.active:
            turn.say("volunteer_inactive")
            return None
        volunteer.last_active_at = turn.now
        return volunteer

    async def _own_active(
        self, turn: Turn, volunteer: Volunteer | None, row_id: str
    ) -> Handover | None:
        if volunteer is None or not row_id.isdigit():
            return None
        row = await turn.session.get(Handover, int(row_id))
        if row is None or row.volunteer_id != volunteer.id or row.status != store.ACTIVE:
            return None
        return row

    async def _current(self, turn: Turn, volunteer: Volunteer) -> Handover | None:
        """The conversation typed text goes to: the focused one, else the newest."""
        active = await store.active_for(turn.session, volunteer.id)
        focused = next((r for r in active if r.id == volunteer.focus_handover_id), None)
        return focused or (active[-1] if active else None)

    def _split(self, turn: Turn, posts: list[Post]) -> None:
        """Posts to the person of this turn become its replies; the rest go after commit."""
        own = turn.participant.id
        turn.replies.extend(message for pid, message in posts if pid == own)
        self.desk.post(turn, [(pid, message) for pid, message in posts if pid != own])

    def _org_name(self, volunteer: Volunteer) -> str:
        org = self.policy.organisation(volunteer.org_slug)
        return org.name if org else volunteer.org_slug
