"""The claim protocol on the database itself (SQLite and PostgreSQL): due rows are claimed
once, a stale claim is taken over, a send begun is never begun again, and a crash between
claim and send is recovered by the next round without a second send."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select

from dialogues.content import Texts
from dialogues.messages import Delivery, Outbound
from scheduler.dispatch import Dispatcher
from scheduler.planning import Rules
from storage import checkins
from storage.crypto import Keyring
from storage.db import Database
from storage.models import Checkin, Participant
from storage.types import utcnow
from tests.clock import SteppingClock
from tests.conftest import TEST_SECRET

STALE = timedelta(minutes=5)


@dataclass
class RecordingOutbox:
    sent: list[tuple[int, Outbound]] = field(default_factory=list)

    async def send(self, participant_id: int, message: Outbound) -> Delivery:
        self.sent.append((participant_id, message))
        return Delivery.SENT


async def person(database: Database, number: int = 1) -> int:
    keyring = Keyring(TEST_SECRET.encode())
    pseudonym = keyring.pseudonym("telegram", str(number))
    async with database.session() as session, session.begin():
        participant = Participant(
            pseudonym=pseudonym,
            channel="telegram",
            language="da",
            sealed_address=keyring.seal(str(number), pseudonym),
        )
        session.add(participant)
        await session.flush()
        return participant.id


async def plan(database: Database, participant_id: int, count: int, minutes_ago: int) -> None:
    async with database.session() as session, session.begin():
        for _ in range(count):
            checkins.add(session, participant_id, utcnow() - timedelta(minutes=minutes_ago))


async def claim(database: Database, token: str, limit: int = 100) -> list[int]:
    now = utcnow()
    async with database.session() as session, session.begin():
        claimed = await checkins.claim_due(
            session, now=now, stale_before=now - STALE, token=token, limit=limit
        )
    return [c.id for c in claimed]


async def statuses(database: Database) -> list[str]:
    async with database.session() as session:
        return list((await session.scalars(select(Checkin.status).order_by(Checkin.id))).all())


async def test_due_rows_are_claimed_once_and_future_ones_not(database: Database) -> None:
    someone = await person(database)
    await plan(database, someone, 3, minutes_ago=1)
    await plan(database, someone, 1, minutes_ago=-60)  # due in an hour

    first = await claim(database, "a")
    assert len(first) == 3
    assert await claim(database, "b") == []
    assert await statuses(database) == ["claimed"] * 3 + ["planned"]


async def test_concurrent_claimers_take_disjoint_rows(database: Database) -> None:
    someone = await person(database)
    await plan(database, someone, 300, minutes_ago=1)
    other = Database(database.url)  # a second instance: its own engine and connections
    try:
        results = await asyncio.gather(
            *(claim(db, f"t{i}", limit=25) for i in range(12) for db in (database, other))
        )
    finally:
        await other.close()
    claimed = [row for result in results for row in result]
    assert len(claimed) == len(set(claimed)) == 300


async def test_a_stale_claim_is_taken_over_and_the_old_claimer_cannot_send(
    database: Database,
) -> None:
    someone = await person(database)
    await plan(database, someone, 1, minutes_ago=10)
    [row] = await claim(database, "dead")
    async with database.session() as session, session.begin():
        stale = await session.get(Checkin, row)
        assert stale is not None
        stale.claimed_at = utcnow() - STALE - timedelta(seconds=1)

    assert await claim(database, "alive") == [row]
    async with database.engine.begin() as connection:
        assert await checkins.begin_send(connection, [row], "dead", utcnow()) == []
        [sending] = await checkins.begin_send(connection, [row], "alive", utcnow())
        assert sending.id == row
        assert await checkins.begin_send(connection, [row], "alive", utcnow()) == []


async def test_a_crash_between_claim_and_send_is_recovered_without_sending_twice(
    database: Database,
) -> None:
    someone = await person(database)
    await plan(database, someone, 3, minutes_ago=1)
    # An instance claimed all three, began sending the second, sent the third, and died.
    claimed, begun, sent = await claim(database, "dead")
    async with database.engine.begin() as connection:
        await checkins.begin_send(connection, [begun, sent], "dead", utcnow())
    async with database.session() as session, session.begin():
        await checkins.mark_sent(session, [sent], utcnow())

    clock = SteppingClock()
    outbox = RecordingOutbox()
    dispatcher = Dispatcher(
        database,
        outbox,
        Texts.default(),
        Rules(quiet_start=Rules().quiet_end),
        clock=clock,
    )
    await dispatcher.run()
    assert outbox.sent == []  # the claims are not stale yet: the instance may be alive

    clock.advance(minutes=6)
    await dispatcher.run()
    await dispatcher.run()
    assert [message[0] for message in outbox.sent] == [someone]
    assert f"ci:mood:{claimed}:1" in str(outbox.sent[0][1].choices)
    assert (await statuses(database))[:3] == ["sent", "uncertain", "sent"]
