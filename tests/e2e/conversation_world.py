"""A world for measuring what typed text is understood as: the service built as `snakkes run`
builds it (every feature registered, the flows and the understanding loaded), a real
database, and people brought to a place in the conversation by tapping its buttons.

Each message goes through the same steps as the channel-agnostic core (arrive, then the
conversation's turn, in one transaction); what the turn heard ("choice:often",
"intent:bot", "reflect", "clarify", "fallback", …) is read from the turn."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from bot.config import Settings
from bot.service import Service
from dialogues.conversation import Turn
from dialogues.messages import Inbound, Kind
from dialogues.understanding import Meaning
from storage import migrate, participants
from storage.crypto import Keyring
from volunteers import invites

# How a person gets to each place: commands ("/start"), buttons ("f:…", "ci:…", "vq:…").
PATHS: dict[str, tuple[str, ...]] = {
    "welcome": ("/start",),
    "age": ("/start", "f:welcome.start.ok"),
    "measure_offer": ("/start", "f:welcome.start.ok", "f:welcome.consented.unsaid"),
}
PATHS["menu"] = (*PATHS["measure_offer"], "f:welcome.measure_offer.decline")
PATHS["topics"] = (*PATHS["menu"], "f:menu.start.talk")
PATHS["measure"] = (*PATHS["menu"], "f:menu.start.measure")
PATHS["measure_last"] = (
    *PATHS["measure"],
    "f:measure.companionship.often",
    "f:measure.left_out.often",
    "f:measure.isolated.often",
)
PATHS["checkin_when"] = (*PATHS["menu"], "f:menu.start.checkin")
PATHS["checkin_slot"] = (*PATHS["checkin_when"], "ci:w:t")
PATHS["queue"] = (*PATHS["menu"], "f:menu.start.human", "vq:join")


def path_to(at: str, topic: str | None) -> tuple[str, ...]:
    if at == "topic_question":
        return (*PATHS["topics"], f"f:topics.start.{topic}")
    return PATHS[at]


@dataclass(frozen=True)
class Case:
    at: str
    lang: str
    text: str
    expect: tuple[str, ...]
    topic: str | None = None

    @classmethod
    def load_all(cls, path: Path) -> list[Case]:
        entries: list[dict[str, Any]] = yaml.safe_load(path.read_text(encoding="utf-8"))
        return [
            cls(
                at=str(e["at"]),
                lang=str(e["lang"]),
                text=str(e["text"]),
                expect=tuple(e["expect"]) if isinstance(e["expect"], list) else (e["expect"],),
                topic=e.get("topic"),
            )
            for e in entries
        ]


@dataclass
class Result:
    case: Case
    heard: str
    replies: list[str] = field(default_factory=list)
    same: frozenset[str] = frozenset()  # other outcomes that end on the same screen

    @property
    def reached(self) -> bool:
        return self.heard in self.case.expect or not self.same.isdisjoint(self.case.expect)


class World:
    def __init__(self, settings: Settings, *, with_net: bool = False) -> None:
        self.service = Service.build(settings)
        self.with_net = with_net
        self.keyring = Keyring(settings.secret_key)
        self._ids = itertools.count(1)

    @property
    def conversation(self) -> Any:
        return self.service.core.conversation

    async def open(self) -> None:
        await migrate.upgrade(self.service.database)
        await self._volunteer()

    async def close(self) -> None:
        await self.service.database.close()

    async def send(self, user: str, language: str, what: str) -> Turn:
        inbound = inbound_of(what)
        meaning = await self.understand(user, inbound)
        return await self.turn(user, language, inbound, meaning)

    async def understand(self, user: str, inbound: Inbound) -> Meaning | None:
        """As the core does: the safety net and the embedding, before the transaction."""
        meaning = await self.conversation.understand(
            self.keyring.pseudonym("telegram", user), inbound
        )
        if meaning is not None and not self.with_net:
            # What is measured here is the understanding, not the safety net (measured on its
            # own sets, tests/unit/test_safety_figures.py): the lexicon alone judges.
            meaning.verdict = self.conversation.safety.plain(inbound.text).verdict
        return meaning

    async def turn(
        self, user: str, language: str, inbound: Inbound, meaning: Meaning | None
    ) -> Turn:
        """The turn itself, in one transaction, as the core runs it."""
        async with self.service.database.session() as session, session.begin():
            arrival = await participants.arrive(
                session, self.keyring, channel="telegram", channel_user_id=user,
                address=user, language=language,
            )
            assert arrival is not None
            turn: Turn = await self.conversation.handle(
                session, arrival, inbound, channel="telegram", meaning=meaning
            )
        return turn

    async def try_case(self, case: Case) -> Result:
        user = f"person-{next(self._ids)}"
        place = None
        for step in path_to(case.at, case.topic):
            place = await self.send(user, case.lang, step)
        here = f"{place.state.flow}.{place.state.node}" if place else ""
        turn = await self.send(user, case.lang, case.text)
        if case.at == "queue":
            await self.send(user, case.lang, "vq:leave")  # room in the queue for the next
        heard = turn.heard or "nothing"
        landed = f"{turn.state.flow}.{turn.state.node}"
        return Result(case, heard, [r.text for r in turn.replies], self._same(heard, here, landed))

    def _same(self, heard: str, here: str, landed: str) -> frozenset[str]:
        """What else the turn counts as because it ends on the very same screen: the
        menu's »Fællesskaber« button and the wish for a club (intent:communities) both open
        communities.start."""
        if not heard.startswith(("choice:", "intent:")):
            return frozenset()
        also = {
            f"intent:{intent.reported}"
            for intent in self.conversation.listener.listening.intents
            if intent.goto == landed
        }
        node = self.conversation.listener.library.nodes.get(here)
        flow = here.partition(".")[0]
        for choice in node.choices if node else ():
            target = choice.goto if "." in choice.goto else f"{flow}.{choice.goto}"
            if target == landed:
                also.add(f"choice:{choice.id}")
        return frozenset(also)

    async def _volunteer(self) -> None:
        """One registered volunteer of the example organisation, so the queue is open."""
        async with self.service.database.session() as session, session.begin():
            code = invites.create(
                session, "example", "volunteer", now=self.conversation.clock(),
                valid_for=timedelta(days=1),
            )
        for step in (f"/volunteer {code}", "vo:accept", "Maja"):
            await self.send("volunteer-1", "da", step)


def inbound_of(what: str) -> Inbound:
    if what.startswith("/"):
        return Inbound.from_text(what)
    if ":" in what and what.split(":", 1)[0] in {"f", "ci", "vq", "li", "menu", "vo"}:
        return Inbound(Kind.CHOICE, data=what)
    return Inbound.from_text(what)


def table(results: Sequence[Result]) -> str:
    lines = [f"{'place':<16}{'lang':<5}{'expected':<28}{'got':<26}text"]
    for r in results:
        mark = " " if r.reached else "✗"
        expected = "|".join(r.case.expect)
        lines.append(
            f"{mark}{r.case.at:<15}{r.case.lang:<5}{expected[:27]:<28}{r.heard[:25]:<26}"
            f"{r.case.text[:60]}"
        )
    reached = sum(r.reached for r in results)
    share = 100 * reached / max(len(results), 1)
    lines.append(f"{reached}/{len(results)} reached ({share:.1f} %)")
    return "\n".join(lines)
