"""Driving check-ins end to end: plan them with the buttons, move the service's clock, and
look at the rows. The clock only ever moves; nothing waits in real time for a due time."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy import insert, select

from scheduler.runner import CheckinRunner
from storage import checkins
from storage.crypto import Keyring
from storage.models import Checkin, Participant
from tests.botapi import BotApiDouble, FakeUser, SentMessage
from tests.e2e.conftest import Snakkes

WHEN_CODES = {"tomorrow": "t", "3days": "3", "week": "7", "weekly": "wk"}
NEUTRAL_FIRST_LINES = ("Hej 👋 – har du lyst til at snakke lidt?", "Hi 👋 – fancy a little chat?")


def runner(snakkes: Snakkes) -> CheckinRunner:
    found = snakkes.service.checkins
    assert found is not None
    return found


async def move_clock(snakkes: Snakkes, to: datetime) -> None:
    """Once the runner has settled what it is doing, set the service's clock to `to` and
    wake the runner."""
    await settled(snakkes)
    snakkes.clock.advance(seconds=(to - snakkes.clock()).total_seconds())
    runner(snakkes).wake()


async def settled(snakkes: Snakkes) -> None:
    await asyncio.wait_for(runner(snakkes).idle(), 10)


def local_noon(snakkes: Snakkes, days: int = 0) -> datetime:
    """Noon in the deployment's zone, `days` from the clock's today: a time outside the
    default quiet hours whatever the real time of day the tests run at."""
    zone = snakkes.settings.service.zone
    today = snakkes.clock().astimezone(zone).date() + timedelta(days=days)
    return datetime(today.year, today.month, today.day, 12, tzinfo=zone)


async def press_and_read(
    double: BotApiDouble, user: FakeUser, message: SentMessage, data: str, count: int = 1
) -> list[SentMessage]:
    double.press(user, message, data)
    return await double.wait_for_messages(user, count)


async def plan(
    double: BotApiDouble,
    user: FakeUser,
    when: str = "tomorrow",
    slot: str = "evening",
    weekday: int | None = None,
) -> SentMessage:
    """Plan a check-in the way a person does: /checkins, "plan one", the day, the time."""
    when = WHEN_CODES[when]
    double.send_command(user, "/checkins")
    [listing] = await double.wait_for_messages(user)
    data = next(d for row in listing.buttons for _, d in row if d == "ci:new")
    [offer] = await press_and_read(double, user, listing, data)
    [picker] = await press_and_read(double, user, offer, f"ci:w:{when}")
    code = when
    if weekday is not None:
        [picker] = await press_and_read(double, user, picker, f"ci:d:{weekday}")
        code = f"w{weekday}"
    elif when == "wk":
        raise ValueError("a weekly check-in needs a weekday")
    [confirmation] = await press_and_read(double, user, picker, f"ci:s:{code}:{slot}")
    return confirmation


async def rows(snakkes: Snakkes) -> list[Checkin]:
    """Every check-in row, once the runner has settled what it was doing."""
    await settled(snakkes)
    async with snakkes.service.database.session() as session:
        return list((await session.scalars(select(Checkin).order_by(Checkin.id))).all())


async def upcoming_due(snakkes: Snakkes) -> list[datetime]:
    return [row.due_at for row in await rows(snakkes) if row.status == checkins.PLANNED]


async def seed(
    snakkes: Snakkes, users: list[FakeUser], due_at: datetime, *, per_user: int = 1,
    kind: str = checkins.CHECKIN,
) -> None:
    """Participants for `users` with check-ins due at `due_at`, written straight to the
    database (in bulk, as thousands of people would have planned them over time)."""
    keyring = Keyring(snakkes.settings.secret_key)
    people = []
    for user in users:
        pseudonym = keyring.pseudonym("telegram", str(user.id))
        people.append(
            {
                "pseudonym": pseudonym,
                "channel": "telegram",
                "sealed_address": keyring.seal(str(user.chat_id), pseudonym),
                "language": "da",
            }
        )
    async with snakkes.service.database.session() as session, session.begin():
        ids = await session.scalars(
            insert(Participant).returning(Participant.id, sort_by_parameter_order=True), people
        )
        planned = [
            {
                "participant_id": person,
                "kind": kind,
                "slot": "evening" if kind == checkins.CHECKIN else "",
                "due_at": due_at,
                "status": checkins.PLANNED,
                "attempts": 0,
            }
            for person in ids.all()
            for _ in range(per_user)
        ]
        await session.execute(insert(Checkin), planned)
