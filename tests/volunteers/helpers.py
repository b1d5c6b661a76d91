"""Playing volunteers and young people through the handover, end to end."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot import cli
from storage.models import Handover, StatEvent
from tests.botapi import BotApiDouble, FakeUser, SentMessage
from tests.e2e.conftest import Snakkes
from tests.e2e.helpers import to_menu
from volunteers.runner import HandoverRunner


def data_of(message: SentMessage, prefix: str) -> str:
    """The button data starting with `prefix` (e.g. "vt:take:")."""
    found = [d for row in message.buttons for _, d in row if d and d.startswith(prefix)]
    assert found, f"no button {prefix!r} in {message.text!r}: {message.buttons!r}"
    return found[0]


async def tap(
    double: BotApiDouble, user: FakeUser, message: SentMessage, prefix: str, count: int = 1
) -> list[SentMessage]:
    double.press(user, message, data_of(message, prefix))
    return await double.wait_for_messages(user, count)


async def say(
    double: BotApiDouble, user: FakeUser, text: str, count: int = 1
) -> list[SentMessage]:
    double.send_text(user, text)
    return await double.wait_for_messages(user, count)


async def invite_code(snakkes: Snakkes, org: str = "example", role: str = "volunteer") -> str:
    """What `snakkes volunteers invite` prints as its last line, from the CLI's function."""
    return await cli.create_invite(snakkes.service.database, org, role, timedelta(days=7))


async def onboard(
    double: BotApiDouble,
    snakkes: Snakkes,
    alias: str,
    *,
    language: str = "da",
    available: bool = True,
    role: str = "volunteer",
    org: str = "example",
) -> FakeUser:
    """A volunteer through /volunteer CODE, the code of conduct and an alias; /available."""
    user = double.user(
        f"Real{alias}", username=f"{alias.lower()}_real", last_name="Secretsen",
        language_code=language,
    )
    code = await invite_code(snakkes, org=org, role=role)
    double.send_command(user, f"/volunteer {code}")
    [conduct] = await double.wait_for_messages(user)
    [prompt] = await tap(double, user, conduct, "vo:accept")
    assert "navn" in prompt.text or "name" in prompt.text
    [registered] = await say(double, user, alias)
    assert alias in registered.text
    if available:
        double.send_command(user, "/available")
        await double.wait_for_messages(user)
    return user


async def ask_for_human(
    double: BotApiDouble, young: FakeUser, note: str | None = None
) -> SentMessage:
    """From the menu to the queue, with an approved note or without; returns the message
    that tells the place in the queue."""
    menu = await to_menu(double, young)
    [preview] = await tap(double, young, menu, "f:menu.start.human")
    if note is None:
        [queued] = await tap(double, young, preview, "vq:join")
        return queued
    [_prompt] = await tap(double, young, preview, "vq:note")
    [readback] = await say(double, young, note)
    assert note in readback.text
    [queued] = await tap(double, young, readback, "vq:join")
    return queued


def runner(snakkes: Snakkes) -> HandoverRunner:
    found = snakkes.service.handovers
    assert found is not None
    return found


async def handovers(snakkes: Snakkes) -> list[Handover]:
    async with snakkes.service.database.session() as session:
        return list((await session.scalars(select(Handover).order_by(Handover.id))).all())


async def stat_events(snakkes: Snakkes, prefix: str = "") -> list[StatEvent]:
    async with snakkes.service.database.session() as session:
        rows = await session.scalars(select(StatEvent).order_by(StatEvent.id))
        return [row for row in rows.all() if row.kind.startswith(prefix)]
