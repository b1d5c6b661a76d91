"""Storage on SQLite and PostgreSQL: migrations, update claims, erasure."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import event, func, select, text, update

from storage import checkins, handover, inbox, migrate, outbox, participants, updates
from storage.crypto import Keyring
from storage.db import Database
from storage.models import (
    Checkin,
    Handover,
    InboxUpdate,
    OutboxMessage,
    Participant,
    ProcessedUpdate,
    Volunteer,
)
from storage.types import utcnow

KEYRING = Keyring(b"k" * 32)


async def test_migrations_reach_the_head_and_are_idempotent(database: Database) -> None:
    assert await migrate.is_current(database)
    await migrate.upgrade(database)
    assert await migrate.is_current(database)


async def test_an_update_is_claimed_once(database: Database) -> None:
    async with database.session() as session, session.begin():
        assert await updates.claim(session, "telegram", "1001")
    async with database.session() as session, session.begin():
        assert not await updates.claim(session, "telegram", "1001")
        assert await updates.claim(session, "web", "1001")


async def test_a_claim_rolled_back_with_failed_work_can_be_claimed_again(
    database: Database,
) -> None:
    session = database.session()
    async with session:
        await session.begin()
        assert await updates.claim(session, "telegram", "2002")
        await session.rollback()
    async with database.session() as session, session.begin():
        assert await updates.claim(session, "telegram", "2002")


async def test_concurrent_claims_of_one_update_let_exactly_one_through(
    database: Database,
) -> None:
    async def attempt() -> bool:
        async with database.session() as session, session.begin():
            claimed = await updates.claim(session, "telegram", "3003")
            await asyncio.sleep(0.05)  # hold the transaction open while the others try
            return claimed

    results = await asyncio.gather(*(attempt() for _ in range(5)))
    assert sorted(results) == [False, False, False, False, True]


async def test_old_claims_are_pruned(database: Database) -> None:
    async with database.session() as session, session.begin():
        await updates.claim(session, "telegram", "4004")
    async with database.session() as session, session.begin():
        assert await updates.prune(session, utcnow()) == 1
        assert await session.scalar(select(func.count()).select_from(ProcessedUpdate)) == 0


async def test_a_claim_with_the_arrival_reads_the_person_once_and_settles_the_inbox(
    database: Database,
) -> None:
    """`participants.claim_and_arrive` (one statement on PostgreSQL): a new person's first
    update is claimed and creates them; the same update again is a duplicate and reads
    nobody; a second update finds them. The polled update's inbox row goes either way."""
    now = utcnow()

    async def attempt(update_id: int) -> tuple[bool, participants.Arrival | None]:
        async with database.session() as session, session.begin():
            await inbox.store(session, KEYRING, [{"update_id": update_id}], now)
        claim = updates.Claim("telegram", str(update_id), update_id)
        async with database.session() as session, session.begin():
            return await participants.claim_and_arrive(
                session, KEYRING, claim, channel="telegram", channel_user_id="88",
                address="88", language="da",
            )

    claimed, first = await attempt(5005)
    assert claimed
    assert first is not None
    assert first.is_new
    assert await attempt(5005) == (False, None)
    claimed, again = await attempt(5006)
    assert claimed
    assert again is not None
    assert not again.is_new
    assert again.participant.id == first.participant.id
    async with database.session() as session:
        assert await session.scalar(select(func.count()).select_from(InboxUpdate)) == 0
        assert await session.scalar(select(func.count()).select_from(ProcessedUpdate)) == 2


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # its setting
async def test_only_a_turn_that_settles_a_stored_update_commits_without_the_flush(
    database: Database,
) -> None:
    """PostgreSQL: the claim that deletes a polled update's inbox row (stored durably before
    its offset was confirmed) turns the flush off for its transaction only; a claim with
    nothing durable behind it (a webhook's update) leaves the commit durable, and so does
    the next transaction on the same connection."""
    now = utcnow()

    async def claim_and_read(update_id: int, *, stored: bool) -> str:
        if stored:
            async with database.session() as session, session.begin():
                await inbox.store(session, KEYRING, [{"update_id": update_id}], now)
        claim = updates.Claim("telegram", str(update_id), update_id if stored else None)
        async with database.session() as session, session.begin():
            claimed, _ = await participants.claim_and_arrive(
                session, KEYRING, claim, channel="telegram", channel_user_id="99",
                address="99", language="da",
            )
            assert claimed
            return str(await session.scalar(text("SHOW synchronous_commit")))

    async def plain() -> str:
        async with database.session() as session, session.begin():
            return str(await session.scalar(text("SHOW synchronous_commit")))

    assert await claim_and_read(6001, stored=True) == "off"
    assert await plain() == "on"
    assert await claim_and_read(6002, stored=False) == "on"
    assert await claim_and_read(6003, stored=True) == "off"
    async with database.session() as session:
        assert await session.scalar(select(func.count()).select_from(InboxUpdate)) == 0


