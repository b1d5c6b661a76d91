"""Typed text, understood wherever a person is.

One pass, most specific first, each step keeping the person's place:
1. a button in view by its number or its label;
2. the node's own intents, then the global intents that must come before buttons
   ("er du en bot?", privacy, advice, help), then topics where the node asks for them first;
3. a button in view by its keywords; the other global intents; a topic by name;
4. by meaning (sentence embeddings, dialogues/semantic.py), only when the keywords
   found nothing: sure → as above; unsure → one clarifying question with the likely
   buttons;
5. the node's free text (an answer to an open question), acknowledged by a short
   reflection of the feeling or theme found; else a warm answer with the buttons in view.

"The buttons in view" are those of the last message the bot sent in a turn, kept in the
conversation state, so typed words work for buttons that code makes (check-in times, the
queue) as for flow buttons, and no answer ever takes them away.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from dialogues.embedding import Embedder, Vector
from dialogues.flows import CHOICE_PREFIX, ChoiceSpec, Library, Node
from dialogues.intents import GlobalIntent, Listening, Text
from dialogues.matching import Keywords, without_fillers, words_of
from dialogues.messages import Choice, Inbound, Kind, Outbound, rows
from dialogues.semantic import (
    LISTEN,
    Prototypes,
    Reading,
    Thresholds,
    VectorCache,
    read,
)
from dialogues.text import fold, fold_word

if TYPE_CHECKING:
    from dialogues.conversation import Turn

log = logging.getLogger(__name__)

NAMESPACE = "li"  # buttons that run a global intent: "li:<name>"
VIEW = "_view"  # in ConversationState.answers: [node ref, [[label, data], ...]]
TOPICS = "topics.start"
MENU = "menu.start"
TALK = "menu.start.talk"
MAX_BUTTONS = 10
# Words that turn an answer to an open question into a wish to change the subject.
SWITCH = Keywords.compile(
    [
        "i stedet", "istedet", "hellere snakke om", "hellere tale om", "kan vi snakke om",
        "kan vi tale om", "vil snakke om", "vil gerne snakke om", "noget andet",
        "instead", "rather talk about", "can we talk about", "want to talk about",
        "something else", "hvad med", "lad os snakke om", "snakke om", "tale om",
        "what about", "talk about", "let's talk about", "lets talk about",
        "switch to", "change to", "skift til", "skifte til", "skifte emne", "nyt emne",
        "andet emne", "another topic", "different topic", "change the subject",
    ]
)
# How a question begins: at an open question, a question is heard as a question (an
# intent: "is there like a club for people like me") however long it is.
QUESTION = Keywords.compile(
    [
        "is there", "are there", "can i", "can you", "could you", "do you", "does", "is this",
        "is it", "are you", "will you", "should i", "what", "how", "who", "where", "when",
        "why", "er der", "findes der", "kan jeg", "kan du", "kan i", "må jeg", "har i",
        "har du", "er du", "er det", "skal jeg", "vil du", "hvad", "hvordan", "hvem", "hvor",
        "hvornår", "hvorfor",
    ]
)
WAITING = "waiting"  # the label of "about the wait in the queue"
ANSWER_WORDS = 8  # at an open question, longer messages are answers, not commands
EMBED_CHARS = 300  # longer typed texts are not embedded for listening (the net may still)


@dataclass(frozen=True)
class Button:
    label: str
    data: str


@dataclass(frozen=True)
class _Heard:
    """What the keyword pass found: one of these, or nothing."""

    button: Button | None = None
    intent: GlobalIntent | None = None
    topic: ChoiceSpec | None = None
    goto: str | None = None

    def __bool__(self) -> bool:
        return any(v is not None for v in (self.button, self.intent, self.topic, self.goto))


class Listener:
    def __init__(
        self,
        library: Library,
        listening: Listening,
        *,
        embedder: Embedder | None = None,
        thresholds: Thresholds | None = None,
    ) -> None:
        self.library = library
        self.listening = listening
        self.embedder = embedder
        self.thresholds = thresholds or Thresholds()
        topics = library.nodes.get(TOPICS)
        self.topics: tuple[ChoiceSpec, ...] = topics.choices if topics else ()
        self._before = tuple(i for i in listening.intents if i.before)
        self._after = tuple(i for i in listening.intents if not i.before)
        self._prototypes: Prototypes | None = None
        self._cache: VectorCache | None = None

    # -- start-up ------------------------------------------------------------------------
    def examples(self) -> dict[str, list[str]]:
        """Example phrases per label, for the pass by meaning."""
        found: dict[str, list[str]] = {
            LISTEN: list(self.listening.listen_examples),
            WAITING: list(self.listening.waiting_examples),
        }
        for intent in self.listening.intents:
            found.setdefault(f"intent:{intent.name}", []).extend(intent.examples)
        for choice in self.topics:
            found[f"topic:{choice.id}"] = [*choice.label.values(), *choice.examples]
        for node in self.library.nodes.values():
            for choice in node.choices:
                found[f"choice:{node.choice_data(choice)}"] = [
                    *choice.label.values(),
                    *choice.examples,
                ]
        for words in self.listening.buttons:
            if words.examples:
                found[f"button:{words.id}"] = list(words.examples)
        for feeling in self.listening.feelings:
            found[f"feeling:{feeling.name}"] = list(feeling.examples)
        return {label: phrases for label, phrases in found.items() if phrases}

    def warm(self, cache: VectorCache | None = None) -> int:
        """Embed the example phrases (from the cache where it has them); returns how many
        had to be embedded now. Without an embedder there is no pass by meaning."""
        if self.embedder is None:
            return 0
        examples = self.examples()
        cache = self._cache = cache or self._cache or VectorCache()
        vectors, missing = cache.vectors(
            (p for phrases in examples.values() for p in phrases), self.embedder
        )
        self._prototypes = Prototypes(examples, vectors)
        if missing:
            log.info("example phrases embedded at start-up", extra={"count": missing})
        return missing

    def save_vectors(self) -> int:
        """Embed every example phrase and write the repository's vector file; returns how
        many phrases it holds."""
        phrases = [p for phrases in self.examples().values() for p in phrases]
        self.warm()
        if self._cache is None:
            raise RuntimeError("no embedder: nothing to embed the example phrases with")
        self._cache.save(phrases)
        return len(set(phrases))

    @property
    def prototypes(self) -> Prototypes:
        if self._prototypes is None:
            raise RuntimeError("no pass by meaning: no embedder, or warm() was not called")
        return self._prototypes

    # -- the buttons in view -------------------------------------------------------------
    def view(self, turn: Turn, node: Node | None) -> list[Button]:
        stored = turn.state.answers.get(VIEW)
        here = f"{turn.state.flow}.{turn.state.node}"
        if (
            isinstance(stored, list)
            and len(stored) == 2
            and stored[0] == here
            and not turn.involvement.checkin_sent  # a check-in's buttons came since
        ):
            return [Button(str(label), str(data)) for label, data in stored[1]]
        if node is None:
            return []
        return [Button(c.label[turn.language], node.choice_data(c)) for c in node.choices]

    def answers_a_button(self, turn: Turn) -> bool:
        """The text is exactly a button in view (its label or one of its keywords): an
        answer to the question on screen ("af og til" at the loneliness scale), not the
        person's own words about themselves."""
        node = self.library.nodes.get(f"{turn.state.flow}.{turn.state.node}")
        view = self.view(turn, node)
        words = words_of(turn.inbound.text)
        folded = " ".join(words)
        if not folded:
            return False
        if any(" ".join(words_of(button.label)) == folded for button in view):
            return True
        return self._exact_words(view, words) is not None

    @staticmethod
    def remember(turn: Turn) -> None:
        """Keep the buttons of the last message this turn sent (none if it had none)."""
        if not turn.replies or turn.erased:
            return
        last = turn.replies[-1]
        buttons = [[c.label, c.data] for row in last.choices for c in row]
        here = f"{turn.state.flow}.{turn.state.node}"
        if turn.state.answers.get(VIEW) != [here, buttons]:
            turn.state.answers = {**turn.state.answers, VIEW: [here, buttons]}

    # -- hearing typed text --------------------------------------------------------------
    async def hear(self, turn: Turn) -> None:
        text = turn.inbound.text
        words = words_of(text)
        node = turn.conversation.engine.current(turn)
        view = self.view(turn, node)
        answering = node is not None and node.understand == "answer"
        wide = not answering or SWITCH.match(words)  # topics and meaning in full
        today = turn.now.weekday()
        found = next((h for h in self._by_keywords(node, view, text, words, today) if h), None)
        if found is not None:
            await self._do(turn, found, view)
            return
        vector = self._vector(turn, text)
        if vector is not None and (wide or len(words) <= ANSWER_WORDS):
            # Where no free text is heard (a question with buttons), being roughly close
            # is enough to ask which button was meant, rather than answer vaguely.
            buttons_only = node is None or not node.free_text or node.understand == "buttons"
            reading = self._read(vector, view, topics=wide, relaxed=buttons_only)
            if answering and not wide:
                reading = Reading(label=reading.label)  # an answer is heard, not questioned
            if await self._act(turn, reading, view):
                return
        await self._listen(turn, node, words, view, vector, answering=answering)

    def _by_keywords(
        self, node: Node | None, view: list[Button], text: str, words: list[str], today: int
    ) -> Iterator[_Heard]:
        """The keyword pass, most specific first; lazily, so it stops at the first find."""
        answering = node is not None and node.understand == "answer"
        yield _Heard(button=self._exact_words(view, words) or _named(view, text, words))
        if node is not None:
            goto = next((i.goto for i in node.intents if i.keywords.match(words)), None)
            yield _Heard(goto=goto)
        yield _Heard(intent=_first(self._before, words, text))
        if node is not None and node.understand == "topics":
            yield _Heard(topic=self._topic(words))
        yield _Heard(button=self._keyword_button(view, words))
        yield _Heard(button=_clock_button(view, text))
        yield _Heard(button=_weekday_button(view, words, today))
        if not answering or len(words) <= ANSWER_WORDS or _asks(text, words):
            yield _Heard(intent=_first(self._after, words, text))
        if not answering or SWITCH.match(words):
            yield _Heard(topic=self._topic(words))

    async def _do(self, turn: Turn, found: _Heard, view: list[Button]) -> None:
        if found.button is not None:
            await self._press(turn, found.button)
        elif found.intent is not None:
            await self._intent(turn, found.intent, view)
        elif found.topic is not None:
            await self._go_topic(turn, found.topic)
        elif found.goto is not None:
            turn.heard = f"node:{found.goto}"
            await turn.goto(found.goto)

    async def would_handle(self, turn: Turn) -> bool:
        """Whether typed text names a button in view, a global intent or a topic, by the
        same passes as `hear` (a feature that answers other text itself, like the queue,
        lets these through)."""
        text = turn.inbound.text
        words = words_of(text)
        node = turn.conversation.engine.current(turn)
        view = self.view(turn, node)
        keywords = self._by_keywords(node, view, text, words, turn.now.weekday())
        if any(keywords):
            return True
        vector = self._vector(turn, text)
        if vector is None:
            return False
        reading = self._read(vector, view, topics=True, extra=(WAITING,))
        return reading.label not in (None, WAITING)

    async def feeling(self, turn: Turn) -> str:
        """A short reflection of the feeling in typed text, or "" when none shows."""
        words = words_of(turn.inbound.text)
        vector = self._vector(turn, turn.inbound.text)
        return self._reflection(turn, words, vector, plain=False)

    async def _act(self, turn: Turn, reading: Reading, view: list[Button]) -> bool:
        if reading.label is not None:
            kind, _, name = reading.label.partition(":")
            if kind == "intent" and (intent := self.listening.intent(name)) is not None:
                await self._intent(turn, intent, view)
                return True
            if kind == "topic" and (topic := self._topic_by_id(name)) is not None:
                await self._go_topic(turn, topic)
                return True
            if (button := self._button_of(reading.label, view)) is not None:
                await self._press(turn, button)
                return True
            return False
        offered = [b for label in reading.likely if (b := self._offer(turn, label, view))]
        if not offered:
            return False
        turn.heard = "clarify"
        question = self.listening.clarify[turn.language]
        turn.replies.append(Outbound(question, self._rows(turn, offered, view)))
        return True

    async def _listen(
        self,
        turn: Turn,
        node: Node | None,
        words: list[str],
        view: list[Button],
        vector: Vector | None,
        *,
        answering: bool,
    ) -> None:
        """Nothing to pick: an answer to hear. Reflect it where a feeling or theme shows,
        then go where the node sends free text, or offer the buttons in view again."""
        reflection = self._reflection(turn, words, vector, plain=answering)
        if node is not None and node.free_text:
            turn.heard = "reflect"
            if reflection:
                turn.replies.append(Outbound(reflection))
            await turn.goto(node.free_text)
            return
        if reflection:
            turn.heard = "reflect"
            talk = self._offer(turn, f"choice:{CHOICE_PREFIX}{TALK}", view)
            label = self.listening.talk_about_it[turn.language]
            extra = [Button(label, talk.data)] if talk else []
            turn.replies.append(Outbound(reflection, self._rows(turn, extra, view)))
            return
        if vector is not None and await self._last_chance(turn, vector, view, answering=answering):
            return
        turn.heard = "fallback"
        options = self.library.fallbacks
        last = turn.state.last_fallback
        index = (int(last) + 1) % len(options) if last and last.isdigit() else 0
        turn.state.last_fallback = str(index)
        menu = self._offer(turn, "intent:menu", view)
        extra = [menu] if menu and not any(b.data.startswith("menu:") for b in view) else []
        turn.replies.append(
            Outbound(options[index][turn.language], self._rows(turn, extra, view, view_first=True))
        )

    async def _last_chance(
        self, turn: Turn, vector: Vector, view: list[Button], *, answering: bool
    ) -> bool:
        """Before the generic answer: the intents, topics and buttons in view read again by
        meaning with a lower bar. An intent clearly the closest is answered (thanks, hello
        and "ved ikke" cannot be offered as buttons); otherwise the likely ones are offered
        in one short question, below which the buttons in view stay."""
        if self._prototypes is None:
            return False
        scores = self._prototypes.scores(vector)
        allowed = [f"intent:{i.name}" for i in self.listening.intents]
        if not answering:
            allowed += [f"topic:{t.id}" for t in self.topics]
        allowed += [label for b in view if (label := self._label_of(b)) is not None]
        ranked = sorted(((scores[a], a) for a in set(allowed) if a in scores), reverse=True)
        if not ranked or ranked[0][0] < self.thresholds.last_chance:
            return False
        best, label = ranked[0]
        kind, _, name = label.partition(":")
        intent = self.listening.intent(name) if kind == "intent" else None
        runner_up = ranked[1][0] if len(ranked) > 1 else -1.0
        if intent is not None and best - runner_up >= self.thresholds.margin:
            await self._intent(turn, intent, view)
            return True
        close = tuple(n for score, n in ranked[:3] if score >= best - self.thresholds.spread)
        return await self._act(turn, Reading(likely=close, score=best), view)

    # -- acting ----------------------------------------------------------------------------
    async def _press(self, turn: Turn, button: Button) -> None:
        turn.heard = f"choice:{self._button_id(button)}"
        ref = button.data.removeprefix(CHOICE_PREFIX).rpartition(".")[0]
        if ref in (TOPICS, "topics.open") and (topic := self._topic_of(button.data)):
            turn.heard = f"topic:{topic.id}"
        original = turn.inbound
        turn.inbound = Inbound(Kind.CHOICE, text=original.text, data=button.data)
        try:
            await turn.conversation.press(turn)
        finally:
            turn.inbound = original

    async def intent_button(self, turn: Turn) -> None:
        """A "li:<name>" button: run that intent."""
        intent = self.listening.intent(turn.inbound.data.partition(":")[2])
        if intent is None:
            turn.replies.append(turn.conversation.stale(turn.language))
            return
        node = turn.conversation.engine.current(turn)
        await self._intent(turn, intent, self.view(turn, node))

    async def _intent(self, turn: Turn, intent: GlobalIntent, view: list[Button]) -> None:
        preferred = [b for b in view if self._button_id(b) in intent.prefer]
        if preferred:
            await self._press(turn, preferred[0])
            return
        turn.heard = f"intent:{intent.reported}"
        if intent.goto is not None or intent.answer is None:
            await turn.goto(intent.goto or MENU)
            return
        extra = [b for ref in intent.buttons if (b := self._button_for(turn, ref))]
        turn.replies.append(Outbound(intent.answer[turn.language], self._rows(turn, extra, view)))

    async def _go_topic(self, turn: Turn, topic: ChoiceSpec) -> None:
        turn.heard = f"topic:{topic.id}"
        await turn.goto(topic.goto)

    # -- finding -------------------------------------------------------------------------
    def _exact_words(self, view: list[Button], words: list[str]) -> Button | None:
        """A message that is exactly one of a button's keywords: "3" for "in 3 days", "16"
        for "15–17", before "3" is taken as the third button."""
        folded = " ".join(words)
        for button in view:
            keywords = self._keywords_of(button.data)
            if keywords and any(" ".join(p.words) == folded for p in keywords.patterns):
                return button
        return None

    def _keyword_button(self, view: list[Button], words: list[str]) -> Button | None:
        """The button whose longest keyword found is longest (the first on a tie). Fillers
        do not decide ("kinda often" is often), and a keyword right after "not" does not
        count ("ikke om morgenen" is no morning)."""
        core = without_fillers(words)
        for text_words in (core, words) if core and len(core) < len(words) else (words,):
            best, found = 0, None
            for button in view:
                keywords = self._keywords_of(button.data)
                length = keywords.longest_affirmed(text_words) if keywords else 0
                if length > best:
                    best, found = length, button
            if found is not None:
                return found
        return None

    def _keywords_of(self, data: str) -> Keywords | None:
        choice = self._flow_choice(data)
        if choice is not None:
            return choice.keywords
        found = self.listening.button_words(data)
        return found.keywords if found else None

    def _flow_choice(self, data: str) -> ChoiceSpec | None:
        if not data.startswith(CHOICE_PREFIX):
            return None
        ref, _, choice_id = data.removeprefix(CHOICE_PREFIX).rpartition(".")
        node = self.library.nodes.get(ref)
        return next((c for c in node.choices if c.id == choice_id), None) if node else None

    def _button_id(self, button: Button) -> str:
        choice = self._flow_choice(button.data)
        if choice is not None:
            return choice.id
        found = self.listening.button_words(button.data)
        return found.id if found else button.data.split(":")[-1]

    def _topic(self, words: list[str]) -> ChoiceSpec | None:
        return next((t for t in self.topics if t.keywords.match(words)), None)

    def _topic_by_id(self, topic_id: str) -> ChoiceSpec | None:
        return next((t for t in self.topics if t.id == topic_id), None)

    def _topic_of(self, data: str) -> ChoiceSpec | None:
        choice = self._flow_choice(data)
        return self._topic_by_id(choice.id) if choice else None

    def wants_vector(self, text: str) -> bool:
        """Whether typed text should be embedded before its turn: there is a pass by meaning,
        and the text is short enough to be a choice, an intent or a feeling to reflect (a
        longer one is an answer to hear; its keywords still count)."""
        return self._prototypes is not None and 0 < len(text.strip()) <= EMBED_CHARS

    def _vector(self, turn: Turn, text: str) -> Vector | None:
        """The message's embedding, computed before the turn's transaction opened
        (Conversation.understand); never computed here, inside the transaction."""
        meaning = turn.meaning
        if self._prototypes is None or meaning is None or meaning.text != text:
            return None  # a text the turn did not bring: never embed it here
        return meaning.vector

    def _read(
        self,
        vector: Vector,
        view: list[Button],
        *,
        topics: bool,
        extra: Sequence[str] = (),
        relaxed: bool = False,
    ) -> Reading:
        if self._prototypes is None:
            return Reading()
        scores = self._prototypes.scores(vector)
        allowed = [*extra, *(f"intent:{i.name}" for i in self.listening.intents)]
        if topics:
            allowed += [f"topic:{t.id}" for t in self.topics]
        allowed += [label for b in view if (label := self._label_of(b)) is not None]
        reading = read(scores, allowed, self.thresholds)
        if relaxed and reading.label is None and not reading.likely:
            loose = replace(self.thresholds, clarify=self.thresholds.relaxed_clarify)
            return read(scores, allowed, loose)
        return reading

    def _label_of(self, button: Button) -> str | None:
        if self._flow_choice(button.data) is not None:
            return f"choice:{button.data}"
        found = self.listening.button_words(button.data)
        return f"button:{found.id}" if found and found.examples else None

    def _button_of(self, label: str, view: list[Button]) -> Button | None:
        return next((b for b in view if self._label_of(b) == label), None)

    def _offer(self, turn: Turn, label: str, view: list[Button]) -> Button | None:
        """A button for a label: the one in view, an intent's, a topic's or a flow choice's."""
        if (button := self._button_of(label, view)) is not None:
            return button
        kind, _, name = label.partition(":")
        if kind == "intent":
            intent = self.listening.intent(name)
            if intent is not None and intent.label is not None:
                return Button(intent.label[turn.language], f"{NAMESPACE}:{name}")
            return None
        if kind == "topic" and (topic := self._topic_by_id(name)) is not None:
            return Button(topic.label[turn.language], f"{CHOICE_PREFIX}{TOPICS}.{topic.id}")
        if kind == "choice" and (choice := self._flow_choice(name)) is not None:
            return Button(choice.label[turn.language], name)
        return None

    def _button_for(self, turn: Turn, ref: str) -> Button | None:
        if self.listening.intent(ref) is not None:
            return self._offer(turn, f"intent:{ref}", [])
        return self._offer(turn, f"choice:{CHOICE_PREFIX}{ref}", [])

    def _reflection(
        self, turn: Turn, words: list[str], vector: Vector | None, *, plain: bool
    ) -> str:
        says: Sequence[Text] = ()
        feeling = next((f for f in self.listening.feelings if f.keywords.match(words)), None)
        if feeling is None and vector is not None and self._prototypes is not None:
            allowed = [f"feeling:{f.name}" for f in self.listening.feelings]
            found = read(self._prototypes.scores(vector), allowed, self.thresholds).label
            name = found.partition(":")[2] if found else ""
            feeling = next((f for f in self.listening.feelings if f.name == name), None)
        if feeling is not None:
            says = feeling.say
        elif (topic := self._topic(words)) is not None and plain:
            says = self.listening.themes.get(topic.id, ())
        if not says and plain:
            says = self.listening.plain
        if not says:
            return ""
        return says[len(words) % len(says)][turn.language]

    def _rows(
        self,
        turn: Turn,
        extra: Sequence[Button],
        view: Sequence[Button],
        *,
        view_first: bool = False,
    ) -> tuple[tuple[Choice, ...], ...]:
        """The buttons under an answer: `extra` ones (an intent's, the likely ones of a
        question) and the buttons in view, which are never dropped to make room."""
        kept = _unique(view)[:MAX_BUTTONS]
        shown = {b.data for b in kept}
        room = MAX_BUTTONS - len(kept)
        added = [b for b in _unique(extra) if b.data not in shown][:room]
        ordered = [*kept, *added] if view_first else [*added, *kept]
        return rows(*(Choice(b.label, b.data) for b in ordered))


