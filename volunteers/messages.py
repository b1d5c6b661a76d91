"""What the handover says, composed from dialogues/content/texts/handover.yaml.

Only these functions put a young person into words for a volunteer, and they use nothing
but the handover row: the "Ung #4821" number, language, age band, channel, crisis flag and
the note the person approved. Never a name, a username or an id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from dialogues.content import Texts
from dialogues.messages import Choice, Outbound, rows
from dialogues.resources import CrisisLine, crisis_text
from storage.models import Handover
from volunteers.organisations import Organisation

TOPICS = ("loneliness", "friends", "family", "school", "mental", "other")
Post = tuple[int, Outbound]  # (participant id, message): sent after the commit


@dataclass(frozen=True)
class Wording:
    texts: Texts
    crisis_lines: Sequence[CrisisLine]
    zone: ZoneInfo

    def get(self, key: str, language: str, **values: object) -> str:
        return self.texts.get(key, language, **values)

    def say(self, key: str, language: str, *choices: Choice, **values: object) -> Outbound:
        return Outbound(self.get(key, language, **values), rows(*choices))

    def lines(self, language: str) -> str:
        return crisis_text(self.crisis_lines, language)

    # -- the young person, as volunteers see them ------------------------------------------
    def name(self, row: Handover, language: str) -> str:
        return self.get("handover_young", language, number=row.young_number)

    def card(self, row: Handover, language: str) -> str:
        return self.get(
            "handover_card",
            language,
            name=self.name(row, language),
            speaks=self.get(f"handover_language_{row.language}", language),
            age=self.get(f"handover_age_{row.age_band}", language),
            channel=self.get(f"handover_channel_{row.channel}", language),
        )

    def crisis_flag(self, row: Handover, language: str) -> str:
        return self.get("volunteer_crisis_flag", language) if row.crisis else ""

    # -- words for time ----------------------------------------------------------------------
    def estimate(self, wait: timedelta | None, language: str) -> str:
        if wait is None:
            return self.get("handover_estimate_none", language)
        minutes = max(1, round(wait.total_seconds() / 60))
        return self.get("handover_estimate", language, minutes=minutes)

    def when(self, moment: datetime, now: datetime, language: str) -> str:
        local, today = moment.astimezone(self.zone), now.astimezone(self.zone).date()
        clock = f"{local.hour}:{local.minute:02d}"
        if local.date() == today:
            return self.get("handover_when_today", language, time=clock)
        if local.date() == today + timedelta(days=1):
            return self.get("handover_when_tomorrow", language, time=clock)
        weekday = self.get("handover_weekdays", language).split(", ")[local.weekday()]
        return self.get(
            "handover_when_date", language, weekday=weekday, day=local.day,
            month=local.month, time=clock,
        )

    def organisations(self, orgs: Sequence[Organisation], language: str) -> str:
        names = [org.name for org in orgs]
        if len(names) <= 1:
            return "".join(names)
        return f"{', '.join(names[:-1])} {self.get('handover_or', language)} {names[-1]}"

    # -- messages both the turns and the runner send -----------------------------------------
    def waiting_notice(
        self, row: Handover, language: str, *, count: int, longest: timedelta
    ) -> Outbound:
        return self.say(
            "volunteer_waiting_notice",
            language,
            Choice(self.get("volunteer_take", language), f"vt:take:{row.id}"),
            count=count,
            longest=int(longest.total_seconds() // 60),
            speaks=self.get(f"handover_language_{row.language}", language),
            age=self.get(f"handover_age_{row.age_band}", language),
            crisis=self.crisis_flag(row, language),
        )

    def taken(self, row: Handover, language: str, alias: str) -> Outbound:
        lines = [
            self.get("volunteer_their_note", language, note=row.note)
            if row.note
            else self.get("volunteer_no_note", language)
        ]
        if row.handback_note:
            lines.append(self.get("volunteer_handback_note", language, note=row.handback_note))
        return self.say(
            "volunteer_taken",
            language,
            *self.volunteer_buttons(row, language),
            card=self.card(row, language),
            crisis=self.crisis_flag(row, language),
            note="\n".join(lines),
            alias=alias,
        )

    def volunteer_buttons(self, row: Handover, language: str) -> tuple[Choice, ...]:
        return (
            Choice(self.get("handover_end_button", language), f"vc:end:{row.id}"),
            Choice(self.get("volunteer_back_button", language), f"vc:back:{row.id}"),
            Choice(self.get("volunteer_flag_button", language), f"vc:flag:{row.id}"),
        )

    def end_button(self, language: str) -> Choice:
        return Choice(self.get("handover_end_button", language), "vq:end")

    def connected(self, language: str, alias: str, org: Organisation | None) -> Outbound:
        return self.say(
            "handover_connected", language, self.end_button(language),
            alias=alias, org=org.name if org else "",
        )

    def feedback(self, row: Handover, language: str) -> Outbound:
        buttons = tuple(Choice(str(n), f"vf:{row.id}:r:{n}") for n in range(1, 6))
        text = self.get("handover_feedback_rating", language)
        return Outbound(text, (buttons,))

    def yes_no(self, key: str, language: str, prefix: str) -> Outbound:
        buttons = (
            Choice(self.get("handover_yes", language), f"{prefix}:yes"),
            Choice(self.get("handover_no", language), f"{prefix}:no"),
        )
        return Outbound(self.get(key, language), (buttons,))

    def debrief(self, row: Handover, language: str) -> Outbound:
        buttons = [
            Choice(self.get(f"volunteer_topic_{topic}", language), f"vd:{row.id}:t:{topic}")
            for topic in TOPICS
        ]
        return Outbound(self.get("volunteer_debrief_topic", language), rows(*buttons, per_row=2))

    def timeout(self, language: str, crisis: bool) -> list[Outbound]:
        said = [
            self.say(
                "handover_timeout",
                language,
                Choice(self.get("handover_keep_place", language), "vq:keep"),
                Choice(self.get("handover_offer_checkin", language), "vq:checkin"),
                Choice(self.get("handover_leave", language), "vq:leave"),
            )
        ]
        if crisis:
            urgent = self.say("handover_urgent", language, crisis_lines=self.lines(language))
            said.insert(0, urgent)
        return said
