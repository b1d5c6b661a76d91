"""The handover in the conversation, registered in one place.

- Commands: /frivillig CODE, /klar, /pause, /naeste (volunteers; not in the public
  menu), /afslut (either side); the English /volunteer, /available, /away, /next and /end
  are aliases.
- Buttons: "vq" (the young person's steps to and in the queue), "vf" (their feedback),
  "vo" (joining as a volunteer), "vt" (taking someone), "vc" (a volunteer's controls in a
  conversation), "vd" (the debrief).
- The action `request_human` for dialogues/flows/human.yaml.
- An interceptor (after the safety net, before everything else) for typed text of people
  in a handover: the note, the relay, the volunteer's console.
- A crisis listener, and volunteers exempted from the safety net's answer: their words are
  about someone else, and must reach them. A young person in a conversation with a
  volunteer gets no bot talk from the net: the listener alerts the volunteer instead.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from dialogues.conversation import Conversation, Turn
from dialogues.messages import MAX_TEXT, Kind, Outbox
from storage import handover as store
from storage.models import PendingErasure
from volunteers import lifecycle
from volunteers.console import Console
from volunteers.desk import Desk, Unconnected
from volunteers.messages import Wording
from volunteers.queue import Policy
from volunteers.relay import Relay
from volunteers.young import YoungSide

_VOLUNTEER_HELP = ("start", "help")


def register(
    conversation: Conversation,
    policy: Policy,
    wording: Wording,
    *,
    outbox: Outbox | None = None,
    on_blocked: Callable[[], None] | None = None,
) -> None:
    """`outbox` sends to the other side after each turn commits; `on_blocked` hears that
    someone turned out to have blocked the bot (the runner settles their handover)."""
    desk = Desk(policy, wording, outbox or Unconnected(), on_blocked)
    relay = Relay(desk)
    console = Console(desk, relay)
    young = YoungSide(desk)
    feature = _Handover(desk, relay, console, young)

    # Danish first, as the texts name them; the English names stay as aliases.
    for danish, english, handler in (
        ("frivillig", "volunteer", console.join),
        ("klar", "available", console.available),
        ("pause", "away", console.away),
        ("naeste", "next", console.next),
        ("afslut", "end", feature.end),
    ):
        conversation.command(danish, handler, public=False)
        conversation.command(english, handler, public=False)
    conversation.choices("vq", young.choice)
    conversation.choices("vf", young.feedback)
    conversation.choices("vo", console.onboarding)
    conversation.choices("vt", console.take)
    conversation.choices("vc", console.control)
    conversation.choices("vd", console.debrief)
    conversation.action("request_human", young.request)
    conversation.intercept(feature.intercept)
    conversation.on_crisis(relay.on_crisis)
    conversation.exempt_from_safety(feature.is_volunteer)
    conversation.human_present(feature.young_with_volunteer)
    conversation.entry_point("checkin.offer")


class _Handover:
    def __init__(self, desk: Desk, relay: Relay, console: Console, young: YoungSide) -> None:
        self.desk = desk
        self.relay = relay
        self.console = console
        self.young = young

    async def intercept(self, turn: Turn) -> bool:
        """Typed text (and media) of volunteers, and of young people writing their note
        or in a conversation; commands and buttons go on as usual."""
        kind = turn.inbound.kind
        if kind is Kind.CHOICE:
            if turn.inbound.data.startswith("forget:yes:"):
                await self._before_erasure(turn)
            return False
        volunteer = await self.desk.volunteer(turn) if turn.involvement.volunteer else None
        if volunteer is None:
            return kind is not Kind.COMMAND and await self._young(turn)
        if kind is not Kind.COMMAND:
            return await self.console.on_text(turn, volunteer)
        if volunteer.active and turn.inbound.command in _VOLUNTEER_HELP:
            self.console.help(turn, volunteer)
            return True
        return False

    async def _young(self, turn: Turn) -> bool:
        if not turn.involvement.open_handover:
            return False
        row = await store.open_for(turn.session, turn.participant.id)
        if row is not None and row.status == store.DRAFT and row.writing_note:
            await self.young.on_note(turn, row)
            return True
        if row is not None and row.status == store.ACTIVE:
            await self.relay.to_volunteer(turn, row)
            return True
        if row is not None and row.status == store.WAITING and await self._about_waiting(turn):
            await self.young.still_waiting(turn, row)
            return True
        return False

    @staticmethod
    async def _about_waiting(turn: Turn) -> bool:
        """Typed text while waiting that is not a button, an intent or a topic: most
        likely about the wait ("er der nogen snart?"), answered with the place in the queue."""
        text = turn.inbound.text
        if turn.inbound.kind is not Kind.TEXT or not text.strip() or len(text) > MAX_TEXT:
            return False
        return not await turn.conversation.listener.would_handle(turn)

    async def _before_erasure(self, turn: Turn) -> None:
        """A confirmed /forget takes the handover with it (ON DELETE CASCADE): first the
        volunteer in the conversation is told it has ended, and the end is counted."""
        pending = await turn.session.get(PendingErasure, turn.participant.id)
        token = turn.inbound.data.rpartition(":")[2]
        if pending is None or not secrets.compare_digest(pending.token, token):
            return  # a stale confirmation: the conversation answers it, nothing is erased
        row = await store.open_for(turn.session, turn.participant.id)
        if row is None or row.status != store.ACTIVE:
            return
        posts = await lifecycle.end(
            turn.session, self.desk.wording, self.desk.policy, row, turn.now,
            by=lifecycle.ENDED_BY_YOUNG,
        )
        volunteer_posts = [(pid, m) for pid, m in posts if pid != turn.participant.id]
        self.desk.post(turn, volunteer_posts[:1])  # "it has ended"; no debrief of a row erased

    async def end(self, turn: Turn) -> None:
        volunteer = await self.desk.active_volunteer(turn)
        if volunteer is not None:
            await self.console.end(turn, volunteer)
        else:
            await self.young.end(turn)

    async def young_with_volunteer(self, turn: Turn) -> bool:
        """A young person in a conversation with a volunteer: the bot stays out of it."""
        if not turn.involvement.open_handover:
            return False
        row = await store.open_for(turn.session, turn.participant.id)
        return row is not None and row.status == store.ACTIVE

    async def is_volunteer(self, turn: Turn) -> bool:
        """An active volunteer, or one typing their alias while joining: the words are not
        about themselves (an alias such as "Maane" once read as distress)."""
        if not turn.involvement.volunteer:
            return False
        volunteer = await self.desk.volunteer(turn)
        return volunteer is not None and (volunteer.active or volunteer.awaiting == "alias")