def _unique(buttons: Sequence[Button]) -> list[Button]:
    seen: set[str] = set()
    found: list[Button] = []
    for button in buttons:
        if button.data not in seen:
            seen.add(button.data)
            found.append(button)
    return found


def _weekday_button(view: list[Button], words: list[str], today: int) -> Button | None:
    """A day of the week typed at the check-in's day question ("på fredag") picks the
    nearest offer: tomorrow, in 3 days or in a week."""
    whens = {b.data.split(":")[2]: b for b in view if b.data.startswith("ci:w:")}
    day = next((_WEEKDAYS[w] for w in words if w in _WEEKDAYS), None) if whens else None
    if day is None:
        return None
    ahead = (day - today) % 7 or 7
    code = "t" if ahead == 1 else "3" if ahead <= 4 else "7"
    return whens.get(code)


_WEEKDAY_NAMES = (
    ("mandag", "man", "monday", "mon"),
    ("tirsdag", "tirs", "tuesday", "tue", "tues"),
    ("onsdag", "ons", "wednesday", "wed"),
    ("torsdag", "tors", "thursday", "thu", "thurs"),
    ("fredag", "fre", "friday", "fri"),
    ("lordag", "lor", "saturday", "sat", "weekend", "weekenden"),
    ("sondag", "son", "sunday", "sun"),
)
_WEEKDAYS = {fold_word(name): day for day, names in enumerate(_WEEKDAY_NAMES) for name in names}