async def test_a_delivered_message_is_forgotten_without_waiting_for_the_flush(
    database: Database,
) -> None:
    """The outbox row of a message the channel took goes in a statement of its own whose
    commit does not wait for the flush on PostgreSQL (a deletion a database crash forgets
    is a message sent again, never one lost); the rows go on both backends."""
    now = utcnow()
    rows = [
        outbox.values_of(
            KEYRING, chat="c", channel="telegram", sealed_address=b"a",
            body=outbox.Body(f"text {n}"), lane=1, participant_id=None, owner=None,
            held_until=None, now=now,
        )
        for n in range(3)
    ]
    async with database.session() as session, session.begin():
        ids = await outbox.insert(session, rows)
    seen: list[tuple[str, object]] = []

    def statement(_c: object, _cursor: object, sql: str, parameters: object, *_: object) -> None:
        if sql.lstrip().upper().startswith("DELETE FROM OUTBOX"):
            seen.append((" ".join(sql.split()), parameters))

    event.listen(database.engine.sync_engine, "before_cursor_execute", statement)
    try:
        await outbox.forget_delivered(database, ids[:2])
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", statement)
    async with database.session() as session:
        left = (await session.scalars(select(OutboxMessage.id))).all()
    assert left == [ids[2]]
    [(sql, parameters)] = seen
    if database.dialect == "postgresql":
        assert "set_config(" in sql
        assert "'synchronous_commit', 'off', True" in repr(parameters), parameters


async def test_a_participant_is_found_again_by_pseudonym_and_erased(database: Database) -> None:
    async with database.session() as session, session.begin():
        first = await participants.arrive(
            session, KEYRING, channel="telegram", channel_user_id="77", address="77", language="en"
        )
        assert first is not None
        assert first.is_new
    async with database.session() as session, session.begin():
        arrival = await participants.arrive(
            session, KEYRING, channel="telegram", channel_user_id="77", address="77", language="da"
        )
        assert arrival is not None
        assert not arrival.is_new
        again = arrival.participant
        assert again.id == first.participant.id
        assert again.language == "en"
        assert participants.address_of(KEYRING, again) == "77"
        await participants.erase(session, again.id)
    async with database.session() as session:
        assert await session.scalar(select(func.count()).select_from(Participant)) == 0


async def test_arriving_tells_what_else_the_person_is_part_of(database: Database) -> None:
    """The one query per message (participants.arrive) reads the volunteer, open handover
    and sent check-in of the person, and of nobody else; features skip look-ups on it."""

    async def arrive(user: str) -> participants.Arrival:
        async with database.session() as session, session.begin():
            arrival = await participants.arrive(
                session,
                KEYRING,
                channel="telegram",
                channel_user_id=user,
                address=user,
                language="da",
            )
            assert arrival is not None
            return arrival

    young, volunteer, bystander = [await arrive(user) for user in ("1", "2", "3")]
    assert young.is_new
    assert young.involvement == participants.NOT_INVOLVED
    async with database.session() as session, session.begin():
        session.add(Volunteer(participant_id=volunteer.participant.id, org_slug="o", role="v"))
        session.add(
            Handover(
                participant_id=young.participant.id,
                status=handover.WAITING,
                young_number=1,
                language="da",
                age_band="18-24",
                channel="telegram",
            )
        )
        planned = checkins.add(session, young.participant.id, utcnow())
        await session.flush()
        planned.status = checkins.SENT

    assert (await arrive("1")).involvement == participants.Involvement(
        volunteer=False, open_handover=True, checkin_sent=True
    )
    assert (await arrive("2")).involvement == participants.Involvement(volunteer=True)
    assert (await arrive("3")).involvement == participants.NOT_INVOLVED
    assert bystander.is_new
    assert not (await arrive("3")).is_new
    async with database.session() as session, session.begin():
        await session.execute(update(Handover).values(status=handover.ENDED))
        await session.execute(update(Checkin).values(status=checkins.ANSWERED))
    assert (await arrive("1")).involvement == participants.NOT_INVOLVED
