"""Two volunteers take one waiting person at the same moment: exactly one gets them, on
SQLite and on PostgreSQL; end to end through two instances of the service, and at the
storage level."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import aiohttp
from sqlalchemy import select

from bot.service import webhook_secret
from storage import handover as store
from storage import participants
from storage.crypto import Keyring
from storage.db import Database
from storage.models import Handover, Volunteer
from tests.botapi import BotApiDouble
from tests.conftest import TEST_SECRET
from tests.e2e.conftest import Snakkes, StartSnakkes
from tests.volunteers.helpers import ask_for_human, data_of, handovers, onboard
from volunteers import queue
from volunteers.organisations import Organisation


async def post_update(instance: Snakkes, update: dict[str, Any]) -> int:
    """What Telegram does in webhook mode: POST the update to this instance."""
    headers = {"X-Telegram-Bot-Api-Secret-Token": webhook_secret(instance.settings)}
    async with (
        aiohttp.ClientSession() as client,
        client.post(f"{instance.url}/telegram/webhook", json=update, headers=headers) as reply,
    ):
        return reply.status


async def test_two_volunteers_pressing_take_at_once_on_two_instances_one_wins(
    double: BotApiDouble, start_snakkes: StartSnakkes, database_url: str
) -> None:
    first = await start_snakkes(database_url=database_url)
    maria = await onboard(double, first, "Maria")
    jonas = await onboard(double, first, "Jonas")
    ada = double.user("Ada", language_code="da")
    await ask_for_human(double, ada)
    [notice_maria] = await double.wait_for_messages(maria)
    [notice_jonas] = await double.wait_for_messages(jonas)
    await first.stop()

    # Two instances in webhook mode on the one database; each gets one of the presses.
    options = {"database_url": database_url, "telegram_mode": "webhook"}
    one, two = await start_snakkes(**options), await start_snakkes(**options)
    [resumed] = await double.wait_for_messages(ada)  # told once, by one of the two
    assert "intet gik tabt" in resumed.text
    double.press(maria, notice_maria, data_of(notice_maria, "vt:take:"))
    double.press(jonas, notice_jonas, data_of(notice_jonas, "vt:take:"))
    press_maria, press_jonas = double.pending_updates[-2:]
    statuses = await asyncio.gather(post_update(one, press_maria), post_update(two, press_jonas))
    assert statuses == [200, 200]

    [answer_maria] = await double.wait_for_messages(maria)
    [answer_jonas] = await double.wait_for_messages(jonas)
    answers = sorted([answer_maria.text, answer_jonas.text])
    assert answers[0].startswith("Den samtale er allerede taget")
    assert answers[1].startswith("Du snakker nu med Ung #")
    [connected] = await double.wait_for_messages(ada)
    assert "er her nu" in connected.text
    [row] = await handovers(one)
    assert row.status == store.ACTIVE
    assert len(double.messages_to(ada)) == len(set(m.text for m in double.messages_to(ada)))


async def test_concurrent_claims_of_one_waiting_person_let_exactly_one_through(
    database: Database,
) -> None:
    keyring, now = Keyring(TEST_SECRET.encode()), datetime.now(UTC)
    org = Organisation("example", "Eksempel", always_open=True, capacity=1)
    policy = queue.Policy(organisations=(org,))
    async with database.session() as session, session.begin():
        people = []
        for user in ("young", "v1", "v2"):
            arrival = await participants.arrive(
                session, keyring, channel="telegram", channel_user_id=user, address=user,
                language="da",
            )
            assert arrival is not None
            person = arrival.participant
            people.append(person)
        session.add(Handover(
            participant_id=people[0].id, status=store.WAITING, young_number=1234,
            language="da", age_band="unsaid", channel="telegram", crisis=False,
            writing_note=False, flagged=False, requested_at=now, waiting_since=now,
        ))
        for person, alias in zip(people[1:], ("A", "B"), strict=True):
            session.add(Volunteer(
                participant_id=person.id, org_slug="example", role="volunteer", alias=alias,
                active=True, available=True, awaiting="",
            ))
    async with database.session() as session:
        row_id = (await session.scalars(select(Handover.id))).one()
        volunteers = list((await session.scalars(select(Volunteer))).all())

    async def take(volunteer: Volunteer, by_id: bool) -> queue.Outcome:
        async with database.session() as session, session.begin():
            mine = await session.get(Volunteer, volunteer.id)
            assert mine is not None
            if by_id:
                return (await queue.take(session, policy, mine, row_id, now)).outcome
            return (await queue.take_next(session, policy, mine, now)).outcome

    for by_id in (True, False):
        async with database.session() as session, session.begin():
            row = await session.get(Handover, row_id)
            assert row is not None
            row.status, row.volunteer_id = store.WAITING, None
        outcomes = await asyncio.gather(*(take(v, by_id) for v in volunteers))
        assert sorted(outcomes) == sorted(
            [queue.Outcome.TAKEN, queue.Outcome.GONE if by_id else queue.Outcome.NOBODY]
        )
        async with database.session() as session:
            row = await session.get(Handover, row_id)
            assert row is not None
            assert row.status == store.ACTIVE
            assert row.volunteer_id in {v.id for v in volunteers}
