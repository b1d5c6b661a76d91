"""A realistic fortnight of snakkes, played through the real domain code: the service's
core handles every message (as the channels hand them over), the check-in runner and the
handover runner do their rounds, and a clock the test sets says when. No row is written
by hand; the statistics see only what the service recorded."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import count

from bot.config import Settings
from bot.core import Envelope
from bot.delivery import SENT, Attempt, first_tries
from bot.service import Service
from dialogues.messages import Inbound, Kind, Outbound
from storage import migrate
from volunteers import invites

# Monday 2 March 2026, 09:00 in Copenhagen (CET): week 10 and week 11 follow.
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def at(self, day: int, hour: int, minute: int = 0) -> None:
        """Days after Monday 2 March, at a UTC hour (CET is UTC+1 in March until the 29th)."""
        moment = START.replace(hour=hour, minute=minute) + timedelta(days=day)
        assert moment >= self.now, "the clock only moves forward"
        self.now = moment


@dataclass
class Recorder:
    """The Telegram side of the outbox: what was delivered to which address."""

    sent: dict[str, list[Outbound]] = field(default_factory=dict)

    async def attempt(self, address: str, message: Outbound) -> Attempt:
        self.sent.setdefault(address, []).append(message)
        return SENT


@dataclass(frozen=True)
class Person:
    channel: str
    key: str
    language: str = "da"


class World:
    def __init__(self, settings: Settings) -> None:
        self.clock = Clock()
        self.service = Service.build(settings, clock=self.clock)
        self.telegram = Recorder()
        assert self.service.handovers is not None
        self.service.postman.register("telegram", self.telegram)
        self._updates = count(1)
        self.last: list[Outbound] = []

    async def open(self) -> None:
        await migrate.upgrade(self.service.database)

    async def close(self) -> None:
        await self.service.database.close()

    # -- talking -------------------------------------------------------------------------
    async def send(self, person: Person, inbound: Inbound) -> list[Outbound]:
        handled = await self.service.core.handle(
            Envelope(
                channel=person.channel,
                user_key=person.key,
                address=person.key,
                inbound=inbound,
                update_key=str(next(self._updates)),
                language_hint=person.language,
            )
        )
        assert not handled.duplicate, "handled as a duplicate"
        await first_tries([*handled.parcels, *handled.posts], 5.0)
        self.last = handled.replies
        return handled.replies

    async def text(self, person: Person, text: str) -> list[Outbound]:
        return await self.send(person, Inbound.from_text(text))

    async def command(self, person: Person, command: str) -> list[Outbound]:
        return await self.send(person, Inbound.from_text(f"/{command}"))

    async def press(self, person: Person, prefix: str, replies: list[Outbound] | None = None
                    ) -> list[Outbound]:
        """Press the button whose data starts with `prefix` in the last replies."""
        data = button(replies if replies is not None else self.last, prefix)
        return await self.send(person, Inbound(Kind.CHOICE, data=data))

    # -- what people do ------------------------------------------------------------------
    async def intake(self, person: Person, age: str, measure: tuple[int, int, int] | None
                     ) -> None:
        """/start, consent, an age band, and the measure or not."""
        await self.command(person, "start")
        await self.press(person, "f:welcome.start.ok")
        await self.press(person, f"f:welcome.consented.{age}")
        if measure is None:
            await self.press(person, "f:welcome.measure_offer.decline")
            return
        await self.press(person, "f:welcome.measure_offer.accept")
        await self.answer_measure(person, measure)

    async def answer_measure(self, person: Person, measure: tuple[int, int, int]) -> None:
        names = {1: "hardly", 2: "sometimes", 3: "often"}
        for node, value in zip(("companionship", "left_out", "isolated"), measure, strict=True):
            await self.press(person, f"f:measure.{node}.{names[value]}")
        await self.press(person, "f:measure.lonely.sometimes")

    async def measure_again(self, person: Person, measure: tuple[int, int, int]) -> None:
        await self.command(person, "menu")
        await self.press(person, "f:menu.start.measure")
        await self.answer_measure(person, measure)

    async def topic(self, person: Person, topic: str) -> None:
        await self.command(person, "menu")
        await self.press(person, "f:menu.start.talk")
        await self.press(person, f"f:topics.start.{topic}")

    async def plan_checkin(self, person: Person) -> None:
        """Tomorrow evening, as a person plans it with the buttons."""
        await self.command(person, "checkins")
        await self.press(person, "ci:new")
        await self.press(person, "ci:w:t")
        await self.press(person, "ci:s:t:evening")

    async def run_checkins(self) -> None:
        assert self.service.checkins is not None
        await self.service.checkins.run_due()

    async def run_handovers(self) -> None:
        assert self.service.handovers is not None
        await self.service.handovers.run_once()

    async def volunteer(self, alias: str, org: str) -> Person:
        person = Person("telegram", f"volunteer-{alias}")
        async with self.service.database.session() as session, session.begin():
            code = invites.create(session, org, "volunteer", now=self.clock(),
                                  valid_for=timedelta(days=7))
        await self.command(person, f"volunteer {code}")
        await self.press(person, "vo:accept")
        await self.text(person, alias)
        await self.command(person, "available")
        return person

    async def ask_for_human(self, person: Person) -> None:
        await self.command(person, "menu")
        await self.press(person, "f:menu.start.human")
        await self.press(person, "vq:join")

    async def volunteer_conversation(
        self, young: Person, volunteer: Person, *, wait: int, length: int, rating: int
    ) -> None:
        """Ask, wait `wait` minutes for the volunteer, talk `length` minutes, rate it."""
        await self.ask_for_human(young)
        self.clock.now += timedelta(minutes=wait)
        await self.command(volunteer, "next")
        await self.text(young, "hej")
        self.clock.now += timedelta(minutes=length)
        await self.command(volunteer, "end")
        feedback = self.telegram.sent[young.key]
        await self.send(young, Inbound(Kind.CHOICE, data=_rating(feedback, rating)))


def button(replies: list[Outbound], prefix: str) -> str:
    found = [c.data for m in replies for row in m.choices for c in row
             if c.data.startswith(prefix)]
    assert found, f"no button {prefix!r} in {[m.text[:40] for m in replies]}"
    return found[0]


def _rating(messages: list[Outbound], rating: int) -> str:
    found = [c.data for m in messages for row in m.choices for c in row
             if c.data.startswith("vf:") and c.data.endswith(f":r:{rating}")]
    assert found, "no feedback buttons"
    return found[-1]


def two_organisations(settings: Settings) -> Settings:
    example = settings.organisations[0]
    other = dataclasses.replace(example, slug="other", name="Anden forening")
    return dataclasses.replace(settings, organisations=(example, other))
