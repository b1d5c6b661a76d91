"""The fold of the event log and the measurements into totals (storage/totals.py): the
figures are the same folded, half folded and not folded; a fold is idempotent, leaves
nothing behind when it fails, counts an event recorded late for a day already folded, and
two instances folding at once while the service writes count every row exactly once."""

from __future__ import annotations

import asyncio
import random
import shutil
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import load_settings
from storage import events, participants, statistics, totals
from storage.crypto import Keyring
from storage.db import Database
from storage.models import (
    DailyCount,
    DailyValue,
    FoldState,
    Measurement,
    MeasurementScore,
    Participant,
    StatEvent,
)
from storage.statistics import Figures, Periods
from tests.conftest import (
    TEST_SECRET,
    _backends,
    fresh_postgres_database,
    run_apart,
    seed_sqlite,
)
from tests.statistics.scenario import play
from tests.statistics.world import World, two_organisations

ZONE = ZoneInfo("Europe/Copenhagen")
MARCH = Periods.of(date(2026, 3, 1), date(2026, 3, 31), "month", ZONE)
WEEKS = Periods.of(date(2026, 3, 2), date(2026, 3, 15), "week", ZONE)
DAYS_UTC = Periods.of(date(2026, 3, 1), date(2026, 3, 14), "day", ZoneInfo("UTC"))


class Crash(Exception):
    pass


async def _play_into(url: str, data_dir: Path) -> None:
    settings = load_settings(None, {
        "SNAKKES_SERVICE_DATA_DIR": str(data_dir),
        "SNAKKES_DATABASE_URL": url,
        "SNAKKES_SECURITY_SECRET_KEY": TEST_SECRET,
    })
    world = World(two_organisations(settings))
    await world.open()
    try:
        await play(world)
    finally:
        await world.close()


