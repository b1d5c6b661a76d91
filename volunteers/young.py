"""The young person's side: asking for a human, seeing what the volunteer will see, the
note, the queue, leaving it, ending, and the two feedback questions.

Buttons: "vq:<step>" for the steps before and in the queue (they need no id: a person has
at most one open handover; "vq:end" asks first, "vq:endok" ends), "vf:<id>:r:<1-5>"
and "vf:<id>:a:<yes|no>" for feedback.
"""

from __future__ import annotations

from datetime import timedelta

from dialogues.conversation import Turn
from dialogues.messages import Choice, Kind, Outbound, rows
from storage import checkins
from storage import handover as store
from storage.models import Handover, Volunteer
from volunteers import lifecycle, queue
from volunteers.desk import Desk
from volunteers.organisations import Organisation

CHECKIN_OFFER = "checkin.offer"
MENU = "menu.start"


class YoungSide:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.policy = desk.policy
        self.wording = desk.wording

    # -- "talk to a human" ---------------------------------------------------------------
    async def request(self, turn: Turn) -> None:
        """The action of human.start. The node has said its kind fallback (crisis lines);
        where a volunteer can be reached, that is replaced by the way there."""
        session, person, language = turn.session, turn.participant, turn.language
        if await self.desk.active_volunteer(turn) is not None:
            self._replace(turn, Outbound(turn.label("handover_for_volunteers")))
            return
        row = await store.open_for(session, person.id)
        if row is not None and row.status == store.ACTIVE:
            volunteer = await session.get(Volunteer, row.volunteer_id or 0)
            alias = volunteer.alias if volunteer and volunteer.alias else ""
            self._replace(turn, self._say(turn, "handover_already_talking", alias=alias))
            return
        if row is not None and row.status == store.WAITING:
            self._replace(turn, await self._place(turn, row, "handover_still_waiting"))
            return
        age_band = person.age_band or "unsaid"
        serving = self.policy.serving(language, age_band)
        if not serving:
            return  # nobody serves them: the node's kind words and the crisis lines stand
        crisis = self._crisis(turn)
        opened = tuple(org for org in serving if org.open_at(turn.now))
        if not await store.has_volunteers(session, [org.slug for org in serving]):
            # Nobody registered at all: say so now rather than after a wait in the queue.
            self._replace(turn, self._say(
                turn, "handover_no_volunteers",
                Choice(turn.label("handover_offer_checkin"), "vq:checkin"),
                Choice(turn.label("menu_button"), "menu:open"),
                crisis_lines=self.wording.lines(language),
            ))
        elif not opened:
            self._replace(turn, self._closed(turn, serving))
        elif not await queue.has_room(session, opened):
            self._replace(turn, self._say(
                turn, "handover_full",
                Choice(turn.label("handover_offer_checkin"), "vq:checkin"),
                crisis_lines=self.wording.lines(language),
            ))
        else:
            row = await self._draft(turn, row, age_band, crisis)
            self._replace(turn, self._preview(turn, row, opened))

    def _crisis(self, turn: Turn) -> bool:
        flagged = turn.state.crisis_at
        return flagged is not None and turn.now - flagged <= self.policy.crisis_recent

    async def _draft(
        self, turn: Turn, row: Handover | None, age_band: str, crisis: bool
    ) -> Handover:
        person = turn.participant
        if row is None:
            row = Handover(
                participant_id=person.id,
                status=store.DRAFT,
                young_number=queue.young_number(person.pseudonym),
                crisis=crisis,
                writing_note=False,
                flagged=False,
                language=person.language,
                age_band=age_band,
                channel=turn.channel,
                created_at=turn.now,
            )
            turn.session.add(row)
            await turn.session.flush()
        else:
            row.language, row.age_band, row.channel = person.language, age_band, turn.channel
            row.crisis = row.crisis or crisis
            row.writing_note = False
        return row

    def _preview(self, turn: Turn, row: Handover, opened: tuple[Organisation, ...]) -> Outbound:
        language = turn.language
        orgs = self.wording.organisations(
            [org for org in self.policy.organisations if org in opened], language
        )
        text = self.wording.get(
            "handover_preview", language, orgs=orgs, card=self.wording.card(row, language)
        )
        if row.crisis:
            urgent = self.wording.get("handover_urgent", language,
                                      crisis_lines=self.wording.lines(language))
            text = f"{text}\n\n{urgent}"
        return Outbound(text, rows(
            Choice(turn.label("handover_write_note"), "vq:note"),
            Choice(turn.label("handover_join_without"), "vq:join"),
            Choice(turn.label("handover_not_now"), "vq:cancel"),
        ))

    def _closed(self, turn: Turn, serving: tuple[Organisation, ...]) -> Outbound:
        language = turn.language
        opening = min(
            (t for org in serving if (t := org.next_opening(turn.now)) is not None),
            default=None,
        )
        lines = self.wording.lines(language)
        if opening is None:
            return self._say(turn, "handover_closed_unknown", crisis_lines=lines)
        return self._say(
            turn, "handover_closed",
            Choice(turn.label("handover_write_then"), "vq:later"),
            Choice(turn.label("handover_not_now"), "vq:cancel"),
            when=self.wording.when(opening, turn.now, language), crisis_lines=lines,
        )

    # -- the note ------------------------------------------------------------------------
    async def on_note(self, turn: Turn, row: Handover) -> None:
        """Typed while writing the note: read it back for approval."""
        limit = self.policy.note_max_chars
        if turn.inbound.kind is not Kind.TEXT:
            turn.say("handover_note_text_only")
            return
        text = turn.inbound.text.strip()
        if not text:
            return
        if len(text) > limit:
            turn.say("handover_note_too_long", limit=limit)
            return
        row.note, row.writing_note = text, False
        turn.say(
            "handover_note_readback",
            Choice(turn.label("handover_note_yes"), "vq:join"),
            Choice(turn.label("handover_note_again"), "vq:note"),
            Choice(turn.label("handover_join_without"), "vq:nonote"),
            Choice(turn.label("handover_not_now"), "vq:cancel"),
            note=text,
        )

    # -- the buttons ---------------------------------------------------------------------
    async def choice(self, turn: Turn) -> None:
        step = turn.inbound.data.partition(":")[2]
        row = await store.open_for(turn.session, turn.participant.id)
        handlers = {
            "note": self._write_note,
            "join": self._join,
            "nonote": self._join_without,
            "cancel": self._cancel,
            "leave": self._leave,
            "keep": self._keep,
            "checkin": self._checkin,
            "later": self._later,
            "end": self._ask_end,
            "endok": self._end,
            "stay": self._stay,
        }
        handler = handlers.get(step)
        if handler is None or not await handler(turn, row):
            self.desk.stale(turn)

    async def _write_note(self, turn: Turn, row: Handover | None) -> bool:
        if row is None or row.status != store.DRAFT:
            return False
        row.writing_note = True
        turn.say("handover_note_prompt", limit=self.policy.note_max_chars)
        return True

    async def _join_without(self, turn: Turn, row: Handover | None) -> bool:
        if row is not None and row.status == store.DRAFT:
            row.note = None
        return await self._join(turn, row)

    async def _join(self, turn: Turn, row: Handover | None) -> bool:
        if row is None or row.status != store.DRAFT:
            return False
        opened = self.policy.open_serving(row.language, row.age_band, turn.now)
        if not opened or not await queue.has_room(turn.session, opened):
            await self.request(turn)  # closed or full since the preview: say so
            return True
        row.status, row.writing_note = store.WAITING, False
        row.requested_at = row.waiting_since = turn.now
        row.crisis = row.crisis or self._crisis(turn)
        await lifecycle.record(turn.session, row, "handover_requested", now=turn.now)
        await turn.session.flush()
        turn.replies.append(await self._place(turn, row, "handover_queued"))
        posts = await lifecycle.notify_waiting(
            turn.session, self.wording, self.policy, row, turn.now
        )
        self.desk.post(turn, posts)
        return True

    async def _place(self, turn: Turn, row: Handover, key: str) -> Outbound:
        place = await queue.place(turn.session, row)
        wait = await queue.estimate(turn.session, turn.now)
        return self._say(
            turn, key, Choice(turn.label("handover_leave"), "vq:leave"),
            place=place, estimate=self.wording.estimate(wait, turn.language),
        )

    async def still_waiting(self, turn: Turn, row: Handover) -> None:
        """Typed text while in the queue: where they are, that nothing is needed, and a
        word for what they said when a feeling shows."""
        turn.heard = "queue_status"
        feeling = await turn.conversation.listener.feeling(turn)
        place = await self._place(turn, row, "handover_waiting_reply")
        text = f"{feeling}\n\n{place.text}" if feeling else place.text
        turn.replies.append(Outbound(text, place.choices))

    async def _cancel(self, turn: Turn, row: Handover | None) -> bool:
        if row is not None and row.status == store.DRAFT:
            await lifecycle.leave_queue(turn.session, row, turn.now)
        turn.say("handover_cancelled", Choice(turn.label("menu_button"), "menu:open"))
        return True

    async def _leave(self, turn: Turn, row: Handover | None) -> bool:
        if row is None or row.status not in (store.DRAFT, store.WAITING):
            return False
        await lifecycle.leave_queue(turn.session, row, turn.now)
        turn.say("handover_left", Choice(turn.label("menu_button"), "menu:open"))
        return True

    async def _keep(self, turn: Turn, row: Handover | None) -> bool:
        if row is None or row.status != store.WAITING:
            return False
        turn.say("handover_kept")
        return True

    async def _checkin(self, turn: Turn, row: Handover | None) -> bool:
        """Rather a check-in another day: out of the queue, into the check-in offer."""
        if row is not None and row.status in (store.DRAFT, store.WAITING):
            await lifecycle.leave_queue(turn.session, row, turn.now)
        await turn.goto(CHECKIN_OFFER)
        return True

    async def _later(self, turn: Turn, row: Handover | None) -> bool:
        """Closed now: a check-in at the moment the first organisation opens."""
        person = turn.participant
        serving = self.policy.serving(person.language, person.age_band or "unsaid")
        opening = min(
            (t for org in serving if (t := org.next_opening(turn.now)) is not None),
            default=None,
        )
        if opening is None or opening <= turn.now:
            return False
        upcoming = await checkins.upcoming(turn.session, person.id)
        if not any(abs(c.due_at - opening) < timedelta(minutes=1) for c in upcoming):
            checkins.add(turn.session, person.id, opening)
        turn.say("handover_later_planned", when=self.wording.when(opening, turn.now,
                                                                  turn.language))
        return True

    async def _ask_end(self, turn: Turn, row: Handover | None) -> bool:
        """The "end" button may be far up the chat: one question before anything ends."""
        if row is None or row.status != store.ACTIVE:
            return False
        turn.say(
            "handover_end_confirm",
            Choice(turn.label("handover_end_yes"), "vq:endok"),
            Choice(turn.label("handover_end_no"), "vq:stay"),
        )
        return True

    async def _stay(self, turn: Turn, row: Handover | None) -> bool:
        if row is None or row.status != store.ACTIVE:
            return False
        turn.say("handover_end_kept")
        return True

    async def _end(self, turn: Turn, row: Handover | None) -> bool:
        await self.end(turn)
        return True

    async def end(self, turn: Turn) -> None:
        """/end or the button: end the conversation, or leave the queue."""
        row = await store.open_for(turn.session, turn.participant.id)
        if row is not None and row.status == store.ACTIVE:
            posts = await lifecycle.end(
                turn.session, self.wording, self.policy, row, turn.now, by=lifecycle.ENDED_BY_YOUNG
            )
            own = [m for pid, m in posts if pid == turn.participant.id]
            turn.replies.extend(own)
            self.desk.post(turn, [(pid, m) for pid, m in posts if pid != turn.participant.id])
        elif row is not None:
            await self._leave(turn, row)
        else:
            turn.say("handover_nothing_to_end")

    # -- feedback ------------------------------------------------------------------------
    async def feedback(self, turn: Turn) -> None:
        _, row_id, question, answer = [*turn.inbound.data.split(":"), "", "", ""][:4]
        row = await self.desk.own_row(turn, row_id)
        if row is None or row.status != store.ENDED:
            self.desk.stale(turn)
            return
        if question == "r" and answer in {"1", "2", "3", "4", "5"} and row.feedback_rating is None:
            row.feedback_rating = int(answer)
            await lifecycle.record(turn.session, row, "feedback_rating", answer, now=turn.now)
            turn.replies.append(
                self.wording.yes_no("handover_feedback_again", turn.language, f"vf:{row.id}:a")
            )
        elif question == "a" and answer in {"yes", "no"} and row.feedback_again is None:
            row.feedback_again = answer == "yes"
            await lifecycle.record(turn.session, row, "feedback_again", answer, now=turn.now)
            turn.say("handover_feedback_thanks", Choice(turn.label("menu_button"), "menu:open"))
        else:
            self.desk.stale(turn)

    # -- helpers -------------------------------------------------------------------------
    def _say(self, turn: Turn, key: str, *choices: Choice, **values: object) -> Outbound:
        return self.wording.say(key, turn.language, *choices, **values)

    @staticmethod
    def _replace(turn: Turn, message: Outbound) -> None:
        if turn.replies:
            turn.replies.pop()
        turn.replies.append(message)
