"""The shared send window (storage/limits.py `SharedWindow`, storage/budget.py) on a real
PostgreSQL: what it guarantees (the bot's window and each chat's own, across instances),
and what it costs (transactions per send, counted, not timed)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from storage import budget, migrate
from storage.budget import ChatLimit
from storage.db import Database
from storage.limits import SharedWindow
from storage.models import TelegramBudget, TelegramSend
from tests.conftest import POSTGRES_URL, fresh_postgres_database

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="SNAKKES_TEST_POSTGRES_URL is not set")


@pytest.fixture
async def database() -> AsyncIterator[Database]:
    async with fresh_postgres_database() as url:
        db = Database(url)
        await migrate.upgrade(db)
        yield db
        await db.close()


def count_commits(window: SharedWindow) -> list[int]:
    """A counter of the transactions the window commits (on its own engine)."""
    commits = [0]

    def committed(_connection: object) -> None:
        commits[0] += 1

    event.listen(window.engine.sync_engine, "commit", committed)
    return commits


async def sends(database: Database) -> list[TelegramSend]:
    async with database.session() as session:
        return list(await session.scalars(select(TelegramSend).order_by(TelegramSend.started_at)))


def most_in_any_window(rows: list[TelegramSend], period: float) -> int:
    """The most sends one window held at any send's start: a send counts from its start
    until `period` after its answer, as Telegram may have counted it anywhere between."""
    span = timedelta(seconds=period)
    most = 0
    for row in rows:
        held = sum(
            1
            for other in rows
            if other.started_at <= row.started_at
            and (other.answered_at is None or other.answered_at + span > row.started_at)
        )
        most = max(most, held)
    return most


async def test_concurrent_sends_share_a_few_transactions(database: Database) -> None:
    """40 sends to 40 chats at once take their places in one transaction and give them
    back in another, not two transactions each (80 before: every send queued for the
    budget's row lock twice, and PostgreSQL fell behind at 55 updates a second)."""
    window = SharedWindow(database, limit=1000)
    commits = count_commits(window)
    senders = 40
    inside = 0
    everyone = asyncio.Event()

    async def send(n: int) -> None:
        nonlocal inside
        async with window.slot(ChatLimit(f"chat-{n}", 1, 1.0)):
            inside += 1
            if inside == senders:
                everyone.set()
            await everyone.wait()

    try:
        await asyncio.wait_for(asyncio.gather(*(send(n) for n in range(senders))), 30)
        await window.close()  # marks what is still unmarked, and says so in a transaction
    finally:
        await window.close()
    assert inside == senders  # all in at once: the limit was never the holdup
    assert commits[0] <= 4
    rows = await sends(database)
    assert len(rows) == senders
    assert all(row.answered_at is not None for row in rows)


async def test_one_batch_never_gives_more_than_the_window_holds(database: Database) -> None:
    """Eight sends queued at once for a window of five: five go, the others wait for the
    first answers and a second, and at no moment are more than five in the window."""
    window = SharedWindow(database, limit=5)
    inside = most = 0
    five = asyncio.Event()

    async def send(n: int) -> None:
        nonlocal inside, most
        async with window.slot(ChatLimit(f"chat-{n}", 1, 1.0)):
            inside += 1
            most = max(most, inside)
            if inside == 5:
                five.set()
            await five.wait()
            inside -= 1

    try:
        await asyncio.wait_for(asyncio.gather(*(send(n) for n in range(8))), 30)
    finally:
        await window.close()
    assert most == 5
    rows = await sends(database)
    assert len(rows) == 8
    assert most_in_any_window(rows, 1.0) <= 5


async def test_one_chat_gets_one_place_a_second_within_a_batch(database: Database) -> None:
    """Three sends to one person and one to another queued at once: the other person's
    goes with the first, the person's own follow one a second after each answer."""
    window = SharedWindow(database, limit=30)
    person, other = ChatLimit("person", 1, 1.0), ChatLimit("other", 1, 1.0)

    async def send(chat: ChatLimit) -> None:
        async with window.slot(chat):
            await asyncio.sleep(0)

    try:
        await asyncio.wait_for(
            asyncio.gather(send(person), send(person), send(person), send(other)), 30
        )
    finally:
        await window.close()
    rows = await sends(database)
    own = [row for row in rows if row.chat == person.chat]
    assert len(own) == 3
    assert most_in_any_window(own, 1.0) == 1
    assert [row.chat for row in rows].index(other.chat) <= 1  # not behind the person's


async def test_two_instances_together_stay_within_the_window(database: Database) -> None:
    """Two instances' windows on one database, each sending 12 at once to different chats,
    with a window of five for the bot: never more than five in any second together."""
    first, second = SharedWindow(database, limit=5), SharedWindow(database, limit=5)

    async def send(window: SharedWindow, n: int) -> None:
        async with window.slot(ChatLimit(f"chat-{id(window)}-{n}", 1, 1.0)):
            await asyncio.sleep(0.01)

    try:
        await asyncio.wait_for(
            asyncio.gather(
                *(send(first, n) for n in range(12)), *(send(second, n) for n in range(12))
            ),
            60,
        )
    finally:
        await first.close()
        await second.close()
    rows = await sends(database)
    assert len(rows) == 24
    assert most_in_any_window(rows, 1.0) <= 5


async def test_an_answer_counts_from_when_it_came_not_from_when_it_was_marked(
    database: Database,
) -> None:
    """The asker may mark an answer long after it came (it slept while the bot's window was
    full). Marked as of the transaction, the send held its place that much longer, and two
    instances together used 83 % of the cap; marked as of its answer, the place comes free
    a period after the answer, never sooner."""
    async with database.session() as session, session.begin():
        [first] = await budget.take(session, 1, 1.0, [None])
    assert first.place is not None
    await asyncio.sleep(0.7)  # the send took 0.1 s or more, and its answer came 0.6 s ago
    async with database.session() as session, session.begin():
        # Answered 0.6 s ago by the instance's clock: the window has 0.4 s left to hold it.
        [second] = await budget.take(session, 1, 1.0, [None], answered={first.place: 0.6})
    assert second.place is None
    assert 0.3 < second.wait <= 0.4
    async with database.session() as session:
        row = await session.get(TelegramSend, first.place)
        assert row is not None
        assert row.answered_at is not None
        assert row.answered_at > row.started_at


async def test_answers_alone_are_marked_without_the_lock_as_of_when_they_came(
    database: Database,
) -> None:
    """With nothing waiting, an answer is marked by a statement of its own, committed as it
    runs, while another transaction holds the budget's lock; as of when it came, never
    earlier, so the window frees its place a period after the answer."""
    async with database.session() as session, session.begin():
        [first] = await budget.take(session, 1, 1.0, [None])
    assert first.place is not None
    await asyncio.sleep(0.7)
    window = SharedWindow(database, limit=1)
    try:
        async with database.session() as holder, holder.begin():
            await holder.execute(  # another instance's transaction holds the lock
                select(TelegramBudget.id).where(TelegramBudget.id == 1).with_for_update()
            )
            assert await asyncio.wait_for(
                window._mark([(first.place, time.monotonic() - 0.6)], time.monotonic()), 5
            ) == 0.0
        async with database.session() as session, session.begin():
            [second] = await budget.take(session, 1, 1.0, [None])
        assert second.place is None
        assert 0.3 < second.wait <= 0.45  # answered 0.6 s before the mark, not at it
    finally:
        await window.close()


async def test_a_batch_gets_its_places_at_once_only_when_each_send_would_have(
    database: Database,
) -> None:
    """`budget.take` gives a batch of sends in chats of their own all their places in one
    statement; a batch with a send whose chat already holds one, or more sends than the
    bot's window has room for, is decided send by send, with the same verdicts as ever."""
    a, b, c, d, e = (ChatLimit(name, 1, 1.0) for name in "abcde")

    async def take(limit: int, *wanted: ChatLimit | None) -> list[budget.Verdict]:
        async with database.session() as session, session.begin():
            return await budget.take(session, limit, 1.0, wanted, prune=False)

    first = await take(30, a, None, b)
    places = [verdict.place for verdict in first]
    assert None not in places
    assert places == sorted(places)  # in the order they came, ids ascending with it
    second = await take(30, c, a)  # a's send is in flight: a waits, c goes
    assert second[0].place is not None
    assert (second[1].place, second[1].chat_full) == (None, True)
    third = await take(5, d, e)  # four in flight, room for one: d goes, e waits
    assert third[0].place is not None
    assert (third[1].place, third[1].chat_full) == (None, False)
    assert third[1].wait > 0
    assert len(await sends(database)) == 5
