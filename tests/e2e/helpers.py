"""Small steps many end-to-end tests share."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from storage.db import Database
from storage.models import OutboxMessage
from tests.botapi import BotApiDouble, FakeUser, SentMessage


async def reply_to(double: BotApiDouble, person: FakeUser, text: str) -> SentMessage:
    """Send text and return the last message of the bot's answer (which may be several)."""
    double.send_text(person, text)
    return (await double.wait_for_messages(person.chat_id))[-1]


async def press(
    double: BotApiDouble, person: FakeUser, message: SentMessage, label: str, count: int = 1
) -> list[SentMessage]:
    double.press(person, message, message.button(label))
    return await double.wait_for_messages(person.chat_id, count=count)


async def welcome(double: BotApiDouble, person: FakeUser) -> SentMessage:
    """/start and consent; returns the age question."""
    double.send_command(person, "/start")
    [greeting] = await double.wait_for_messages(person.chat_id)
    consent = "Okay"
    [age_question] = await press(double, person, greeting, consent)
    return age_question


async def to_menu(double: BotApiDouble, person: FakeUser) -> SentMessage:
    """Through the welcome, skipping the age band and the measure; returns the menu."""
    age_question = await welcome(double, person)
    unsaid = "helst ikke" if person.language_code == "da" else "rather not"
    [measure_offer] = await press(double, person, age_question, unsaid)
    not_now = "Ikke nu" if person.language_code == "da" else "Not now"
    [menu] = await press(double, person, measure_offer, not_now)
    return menu


async def outbox_settled(database: Database, timeout: float = 20.0) -> None:  # noqa: ASYNC109
    """Wait until nothing waits in the outbox: a message the double has is deleted from it
    a moment later (the rows are transient by design)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        async with database.session() as session:
            waiting = await session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.failed_reason.is_(None))
            )
        if not waiting:
            return
        assert asyncio.get_running_loop().time() < deadline, f"{waiting} still in the outbox"
        await asyncio.sleep(0.05)
