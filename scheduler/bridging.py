"""Community bridging with a follow-up: after suggestions of communities, the bot offers
to ask again in one or two weeks whether the person went ("Fik du kigget forbi?").

The follow-up is a check-in row of its own kind (storage.checkins.BRIDGE), so it is sent
by the check-in machinery: quiet hours, pacing, exactly once across instances. Its
buttons live in the "br" namespace and carry the row id: "br:plan:<days>" plans it,
"br:went|notyet|no:<id>" answer it, "br:why:<reason>" says why it was not for them,
"br:x:<id>" cancels it (from /checkins, which lists it).
Every answer is an anonymised event (kind, detail; no text); "went" also marks the
community path for "what helps".
"""

from __future__ import annotations

from datetime import datetime, timedelta

from dialogues.conversation import Conversation, Turn
from dialogues.messages import Choice, Outbound
from scheduler import planning
from scheduler.conversation import Planned
from scheduler.messages import BRIDGE_ANSWERS, BRIDGE_NAMESPACE
from scheduler.planning import Rules
from storage import checkins, paths

DAYS = (7, 14)
SLOT = "afternoon"
REASONS = ("far", "interest", "nervous", "time", "other")
_ANSWER_EVENTS = {"went": "went", "notyet": "not_yet", "no": "not_for_me"}
_NODES = {"went": "communities.bridge_went", "notyet": "communities.bridge_not_yet",
          "no": "communities.bridge_not_for_me"}


def register(conversation: Conversation, rules: Rules, *,
             on_planned: Planned | None = None) -> None:
    feature = _Bridging(rules, on_planned)
    conversation.choices(BRIDGE_NAMESPACE, feature.choice)
    conversation.action("offer_bridge", feature.offer)
    conversation.action("bridge_why", feature.why)
    for node in ("bridge_went", "bridge_not_yet", "bridge_not_for_me", "bridge_other",
                 "bridge_friend"):
        conversation.entry_point(f"communities.{node}")


class _Bridging:
    def __init__(self, rules: Rules, on_planned: Planned | None) -> None:
        self.rules = rules
        self.on_planned = on_planned

    async def offer(self, turn: Turn) -> None:
        """The node's question gets the buttons: in a week, in two weeks, no thanks."""
        question = turn.replies.pop() if turn.replies else None
        text = question.text if question else turn.label("bridge_offer")
        buttons = tuple(
            (Choice(turn.label(f"bridge_in_{days}_days"), f"{BRIDGE_NAMESPACE}:plan:{days}"),)
            for days in DAYS
        )
        no = (Choice(turn.label("bridge_no_thanks"), f"{BRIDGE_NAMESPACE}:none"),)
        turn.replies.append(Outbound(text, (*buttons, no)))

    async def why(self, turn: Turn) -> None:
        """The node's question gets the reasons as buttons."""
        question = turn.replies.pop() if turn.replies else None
        text = question.text if question else turn.label("bridge_why")
        buttons = tuple(
            (Choice(turn.label(f"bridge_why_{reason}"), f"{BRIDGE_NAMESPACE}:why:{reason}"),)
            for reason in REASONS
        )
        turn.replies.append(Outbound(text, buttons))

    async def choice(self, turn: Turn) -> None:
        _, action, *args = turn.inbound.data.split(":")
        handled = False
        if action == "plan":
            handled = await self._plan(turn, args[0] if args else "")
        elif action == "none":
            turn.say("bridge_declined")
            handled = True
        elif action in BRIDGE_ANSWERS:
            handled = await self._answer(turn, action, args[0] if args else "")
        elif action == "x":
            handled = await self._cancel(turn, args[0] if args else "")
        elif action == "why" and args and args[0] in REASONS:
            await turn.record("bridge_why", args[0])
            await turn.goto("communities.bridge_other")
            handled = True
        if not handled:
            turn.replies.append(turn.conversation.stale(turn.language))

    async def _plan(self, turn: Turn, days: str) -> bool:
        if not days.isdigit() or int(days) not in DAYS:
            return False
        session, person = turn.session, turn.participant
        if await checkins.bridge_planned(session, person.id) is not None:
            turn.say("bridge_already")
            return True
        due = self.due(turn.now, int(days))
        checkins.add(session, person.id, due, kind=checkins.BRIDGE)
        await turn.record("bridge_planned", days)
        if self.on_planned is not None:
            self.on_planned(due)
        words = planning.describe(due, turn.now, self.rules.zone, turn.conversation.texts,
                                  turn.language)
        turn.say("bridge_planned", when=words)
        return True

    async def _cancel(self, turn: Turn, checkin_id: str) -> bool:
        planned = await checkins.bridge_planned(turn.session, turn.participant.id)
        if planned is None or str(planned.id) != checkin_id:
            return False
        planned.status = checkins.CANCELLED
        await turn.record("checkin_cancelled", "bridge")
        turn.say("bridge_cancelled")
        return True

    def due(self, now: datetime, days: int) -> datetime:
        """`days` from today in the afternoon (or the first slot there is), after quiet
        hours."""
        slot = SLOT if SLOT in self.rules.slots else next(iter(self.rules.slots))
        day = now.astimezone(self.rules.zone).date() + timedelta(days=days)
        local = datetime.combine(day, self.rules.slot(slot), tzinfo=self.rules.zone)
        return self.rules.outside_quiet(local.astimezone(now.tzinfo))

    async def _answer(self, turn: Turn, answer: str, checkin_id: str) -> bool:
        if not checkin_id.isdigit():
            return False
        session, person = turn.session, turn.participant
        if await checkins.reply_to_bridge(session, person.id, int(checkin_id)):
            await turn.record("bridge_answer", _ANSWER_EVENTS[answer])
            if answer == "went":
                await paths.mark(session, person.id, paths.COMMUNITY, turn.now)
        await turn.goto(_NODES[answer])
        return True
