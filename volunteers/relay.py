"""The anonymous relay: text both ways through the bot, and nothing else.

The young person's words reach the volunteer as "Ung #4821: …", the volunteer's reach the
young person as "<alias>: …". Each is kept as a RelayMessage while the conversation runs
(for the relay and the volunteer's scroll-back) and deleted at its end unless the
deployment keeps text for a while. Media is not relayed: a short note says why. The
safety net keeps reading the young person's messages; a hit alerts the volunteer.
"""

from __future__ import annotations

from dialogues.conversation import Turn
from dialogues.messages import MAX_TEXT, Choice, Kind, Outbound, rows
from dialogues.safety_model import Level
from dialogues.understanding import Verdict
from storage import handover as store
from storage.models import Handover, Volunteer
from volunteers import lifecycle
from volunteers.desk import Desk
from volunteers.messages import Post, Wording


class Relay:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.wording = desk.wording

    async def to_volunteer(self, turn: Turn, row: Handover) -> None:
        """The young person wrote during their conversation."""
        if self._not_text(turn, "handover_media_not_relayed"):
            return
        text = turn.inbound.text.strip()
        volunteer = await turn.session.get(Volunteer, row.volunteer_id or 0)
        if not text or volunteer is None:
            return
        self.desk.post(turn, await self._young_words(turn, row, volunteer, text))

    async def _young_words(
        self, turn: Turn, row: Handover, volunteer: Volunteer, text: str
    ) -> list[Post]:
        self._keep(turn, row, store.YOUNG, text)
        language = await lifecycle.language_of(turn.session, volunteer.participant_id)
        name = self.wording.name(row, language)
        choices: tuple[Choice, ...] = ()
        if volunteer.focus_handover_id not in (None, row.id):
            label = self.wording.get("volunteer_focus", language, name=name)
            choices = (Choice(label, f"vc:focus:{row.id}"),)
        messages = self._framed(name, text, language, choices)
        return [(volunteer.participant_id, message) for message in messages]

    async def to_young(self, turn: Turn, volunteer: Volunteer, row: Handover) -> None:
        """The volunteer wrote to the conversation they are in."""
        if self._not_text(turn, "volunteer_media_not_relayed"):
            return
        text = turn.inbound.text.strip()
        if not text:
            return
        self._keep(turn, row, store.VOLUNTEER, text)
        language = await lifecycle.language_of(turn.session, row.participant_id)
        messages = self._framed(volunteer.alias or "", text, language, ())
        self.desk.post(turn, [(row.participant_id, message) for message in messages])

    async def on_crisis(self, turn: Turn, verdict: Verdict) -> None:
        """The safety net found risk in someone's words. In a conversation with a volunteer
        the bot says nothing to the young person: the volunteer is alerted (crisis lines and
        a suggested direct question) and gets the words. Waiting with clear risk: to the
        front of the queue (they already have the crisis answer)."""
        row = await store.open_for(turn.session, turn.participant.id)
        if row is None:
            return
        clear = verdict.level is Level.CLEAR
        row.crisis = row.crisis or clear
        posts: list[Post] = []
        if row.status == store.ACTIVE:
            if not clear:
                row.distress_at = turn.now  # the browser console shows the gentle alert
            volunteer = await turn.session.get(Volunteer, row.volunteer_id or 0)
            if volunteer is not None:
                language = await lifecycle.language_of(turn.session, volunteer.participant_id)
                alert = self.wording.say(
                    "volunteer_crisis_alert" if clear else "volunteer_distress_alert",
                    language,
                    name=self.wording.name(row, language),
                    crisis_lines=self.wording.lines(language),
                )
                posts.append((volunteer.participant_id, alert))
                text = turn.inbound.text.strip()
                if text:
                    posts += await self._young_words(turn, row, volunteer, text)
        elif row.status == store.WAITING and clear:
            posts = await lifecycle.notify_waiting(
                turn.session, self.wording, self.desk.policy, row, turn.now
            )
        self.desk.post(turn, posts)

    # -- helpers -------------------------------------------------------------------------
    def _not_text(self, turn: Turn, media_key: str) -> bool:
        kind = turn.inbound.kind
        if kind is Kind.MEDIA:
            turn.say(media_key)
        elif kind is Kind.EDITED:
            turn.say("handover_edit_not_relayed")
        return kind is not Kind.TEXT

    @staticmethod
    def _keep(turn: Turn, row: Handover, sender: str, text: str) -> None:
        store.keep_message(turn.session, row.id, sender, text, turn.now)
        row.last_message_at, row.idle_asked_at = turn.now, None

    def _framed(
        self, name: str, text: str, language: str, choices: tuple[Choice, ...]
    ) -> list[Outbound]:
        return framed(self.wording, name, text, language, choices)


def framed(
    wording: Wording, name: str, text: str, language: str, choices: tuple[Choice, ...] = ()
) -> list[Outbound]:
    """"name: text", split where a long message would pass Telegram's limit."""
    room = MAX_TEXT - len(wording.get("handover_relay", language, name=name, text=""))
    parts = [text[i : i + room] for i in range(0, len(text), room)]
    bodies = [wording.get("handover_relay", language, name=name, text=p) for p in parts]
    return [
        Outbound(body, rows(*choices) if index == len(bodies) - 1 else ())
        for index, body in enumerate(bodies)
    ]
