"""Check-ins in the conversation: offering one, /checkins, and the answers to one.

Buttons live in the "ci" namespace and carry everything the next step needs, so no
half-made choice is kept anywhere: "ci:w:<when>" picks the day, "ci:d:<weekday>" the day of
a weekly one, "ci:s:<when>:<slot>" plans it. A trailing ":<id>" on these means "move check-in
<id>". Answers to a sent check-in carry its id ("ci:mood:<id>:<1-5>").
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from dialogues.conversation import Conversation, Turn
from dialogues.messages import Choice, Outbound
from scheduler import planning
from scheduler.messages import NAMESPACE
from scheduler.planning import SLOTS, WEEKLY, WHENS, Rules
from storage import checkins, events, paths
from storage.models import Checkin

OFFER = "checkin.offer"
WEB = "web"  # the web chat's channel name
MAX_UPCOMING = 5
_WHEN_CODES = {"t": "tomorrow", "3": "3days", "7": "week", "wk": WEEKLY}
_CODE_OF = {when: code for code, when in _WHEN_CODES.items()}
_MOOD_NODES = {1: "answered_low", 2: "answered_low", 3: "answered_mid"}

Planned = Callable[[datetime], None]


def register(
    conversation: Conversation, rules: Rules, *, on_planned: Planned | None = None
) -> None:
    """Add /checkins, the "ci" buttons, the `offer_checkin` action and the flow's entry
    points. `on_planned` hears of each new due time (the runner sets its alarm by it)."""
    feature = _Checkins(rules, on_planned)
    conversation.command("checkins", feature.show)
    conversation.choices(NAMESPACE, feature.choice)
    conversation.action("offer_checkin", feature.offer)
    conversation.intercept(feature.note_answer)
    for node in ("offer", "answered_low", "answered_mid", "answered_high", "talk", "later"):
        conversation.entry_point(f"checkin.{node}")
    conversation.entry_point("checkin.keep")


class _Checkins:
    def __init__(self, rules: Rules, on_planned: Planned | None) -> None:
        self.rules = rules
        self.on_planned = on_planned

    # -- offering and planning -----------------------------------------------------------
    async def offer(self, turn: Turn) -> None:
        """The node's question gets the day buttons."""
        question = turn.replies.pop() if turn.replies else None
        text = question.text if question else turn.label("checkin_move_prompt")
        turn.replies.append(Outbound(text, self._when_buttons(turn, move="")))

    def _when_buttons(self, turn: Turn, move: str) -> tuple[tuple[Choice, ...], ...]:
        suffix = f":{move}" if move else ""
        days = tuple(
            Choice(turn.label(f"checkin_when_{when}"), f"{NAMESPACE}:w:{_CODE_OF[when]}{suffix}")
            for when in WHENS
        )
        return (*((c,) for c in days), (Choice(turn.label("checkin_no_thanks"), "ci:no"),))

    async def choice(self, turn: Turn) -> None:
        _, action, *args = turn.inbound.data.split(":")
        handlers = {
            "new": self._new,
            "no": self._declined,
            "w": self._picked_when,
            "d": self._picked_day,
            "s": self._picked_slot,
            "x": self._cancel,
            "m": self._move,
            "all": self._stop_all,
            "mood": self._mood,
            "talk": self._talk,
            "later": self._later,
            "stop": self._stop_all,
            "keep": self._keep,
            "quit": self._stop_all,
        }
        handler = handlers.get(action)
        if handler is None or not await handler(turn, args):
            turn.replies.append(turn.conversation.stale(turn.language))

    async def _new(self, turn: Turn, args: list[str]) -> bool:
        await turn.goto(OFFER)
        return True

    async def _declined(self, turn: Turn, args: list[str]) -> bool:
        turn.say("checkin_declined")
        return True

    async def _picked_when(self, turn: Turn, args: list[str]) -> bool:
        code, move = [*args, ""][:2]
        if code not in _WHEN_CODES:
            return False
        suffix = f":{move}" if move else ""
        if _WHEN_CODES[code] == WEEKLY:
            days = [
                Choice(
                    planning.weekday_name(turn.conversation.texts, day, turn.language),
                    f"{NAMESPACE}:d:{day}{suffix}",
                )
                for day in range(7)
            ]
            turn.say("checkin_day_prompt", *days)
        else:
            self._ask_slot(turn, code, suffix)
        return True

    async def _picked_day(self, turn: Turn, args: list[str]) -> bool:
        day, move = [*args, ""][:2]
        if not (day.isdigit() and 0 <= int(day) <= 6):
            return False
        self._ask_slot(turn, f"w{day}", f":{move}" if move else "")
        return True

    def _ask_slot(self, turn: Turn, when: str, suffix: str) -> None:
        buttons = [
            Choice(
                turn.conversation.texts.get(
                    f"checkin_slot_{slot}",
                    turn.language,
                    time=planning.clock_words(self.rules.slot(slot), turn.language),
                ),
                f"{NAMESPACE}:s:{when}:{slot}{suffix}",
            )
            for slot in SLOTS
            if slot in self.rules.slots
        ]
        turn.say("checkin_slot_prompt", *buttons)

    async def _picked_slot(self, turn: Turn, args: list[str]) -> bool:
        when, slot, move = [*args, "", ""][:3]
        weekday = int(when[1:]) if when[:1] == "w" and when[1:].isdigit() else None
        if weekday is None and when not in _WHEN_CODES:
            return False
        if (weekday is not None and weekday > 6) or slot not in self.rules.slots:
            return False
        replaced = None
        if move:
            replaced = await self._own(turn, move)
            if replaced is None:
                return False
        session, person = turn.session, turn.participant
        if replaced is None and len(await checkins.upcoming(session, person.id)) >= MAX_UPCOMING:
            turn.say("checkin_too_many", count=MAX_UPCOMING)
            return True
        choice = WEEKLY if weekday is not None else _WHEN_CODES[when]
        due = self.rules.first_due(choice, slot, turn.now, weekday)
        if replaced is not None:
            replaced.status = checkins.CANCELLED
        checkins.add(session, person.id, due, slot=slot, weekday=weekday)
        await events.record(
            session,
            "checkin_planned",
            choice,
            channel=turn.channel,
            language=turn.language,
            at=turn.now,
        )
        if self.on_planned is not None:
            self.on_planned(due)
        said = self._words(turn, due)
        texts = turn.conversation.texts
        if replaced is not None:
            text = texts.get("checkin_moved", turn.language, when=said)
        elif weekday is not None:
            name = planning.weekday_name(texts, weekday, turn.language)
            text = texts.get("checkin_planned_weekly", turn.language, when=said, weekday=name)
        else:
            text = texts.get("checkin_planned", turn.language, when=said)
        if turn.channel == WEB:
            # No phone buzzes for the web chat: the message waits here for their return.
            text = f"{text}\n{turn.label('checkin_planned_web')}"
        menu = Choice(turn.label("menu_button"), "menu:open")
        turn.replies.append(Outbound(text, ((menu,),)))
        return True

    # -- /checkins -----------------------------------------------------------------------
    async def show(self, turn: Turn) -> None:
        upcoming = await checkins.upcoming(turn.session, turn.participant.id)
        bridge = await checkins.bridge_planned(turn.session, turn.participant.id)
        if not upcoming and bridge is None:
            turn.say("checkin_list_empty", Choice(turn.label("checkin_plan_one"), "ci:new"))
            return
        lines = [turn.label("checkin_list")]
        buttons: list[tuple[Choice, ...]] = []
        if bridge is not None:  # the community follow-up (scheduler/bridging.py)
            lines.append(turn.conversation.texts.get(
                "bridge_listed", turn.language, when=self._words(turn, bridge.due_at)))
            buttons.append((Choice(turn.label("bridge_cancel_button"), f"br:x:{bridge.id}"),))
        for number, row in enumerate(upcoming, start=1):
            notes = [turn.label("checkin_list_weekly")] if row.weekday is not None else []
            if row.status == checkins.PAUSED:
                notes.append(turn.label("checkin_list_paused"))
            extra = f" ({', '.join(notes)})" if notes else ""
            lines.append(f"{number}. {self._words(turn, row.due_at)}{extra}")
            texts = turn.conversation.texts
            buttons.append(
                (
                    Choice(
                        texts.get("checkin_cancel_button", turn.language, number=number),
                        f"{NAMESPACE}:x:{row.id}",
                    ),
                    Choice(
                        texts.get("checkin_move_button", turn.language, number=number),
                        f"{NAMESPACE}:m:{row.id}",
                    ),
                )
            )
        if any(row.status == checkins.PAUSED for row in upcoming):
            buttons.append((Choice(turn.label("checkin_resume_button"), f"{NAMESPACE}:keep"),))
        if len(upcoming) < MAX_UPCOMING:
            buttons.append((Choice(turn.label("checkin_plan_one"), f"{NAMESPACE}:new"),))
        buttons.append((Choice(turn.label("checkin_stop_all_button"), f"{NAMESPACE}:all"),))
        turn.replies.append(Outbound("\n".join(lines), tuple(buttons)))

    async def _cancel(self, turn: Turn, args: list[str]) -> bool:
        row = await self._own(turn, args[0] if args else "")
        if row is None:
            return False
        row.status = checkins.CANCELLED
        await turn.record("checkin_cancelled", "one")
        turn.say("checkin_cancelled", when=self._words(turn, row.due_at))
        return True

    async def _move(self, turn: Turn, args: list[str]) -> bool:
        row = await self._own(turn, args[0] if args else "")
        if row is None:
            return False
        turn.replies.append(
            Outbound(turn.label("checkin_move_prompt"), self._when_buttons(turn, move=str(row.id)))
        )
        return True

    async def _stop_all(self, turn: Turn, args: list[str]) -> bool:
        await checkins.stop_all(turn.session, turn.participant.id)
        await turn.record("checkin_cancelled", "all")
        turn.say("checkin_stopped")
        return True

    # -- answers to a check-in -----------------------------------------------------------
    async def note_answer(self, turn: Turn) -> bool:
        """Anything the person sends answers what the bot sent them first (never handles
        the message itself: it goes on to the buttons and flows)."""
        if not turn.involvement.checkin_sent:
            return False
        if await checkins.note_answer(turn.session, turn.participant.id, turn.now):
            await turn.record("checkin_answered")
            await paths.mark(turn.session, turn.participant.id, paths.CHECKINS, turn.now)
        return False

    def _resume(self, row: Checkin, now: datetime) -> None:
        """Paused by the question: due again as planned, or at the next weekly time."""
        row.status = checkins.PLANNED
        if row.due_at <= now:
            if row.weekday is not None and row.slot:
                row.due_at = self.rules.next_weekly(row.weekday, row.slot, after=now)
            else:
                row.status = checkins.MISSED
        if row.status == checkins.PLANNED and self.on_planned is not None:
            self.on_planned(row.due_at)

    async def _mood(self, turn: Turn, args: list[str]) -> bool:
        mood = args[1] if len(args) > 1 else ""
        if not (mood.isdigit() and 1 <= int(mood) <= 5):
            return False
        await turn.record("checkin_mood", mood)
        await turn.goto(f"checkin.{_MOOD_NODES.get(int(mood), 'answered_high')}")
        return True

    async def _talk(self, turn: Turn, args: list[str]) -> bool:
        await turn.goto("checkin.talk")
        return True

    async def _later(self, turn: Turn, args: list[str]) -> bool:
        await turn.goto("checkin.later")
        return True

    async def _keep(self, turn: Turn, args: list[str]) -> bool:
        """Yes, keep going: the check-ins paused by the question go on."""
        for row in await checkins.paused(turn.session, turn.participant.id):
            self._resume(row, turn.now)
        await turn.goto("checkin.keep")
        return True

    # -- helpers -------------------------------------------------------------------------
    async def _own(self, turn: Turn, checkin_id: str) -> Checkin | None:
        if not checkin_id.isdigit():
            return None
        return await checkins.own_upcoming(turn.session, turn.participant.id, int(checkin_id))

    def _words(self, turn: Turn, moment: datetime) -> str:
        return planning.describe(
            moment, turn.now, self.rules.zone, turn.conversation.texts, turn.language
        )