def _clock_button(view: list[Button], text: str) -> Button | None:
    """A time of day typed at the check-in's time question ("kl. 19", "7pm", "08:30")
    picks the slot it falls in."""
    slots = {b.data.rsplit(":", 1)[-1]: b for b in view if b.data.startswith("ci:s:")}
    found = _CLOCK.search(text.casefold()) if slots else None
    if found is None:
        return None
    hour = int(found.group("hour") or found.group("hour2") or found.group("hour3"))
    half = found.group("half")
    if (half in ("pm", "p.m.") and hour < 12) or (half is None and 1 <= hour <= 6):
        hour += 12  # nobody plans a chat for four at night: "kl. 4" is 16
    if hour > 23:
        return None
    slot = "morning" if 4 <= hour < 12 else "afternoon" if 12 <= hour < 17 else "evening"
    return slots.get(slot)


_CLOCK = re.compile(
    r"(?:\b(?:kl|klokken|at|around|omkring|ved)\.?\s*(?P<hour>\d{1,2})(?:[:.]\d{2})?"
    r"|\b(?P<hour2>\d{1,2})(?:[:.]\d{2})?\s*(?P<half>am|pm|a\.m\.|p\.m\.)"
    r"|\b(?P<hour3>\d{1,2})[:.]\d{2}\b)"
)