@pytest.fixture(scope="session")
def played_sqlite(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Path:
    """The fortnight played once per session into a SQLite file; each test folds a copy."""
    data_dir = tmp_path_factory.mktemp("fortnight")
    path = data_dir / "snakkes.db"
    seed_sqlite(sqlite_template, path)
    run_apart(_play_into(f"sqlite+aiosqlite:///{path}", data_dir))
    assert not path.with_name(path.name + "-wal").exists(), "the fortnight's WAL was not folded"
    return path


@pytest.fixture(scope="session")
def played_postgres(
    tmp_path_factory: pytest.TempPathFactory, postgres_template: str
) -> Iterator[str]:
    """The fortnight played once per session into a PostgreSQL database: the TEMPLATE of
    each test's database."""
    played = fresh_postgres_database(template=postgres_template, prefix="snakkes_played_")
    run_apart(played.create())
    try:
        run_apart(_play_into(played.url, tmp_path_factory.mktemp("fortnight-pg")))
        yield played.name
    finally:
        run_apart(played.drop())


@pytest.fixture(params=_backends())
async def played(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """The statistics tests' fortnight, played through the service, nothing folded: a copy
    of the session's (tests/statistics/test_statistics.py plays it afresh and checks it)."""
    keyring = Keyring(TEST_SECRET.encode())
    if request.param == "sqlite":
        path = tmp_path / "snakkes.db"
        shutil.copyfile(request.getfixturevalue("played_sqlite"), path)
        database = Database(f"sqlite+aiosqlite:///{path}", keyring)
        yield database
        await database.close()
        return
    async with fresh_postgres_database(template=request.getfixturevalue("played_postgres")) as url:
        database = Database(url, keyring)
        yield database
        await database.close()


async def figures(database: Database) -> list[Figures]:
    async with database.session() as session:
        return [await statistics.compute(session, p) for p in (MARCH, WEEKS, DAYS_UTC)]


async def fold(database: Database, zone: ZoneInfo = ZONE) -> totals.Folded | None:
    async with database.session() as session:
        return await totals.fold(session, zone)


async def last_ids(database: Database) -> tuple[int, int]:
    async with database.session() as session:
        return (await session.scalar(select(func.max(StatEvent.id))) or 0,
                await session.scalar(select(func.max(Measurement.id))) or 0)


async def assert_totals_match_log(database: Database, zone: ZoneInfo = ZONE) -> None:
    """The folded tables hold exactly what the log and the measurements say, row by row."""
    dialect = database.dialect
    async with database.session() as session:
        start, last = (await session.execute(
            select(func.min(StatEvent.hour), func.max(StatEvent.hour)))).one()
        everything = totals.EventRange(0, 2**31 - 1, start, last + timedelta(hours=1))
        expected_counts = set(await session.execute(
            totals.event_days(dialect, zone, everything)))
        expected_values = set(await session.execute(
            totals.value_days(dialect, zone, everything)))
        first_at, last_at = (await session.execute(
            select(func.min(Measurement.taken_at), func.max(Measurement.taken_at)))).one()
        expected_scores = set(await session.execute(totals.scored_measurements(
            dialect, zone, (first_at, last_at + timedelta(hours=1)))))
        d, v, s = DailyCount, DailyValue, MeasurementScore
        counts = set(await session.execute(
            select(d.day, d.kind, d.detail, d.channel, d.language, d.org, d.n)))
        values = set(await session.execute(select(v.day, v.kind, v.org, v.value, v.n)))
        scores = set(await session.execute(
            select(s.participant_id, s.measurement_id, s.taken_at, s.day, s.score, s.change,
                   s.next_at)))
    assert counts == expected_counts
    assert values == expected_values
    assert scores == expected_scores


async def test_figures_are_the_same_folded_half_folded_and_not(played: Database) -> None:
    live = await figures(played)
    assert live[0].count("handover_requested") == [7]  # what test_statistics asserts
    events_to, measurements_to = await last_ids(played)
    async with played.session() as session, session.begin():
        await totals.fold_up_to(session, ZONE, events_to // 2, measurements_to // 2)
    assert await figures(played) == live
    assert await fold(played) == totals.Folded(events_to, measurements_to)
    assert await figures(played) == live
    await assert_totals_match_log(played)
    # Idempotent: folding again changes nothing.
    assert await fold(played) == totals.Folded(events_to, measurements_to)
    assert await figures(played) == live
    await assert_totals_match_log(played)


async def test_a_new_zone_folds_again(played: Database) -> None:
    live = await figures(played)
    await fold(played, ZoneInfo("UTC"))
    assert await figures(played) == live  # read live while the totals are another zone's
    await assert_totals_match_log(played, ZoneInfo("UTC"))
    await fold(played)
    assert await figures(played) == live
    await assert_totals_match_log(played)


async def test_a_crash_mid_fold_leaves_nothing_half_done(played: Database) -> None:
    live = await figures(played)
    events_to, measurements_to = await last_ids(played)

    async def fold_and_die() -> None:
        async with played.session() as session, session.begin():
            await totals.fold_up_to(session, ZONE, events_to, measurements_to)
            raise Crash  # the process dies before the commit

    with pytest.raises(Crash):
        await fold_and_die()
    async with played.session() as session:
        assert await session.scalar(select(func.count()).select_from(DailyCount)) == 0
        assert await session.scalar(select(func.count()).select_from(MeasurementScore)) == 0
        assert await session.scalar(select(FoldState.events_to)) == 0
    assert await figures(played) == live
    await fold(played)
    assert await figures(played) == live
    await assert_totals_match_log(played)


async def test_an_event_recorded_late_for_a_folded_day_is_counted_once(
    played: Database,
) -> None:
    await fold(played)
    before = (await figures(played))[0].count("topic", "friends")
    early = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)  # the first hour of the fortnight
    async with played.session() as session, session.begin():
        await events.record(session, "topic", "friends", channel="telegram", language="da",
                            at=early)
    assert (await figures(played))[0].count("topic", "friends") == [before[0] + 1]
    await fold(played)
    assert (await figures(played))[0].count("topic", "friends") == [before[0] + 1]
    await assert_totals_match_log(played)


async def test_erasing_the_last_measured_person_rescores(played: Database) -> None:
    """SQLite gives the id of an erased last row out again: the fold must notice."""
    await fold(played)
    async with played.session() as session, session.begin():
        last = await session.scalar(
            select(Measurement.participant_id).order_by(Measurement.id.desc()).limit(1))
        assert last is not None
        await participants.erase(session, last)
    after_erasure = await figures(played)
    async with played.session() as session, session.begin():
        newcomer = await _participant(session, "newcomer")
        session.add(Measurement(participant_id=newcomer, context="intake", companionship=3,
                                left_out=3, isolated=3,
                                taken_at=datetime(2026, 3, 10, 9, tzinfo=UTC)))
    live = await figures(played)
    assert live[0].first_scores[9] == [after_erasure[0].first_scores.get(9, [0])[0] + 1]
    await fold(played)
    assert await figures(played) == live
    await assert_totals_match_log(played)


async def _participant(session: AsyncSession, pseudonym: str) -> int:
    person = Participant(pseudonym=pseudonym, channel="web", sealed_address=b"-",
                         language="da")
    session.add(person)
    await session.flush()
    return person.id


async def test_two_instances_fold_while_the_service_writes(database: Database) -> None:
    """Two engines stand for two instances; writers record events and measurements (with
    waits, in transactions that stay open a while) while both fold again and again."""
    second = Database(database.url)
    writing = True
    rng = random.Random(3)
    start = datetime(2026, 3, 2, tzinfo=UTC)

    async def write(n: int) -> None:
        for i in range(40):
            async with database.session() as session, session.begin():
                at = start + timedelta(hours=rng.randrange(24 * 14))
                await events.record(session, "topic", rng.choice(["friends", "family"]),
                                    channel="telegram", language="da", at=at)
                await events.record(session, "handover_claimed", "", channel="web",
                                    language="en", at=at, value=rng.randrange(30, 90),
                                    org=rng.choice(["example", None]))
                person = await _participant(session, f"w{n}-{i}")
                for later in range(rng.randrange(1, 3)):
                    session.add(Measurement(
                        participant_id=person, context="intake", companionship=rng.randint(1, 3),
                        left_out=rng.randint(1, 3), isolated=rng.randint(1, 3),
                        taken_at=at + timedelta(days=later)))
                await asyncio.sleep(0.005)

    async def keep_folding(on: Database) -> None:
        while writing:
            await fold(on)
            await asyncio.sleep(0.01)

    folders = [asyncio.create_task(keep_folding(on)) for on in (database, second)]
    try:
        await asyncio.gather(*(write(n) for n in range(3)))
    finally:
        writing = False
        await asyncio.gather(*folders)
    assert await fold(second) is not None
    await assert_totals_match_log(database)
    async with database.session() as session:
        assert await session.scalar(select(func.sum(DailyCount.n))) == 240
        assert await session.scalar(select(func.sum(DailyValue.n))) == 120
    await second.close()
