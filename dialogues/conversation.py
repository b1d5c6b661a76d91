"""The entry point of the conversation: one inbound message of one participant in, the
replies out. The order is fixed: the safety net first, on every message; then the flood
limit; then features that take over a conversation (the volunteer relay); then commands,
buttons, and the flows.

Features (check-ins, handover) register their commands, button namespaces, node actions
and entry points here, in one place, when the service is built.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from dialogues import flows, intents, measure
from dialogues.content import LANGUAGES, Texts
from dialogues.embedding import Embedder
from dialogues.engine import Action, FlowEngine, Placeholder
from dialogues.listening import NAMESPACE as LISTENING
from dialogues.listening import Listener
from dialogues.messages import MAX_TEXT, Choice, Inbound, Kind, Outbound, rows
from dialogues.resources import Catalog, CrisisLine, Directory, crisis_text
from dialogues.safety_model import Level
from dialogues.understanding import Meaning, SafetyNet, Verdict
from storage import conversations, events, participants
from storage.models import ConversationState, Participant, PendingErasure
from storage.participants import NOT_INVOLVED, Arrival, Involvement
from storage.types import Clock, utcnow

LANGUAGE_NAMES = {"da": "Dansk", "en": "English"}
WELCOME = "welcome.start"
RETURNING = "welcome.again"
MENU = "menu.start"
CRISIS = "safety.crisis"
ASK = "safety.ask"
ASKED_AT = "safety_asked_at"  # in ConversationState.answers: when the direct question was put
WELCOME_BACK = "menu.welcome_back"


@dataclass(frozen=True)
class DialogueSettings:
    crisis_lines: Sequence[CrisisLine]
    directory: Directory | Catalog
    flood_limit_per_minute: int = 20
    idle_restart: timedelta = timedelta(hours=24)
    # Ambiguous distress is asked about directly at most once in this long.
    ask_again_after: timedelta = timedelta(hours=6)


@dataclass
class Turn:
    """One inbound message being handled, inside the caller's transaction."""

    conversation: Conversation
    session: AsyncSession
    participant: Participant
    state: ConversationState
    inbound: Inbound
    channel: str
    now: datetime
    is_new: bool = False
    # What the person was part of when the message arrived (lets features skip look-ups).
    involvement: Involvement = NOT_INVOLVED
    replies: list[Outbound] = field(default_factory=list)
    erased: bool = False
    # The safety net fired: this turn's messages go first (Lane.CRISIS).
    urgent: bool = False
    # Messages to other people (the relay, alerts), written to the outbox with the turn.
    outgoing: list[tuple[int, Outbound]] = field(default_factory=list)
    # The text understood before the transaction: the safety verdict and its embedding.
    meaning: Meaning | None = None
    # What typed text was heard as ("choice:often", "intent:bot", "reflect", "fallback"...).
    heard: str = ""

    @property
    def language(self) -> str:
        return self.participant.language

    def say(self, key: str, *choices: Choice, **values: object) -> None:
        text = self.conversation.texts.get(key, self.language, **values)
        self.replies.append(Outbound(text, rows(*choices)))

    def label(self, key: str) -> str:
        return self.conversation.texts.get(key, self.language)

    async def record(self, kind: str, detail: str = "") -> None:
        """An anonymised event for the statistics: this turn's channel and language and the
        hour, never who or what was written."""
        await events.record(
            self.session, kind, detail, channel=self.channel, language=self.language, at=self.now
        )

    async def goto(self, ref: str) -> None:
        """Move to a flow node and say what it says."""
        await self.conversation.engine.enter(self, ref)

    def send_to(self, participant_id: int, message: Outbound) -> None:
        """A message to someone else, sent once this turn is committed and never lost: it is
        written to the outbox in the turn's own transaction."""
        self.outgoing.append((participant_id, message))


Handler = Callable[[Turn], Awaitable[None]]
Interceptor = Callable[[Turn], Awaitable[bool]]
CrisisListener = Callable[[Turn, Verdict], Awaitable[None]]
Screen = Callable[[Turn], Awaitable[bool]]