def _asks(text: str, words: list[str]) -> bool:
    """A question: it ends with "?" or begins as questions do."""
    return text.rstrip().endswith("?") or QUESTION.match(words[:2])


def _first(
    intents: Sequence[GlobalIntent], words: list[str], text: str = ""
) -> GlobalIntent | None:
    """The intent whose longest keyword found is longest (the first on a tie): "can i talk
    to an actual human" is a wish for a human, "are you a real person" a question. An
    intent for short messages also counts in one short sentence of a longer message
    ("hvad er det her for noget? hvad kan man bruge dig til")."""
    best, found = 0, None
    sentences = [words]
    if text and len(parts := [p for p in _SENTENCE.split(text) if p.strip()]) > 1:
        sentences += [words_of(part) for part in parts]
    for intent in intents:
        for sentence in sentences:
            if intent.fits(sentence) and (length := intent.keywords.longest(sentence)) > best:
                best, found = length, intent
    return found


_SENTENCE = re.compile(r"[?!.;\n]+")


def _named(view: list[Button], text: str, words: list[str]) -> Button | None:
    """A button typed by its number ("2") or its label (without emoji or case)."""
    stripped = text.strip().rstrip(".)")
    if stripped.isdigit() and 1 <= int(stripped) <= len(view):
        return view[int(stripped) - 1]
    folded = " ".join(words)
    if not folded:
        return None
    return next((b for b in view if fold(b.label) == folded), None)