class Conversation:
    """Routes a turn. Build it, let features register, then `load_flows()`."""

    def __init__(
        self,
        texts: Texts,
        safety: SafetyNet,
        settings: DialogueSettings,
        *,
        clock: Clock = utcnow,
    ) -> None:
        self.texts = texts
        self.safety = safety
        self.settings = settings
        self.clock = clock
        self._commands: dict[str, Handler] = {}
        self._public: list[str] = []
        self._choices: dict[str, Handler] = {}
        self._interceptors: list[Interceptor] = []
        self._crisis_listeners: list[CrisisListener] = []
        self._safety_exempt: list[Screen] = []
        self._with_human: list[Screen] = []
        self._actions: dict[str, Action] = {}
        self._placeholders: dict[str, Placeholder] = {}
        self._entry_points = {
            WELCOME, RETURNING, MENU, CRISIS, ASK, WELCOME_BACK, *measure.RESULTS
        }
        self._engine: FlowEngine | None = None
        self._listener: Listener | None = None
        self._embedder: Embedder | None = None
        self._register_own()

    # -- registration ------------------------------------------------------------------
    def command(self, name: str, handler: Handler, *, public: bool = True) -> None:
        self._commands[name] = handler
        if public:
            self._public.append(name)

    def choices(self, namespace: str, handler: Handler) -> None:
        """Buttons whose data starts with "namespace:" go to `handler`."""
        self._choices[namespace] = handler

    def intercept(self, interceptor: Interceptor) -> None:
        """Runs after the safety net and before everything else; True means handled."""
        self._interceptors.append(interceptor)

    def on_crisis(self, listener: CrisisListener) -> None:
        """Hears of each risky verdict (clear, ambiguous, or a "yes" to the direct
        question), after the bot's answer is prepared (so that answer stays the first thing
        the person receives), or instead of it when a human is talking with the person."""
        self._crisis_listeners.append(listener)

    def human_present(self, screen: Screen) -> None:
        """True from `screen` means a human (a volunteer) is talking with this person now:
        the safety net does not break in with bot talk; the listeners alert that human."""
        self._with_human.append(screen)

    def exempt_from_safety(self, screen: Screen) -> None:
        """True from `screen` means this person's words are not about themselves (a
        volunteer writing to a young person): the safety net does not answer them."""
        self._safety_exempt.append(screen)

    def action(self, name: str, handler: Action) -> None:
        self._actions[name] = handler

    def placeholder(self, name: str, provide: Placeholder) -> None:
        self._placeholders[name] = provide

    def entry_point(self, ref: str) -> None:
        """A node that code enters directly, so the validator counts it as reachable."""
        self._entry_points.add(ref)

    def understand_with(self, embedder: Embedder) -> None:
        """Typed text that no keyword explains is then understood by meaning."""
        self._embedder = embedder

    def load_flows(self, directory: Path = flows.FLOWS_DIR) -> flows.Library:
        listening = intents.load()
        self._entry_points |= {i.goto for i in listening.intents if i.goto}
        library = flows.load(
            directory,
            entry_points=self._entry_points,
            placeholders=self._placeholders,
            actions=self._actions,
        )
        self._engine = FlowEngine(library, self._actions, self._placeholders)
        self._listener = Listener(library, listening, embedder=self._embedder)
        self._listener.warm()
        return library

    @property
    def listener(self) -> Listener:
        if self._listener is None:
            raise RuntimeError("Conversation.load_flows() was not called")
        return self._listener

    @property
    def engine(self) -> FlowEngine:
        if self._engine is None:
            raise RuntimeError("Conversation.load_flows() was not called")
        return self._engine

    @property
    def commands(self) -> tuple[str, ...]:
        """Public commands, in the order menus list them."""
        return tuple(self._public)

    # -- handling ----------------------------------------------------------------------
    async def understand(self, key: str, inbound: Inbound) -> Meaning | None:
        """What an inbound message means, worked out before the turn's transaction opens:
        the safety net's verdict and, for typed text, its sentence embedding (at most one
        model call per message, shared by the net and the listener). The turn itself never
        waits for the model while it holds a database connection. `key` is the person's
        pseudonym (for the net's memory of their last few texts)."""
        if inbound.kind is Kind.CHOICE or not inbound.text.strip():
            return None
        if inbound.kind is Kind.COMMAND:
            # A command's argument is a code or a deep-link payload: the lexicon reads it,
            # the model (which guesses at random strings) does not.
            return self.safety.plain(inbound.text)
        meaning = await self.safety.understand(key, inbound.text)
        listener = self._listener
        if inbound.kind is Kind.TEXT and listener is not None and listener.wants_vector(
            inbound.text
        ):
            await meaning.embedding()
        return meaning

    async def handle(
        self,
        session: AsyncSession,
        arrival: Arrival,
        inbound: Inbound,
        *,
        channel: str,
        meaning: Meaning | None = None,
    ) -> Turn:
        """`meaning` is the inbound text understood before the transaction opened
        (:meth:`SafetyNet.understand`); without it the lexicon alone judges, at once."""
        now = self.clock()
        participant, is_new = arrival.participant, arrival.is_new
        state = arrival.state or await conversations.load(
            session, participant.id, WELCOME, new=is_new
        )
        idle = now - state.updated_at >= self.settings.idle_restart
        turn = Turn(
            self, session, participant, state, inbound, channel, now, is_new, arrival.involvement
        )
        turn.meaning = meaning if meaning is not None else self.safety.plain(inbound.text)
        if (is_new or idle) and not await self._exempt(turn):
            await self._record_conversation(turn)
        await self._handle(turn, idle=idle and not is_new)
        if not turn.erased:
            state.updated_at = now
            self.listener.remember(turn)
        return turn

    async def _handle(self, turn: Turn, *, idle: bool) -> None:
        inbound = turn.inbound
        verdict = turn.meaning.verdict if turn.meaning else Verdict(Level.NONE)
        risky = verdict.risky and inbound.kind is not Kind.CHOICE
        if risky and await self._answer_risk(turn, verdict):
            return
        if inbound.kind is not Kind.CHOICE and self._flooding(turn):
            return
        for interceptor in self._interceptors:
            if await interceptor(turn):
                return
        if inbound.kind is Kind.COMMAND:
            await self._commands.get(inbound.command, self._unknown_command)(turn)
        elif inbound.kind is Kind.CHOICE:
            await self._choice(turn)
        elif inbound.kind is Kind.MEDIA:
            turn.say("media")
        elif inbound.kind is Kind.EDITED:
            turn.say("edited")
        elif not inbound.text.strip():
            return  # nothing to answer: an empty message is ignored on purpose
        elif len(inbound.text) > MAX_TEXT:
            turn.say("too_long", limit=MAX_TEXT)
        else:
            await self._text(turn, idle=idle)

    async def _record_conversation(self, turn: Turn) -> None:
        """A bot conversation begins with a person's first message, or their first after
        `idle_restart` of quiet ("again": the person is returning). Volunteers, whose words
        go to a young person, are not counted."""
        await turn.record("bot_conversation", "first" if turn.is_new else "again")

    async def _answer_risk(self, turn: Turn, verdict: Verdict) -> bool:
        """Clear risk: the crisis answer first. Ambiguous: the direct question, unless it
        was put recently. With a volunteer: no bot talk, the volunteer is alerted. True when
        the turn is answered."""
        if await self._exempt(turn):
            return False
        if verdict.level is Level.AMBIGUOUS and (
            self._asked_recently(turn) or self.listener.answers_a_button(turn)
        ):
            return False
        if verdict.level is Level.CLEAR:
            turn.state.crisis_at = turn.now
            turn.urgent = True
        await turn.record("crisis" if verdict.level is Level.CLEAR else "safety_ask",
                          verdict.category)
        if await self._human_present(turn):
            await self._tell_listeners(turn, verdict)
            return True
        if verdict.level is Level.CLEAR:
            await turn.goto(CRISIS)
        else:
            turn.state.answers = {**turn.state.answers, ASKED_AT: turn.now.isoformat()}
            await turn.goto(ASK)
        await self._tell_listeners(turn, verdict)
        return True

    def _asked_recently(self, turn: Turn) -> bool:
        asked = turn.state.answers.get(ASKED_AT)
        if not isinstance(asked, str):
            return False
        try:
            when = datetime.fromisoformat(asked)
        except ValueError:
            return False
        return turn.now - when < self.settings.ask_again_after

    async def _said_yes(self, turn: Turn) -> None:
        """The action of safety.yes: the person answered the direct question with yes."""
        turn.state.crisis_at = turn.now
        turn.urgent = True
        await turn.record("crisis", "asked_yes")
        await self._tell_listeners(turn, Verdict(Level.CLEAR, "question", "asked_yes"))

    async def _tell_listeners(self, turn: Turn, verdict: Verdict) -> None:
        for listener in self._crisis_listeners:
            await listener(turn, verdict)

    async def _human_present(self, turn: Turn) -> bool:
        for screen in self._with_human:
            if await screen(turn):
                return True
        return False

    async def _exempt(self, turn: Turn) -> bool:
        for screen in self._safety_exempt:
            if await screen(turn):
                return True
        return False

    def _flooding(self, turn: Turn) -> bool:
        """More than the limit in a minute: one calm slow-down message, then quiet until the
        minute is over. The safety net has already run on every message."""
        state, now = turn.state, turn.now
        if state.flood_window_start is None or now - state.flood_window_start >= timedelta(
            minutes=1
        ):
            state.flood_window_start, state.flood_count, state.flood_noticed = now, 0, False
        state.flood_count += 1
        if state.flood_count <= self.settings.flood_limit_per_minute:
            return False
        if not state.flood_noticed:
            state.flood_noticed = True
            turn.say("slow_down")
        return True

    async def _choice(self, turn: Turn) -> None:
        data = turn.inbound.data
        if data.startswith(flows.CHOICE_PREFIX):
            if not await self.engine.on_choice(turn, data):
                await self._stale(turn)
            return
        await self._choices.get(data.split(":", 1)[0], self._stale)(turn)

    async def _text(self, turn: Turn, *, idle: bool) -> None:
        if turn.participant.consented_at is None:
            if turn.is_new or turn.state.flow != "welcome":
                await turn.goto(WELCOME)
                return
        elif idle:
            await turn.goto(WELCOME_BACK)
            return
        await self.listener.hear(turn)

    async def press(self, turn: Turn) -> None:
        """Handle `turn.inbound` as a pressed button (typed words that picked one)."""
        await self._choice(turn)

    # -- the commands every person has --------------------------------------------------
    def _register_own(self) -> None:
        self.command("start", self._start)
        self.command("help", self._help)
        self.command("privacy", self._privacy)
        self.command("forget", self._forget)
        self.command("language", self._language)
        self.command("menu", self._menu, public=False)
        self.choices("lang", self._set_language)
        self.choices("forget", self._confirm_forget)
        self.choices("menu", self._menu)
        self.choices(LISTENING, self._intent_button)
        self.placeholder("crisis_lines", self._crisis_lines)
        self.placeholder("communities", self._communities)
        self.action("consent", self._consent)
        self.action("save_measure", self._save_measure)
        self.action("safety_yes", self._said_yes)

    async def _intent_button(self, turn: Turn) -> None:
        await self.listener.intent_button(turn)

    async def _start(self, turn: Turn) -> None:
        await turn.goto(RETURNING if turn.participant.consented_at else WELCOME)

    async def _menu(self, turn: Turn) -> None:
        await turn.goto(MENU if turn.participant.consented_at else WELCOME)

    async def _consent(self, turn: Turn) -> None:
        if turn.participant.consented_at is None:
            turn.participant.consented_at = turn.now
            await turn.record("new_person")

    async def _save_measure(self, turn: Turn) -> None:
        """Save the answers, then reflect them kindly (dialogues/measure.py)."""
        after = measure.result_node(turn.state.answers)
        await conversations.save_measurement(
            turn.session, turn.participant.id, turn.state, now=turn.now
        )
        await turn.goto(after)

    def _crisis_lines(self, turn: Turn) -> str:
        return crisis_text(self.settings.crisis_lines, turn.language)

    def _communities(self, turn: Turn) -> str:
        answers = turn.state.answers
        found = self.settings.directory.find(
            answers.get("interest"), answers.get("region"),
            age_band=turn.participant.age_band, language=turn.language,
        )
        if not found:
            return turn.label("communities_none")
        listing = "\n".join(c.line(turn.language) for c in found)
        if self.settings.directory.example_data:
            listing = f"{turn.label('communities_example')}\n{listing}"
        return listing

    async def _help(self, turn: Turn) -> None:
        turn.say("help")

    async def _privacy(self, turn: Turn) -> None:
        turn.say("privacy")

    async def _language(self, turn: Turn) -> None:
        buttons = [Choice(LANGUAGE_NAMES[lang], f"lang:{lang}") for lang in LANGUAGES]
        turn.say("language_prompt", *buttons)

    async def _set_language(self, turn: Turn) -> None:
        language = turn.inbound.data.partition(":")[2]
        if language not in LANGUAGES:
            await self._stale(turn)
            return
        turn.participant.language = language
        turn.say("language_set")

    async def _forget(self, turn: Turn) -> None:
        """Ask once; the buttons carry a one-time token so an old confirmation cannot erase."""
        token = secrets.token_hex(4)
        pending = await turn.session.get(PendingErasure, turn.participant.id)
        if pending is None:
            turn.session.add(PendingErasure(participant_id=turn.participant.id, token=token))
        else:
            pending.token, pending.requested_at = token, turn.now
        turn.say(
            "forget_confirm",
            Choice(turn.label("forget_yes"), f"forget:yes:{token}"),
            Choice(turn.label("forget_no"), f"forget:no:{token}"),
        )

    async def _confirm_forget(self, turn: Turn) -> None:
        _, answer, token = [*turn.inbound.data.split(":"), "", ""][:3]
        pending = await turn.session.get(PendingErasure, turn.participant.id)
        if pending is None or not secrets.compare_digest(pending.token, token):
            await self._stale(turn)
            return
        if answer == "yes":
            language = turn.language
            self.safety.context.forget(turn.participant.pseudonym)  # their recent texts too
            await participants.erase(turn.session, turn.participant.id)
            turn.erased = True
            turn.replies.append(Outbound(self.texts.get("forget_done", language)))
        else:
            await turn.session.delete(pending)
            turn.say("forget_cancelled")

    async def _unknown_command(self, turn: Turn) -> None:
        turn.say("unknown_command")

    async def _stale(self, turn: Turn) -> None:
        turn.replies.append(self.stale(turn.language))

    def stale(self, language: str) -> Outbound:
        """The answer to a button that no longer means anything."""
        return Outbound(self.texts.get("stale_button", language))
