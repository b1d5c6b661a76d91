"""The dashboard's overview over a year with 1,000,000 recorded bot conversations: how long
the statistics take on SQLite and on PostgreSQL (the aim: under a second).

    python -m bench.stats_overview [--conversations 1000000] [--postgres URL] [--runs 3]

The rows are generated and bulk-inserted (allowed in a benchmark, never in tests): the
event log as the service writes it (a bot_conversation per conversation and, in realistic
shares, new people, age bands, topics, crises, check-ins, handovers with waits and lengths,
feedback), plus measurements for a fifth of the people, both in the order of time, as the
service writes them: SQLite in one transaction, PostgreSQL by COPY. Then the year is
folded into the statistics' totals, as the service's maintenance does hour by hour
(`fold_s`), and the overview (per week, every organisation, the whole year) is computed
`--runs` times; the best and median are kept.
Results: bench/results/stats_overview.json, and a table on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import secrets
import sqlite3
import statistics as stats
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from sqlalchemy.engine import make_url

from insights import report
from insights.calendar import Calendar
from storage import migrate, statistics, totals
from storage.db import Database
from storage.statistics import Periods

RESULTS = Path(__file__).resolve().parent / "results"
YEAR = 2026
ZONE = ZoneInfo("Europe/Copenhagen")
ORGS = ("example", "other", "third")
TOPICS = ("friends", "family", "school_or_studies", "moving", "online", "breakup_loss")
AGES = ("under-15", "15-17", "18-24", "25-30", "unsaid")
EVENT_COLUMNS = ("kind", "detail", "channel", "language", "hour", "value", "org")

Event = tuple[str, str, str, str, datetime, int | None, str | None]


def events(conversations: int, seed: int = 7) -> Iterator[Event]:
    """The event log of `conversations` bot conversations spread over the year."""
    rng = random.Random(seed)
    start = datetime(YEAR, 1, 1, tzinfo=UTC)
    hours = 365 * 24
    for _ in range(conversations):
        hour = start + timedelta(hours=rng.randrange(hours))
        channel = "telegram" if rng.random() < 0.7 else "web"
        language = "da" if rng.random() < 0.85 else "en"
        first = rng.random() < 0.3
        yield (
            "bot_conversation",
            "first" if first else "again",
            channel,
            language,
            hour,
            None,
            None,
        )
        if first:
            yield "new_person", "", channel, language, hour, None, None
            yield "age_band", rng.choice(AGES), channel, language, hour, None, None
        if rng.random() < 0.6:
            yield "topic", rng.choice(TOPICS), channel, language, hour, None, None
        if rng.random() < 0.005:
            yield "crisis", "suicide", channel, language, hour, None, None
        if rng.random() < 0.1:
            yield "checkin_planned", "tomorrow", channel, language, hour, None, None
            later = hour + timedelta(days=1)
            if rng.random() < 0.9:
                yield "checkin_sent", "checkin", channel, language, later, None, None
                if rng.random() < 0.6:
                    yield "checkin_answered", "", channel, language, later, None, None
            else:
                yield "checkin_missed", "checkin", channel, language, later, None, None
        if rng.random() < 0.03:
            yield from _handover(rng, hour, channel, language)


def _handover(rng: random.Random, hour: datetime, channel: str, language: str) -> Iterator[Event]:
    yield "handover_requested", "", channel, language, hour, None, None
    if rng.random() < 0.1:
        yield "handover_left", "withdrawn", channel, language, hour, None, None
        return
    org = rng.choice(ORGS)
    yield "handover_claimed", "", channel, language, hour, rng.randrange(30, 3600), org
    yield "handover_ended", "volunteer", channel, language, hour, rng.randrange(300, 5400), org
    if rng.random() < 0.7:
        yield "feedback_rating", str(rng.randint(1, 5)), channel, language, hour, None, org


def measurements(people: int, seed: int = 11) -> Iterator[tuple[int, datetime, int, int, int]]:
    rng = random.Random(seed)
    start = datetime(YEAR, 1, 1, tzinfo=UTC)
    for person in range(1, people + 1):
        taken = start + timedelta(hours=rng.randrange(300 * 24))
        yield person, taken, rng.randint(1, 3), rng.randint(1, 3), rng.randint(1, 3)
        if rng.random() < 0.3:
            again = taken + timedelta(days=rng.randint(7, 60))
            yield person, again, rng.randint(1, 3), rng.randint(1, 3), rng.randint(1, 3)


# -- loading ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rows:
    """What is loaded, in the order the service would have written it."""

    events: list[Event]
    measurements: list[tuple[int, datetime, int, int, int]]
    people: int

    @classmethod
    def of(cls, conversations: int) -> Rows:
        people = conversations // 5
        return cls(
            sorted(events(conversations), key=lambda event: event[4]),
            sorted(measurements(people), key=lambda row: row[1]),
            people,
        )


def load_sqlite(path: str, rows: Rows) -> None:
    """One transaction; the event log's indexes are dropped and built again after, which
    sorts once instead of inserting into three B-trees row by row."""
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA synchronous=OFF")
        connection.execute("PRAGMA cache_size=-262144")  # 256 MB
        indexes = [sql for (sql,) in connection.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'stat_events' "
            "AND sql IS NOT NULL")]
        connection.execute("BEGIN")
        for sql in indexes:
            connection.execute("DROP INDEX " + sql.split()[2])
        hours: dict[datetime, str] = {}
        connection.executemany(
            "INSERT INTO stat_events (kind, detail, channel, language, hour, value, org) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                (*event[:4], hours.get(event[4]) or hours.setdefault(event[4], _naive(event[4])),
                 *event[5:])
                for event in rows.events
            ),
        )
        connection.executemany(
            "INSERT INTO participants (id, pseudonym, channel, sealed_address, language, "
            "reachable, created_at, last_active_at) VALUES (?, ?, 'telegram', x'00', 'da', 1, "
            "'2026-01-01 00:00:00.000000', '2026-01-01 00:00:00.000000')",
            ((n, f"p{n}") for n in range(1, rows.people + 1)),
        )
        connection.executemany(
            "INSERT INTO measurements (participant_id, taken_at, context, companionship, "
            "left_out, isolated) VALUES (?, ?, 'intake', ?, ?, ?)",
            ((p, _naive(t), a, b, c) for p, t, a, b, c in rows.measurements),
        )
        for sql in indexes:
            connection.execute(sql)
        connection.commit()
        connection.execute("ANALYZE")
    finally:
        connection.close()


def _naive(moment: datetime) -> str:
    return moment.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


async def load_postgres(url: str, rows: Rows) -> None:
    """COPY; the event log's secondary indexes are dropped and built again after."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("SET maintenance_work_mem = '256MB'")
        indexes = [
            (record["indexname"], record["indexdef"])
            for record in await connection.fetch(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'stat_events' "
                "AND indexname <> 'pk_stat_events'"
            )
        ]
        for name, _ in indexes:
            await connection.execute(f'DROP INDEX "{name}"')
        await connection.copy_records_to_table(
            "stat_events", records=rows.events, columns=EVENT_COLUMNS
        )
        for _, definition in indexes:
            await connection.execute(definition)
        now = datetime(YEAR, 1, 1, tzinfo=UTC)
        await connection.copy_records_to_table(
            "participants",
            records=[
                (n, f"p{n}", "telegram", b"\0", "da", True, now, now)
                for n in range(1, rows.people + 1)
            ],
            columns=(
                "id",
                "pseudonym",
                "channel",
                "sealed_address",
                "language",
                "reachable",
                "created_at",
                "last_active_at",
            ),
        )
        await connection.copy_records_to_table(
            "measurements",
            records=[(p, t, "intake", a, b, c) for p, t, a, b, c in rows.measurements],
            columns=(
                "participant_id",
                "taken_at",
                "context",
                "companionship",
                "left_out",
                "isolated",
            ),
        )
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


# -- timing ----------------------------------------------------------------------------------
async def fold_and_time(url: str, runs: int) -> dict[str, Any]:
    """Fold the loaded year, then time the overview."""
    database = Database(url)
    calendar = Calendar.of(YEAR, date(YEAR + 1, 2, 1))
    periods = Periods.of(calendar.first, calendar.last, "day", ZONE)
    seconds: list[float] = []
    try:
        began = time.perf_counter()
        async with database.session() as session:
            if await totals.fold(session, ZONE) is None:
                raise RuntimeError("the fold could not lock the event log")
        folded = time.perf_counter() - began
        for _ in range(runs):
            began = time.perf_counter()
            async with database.session() as session:
                figures = await statistics.compute(session, periods)
            built = report.build(figures, calendar, list(ORGS), grain="week")
            seconds.append(time.perf_counter() - began)
    finally:
        await database.close()
    conversations = sum(sum(v) for k, v in figures.people.items() if k[0] == "bot_conversation")
    return {
        "fold_s": round(folded, 1),
        "best_s": round(min(seconds), 3),
        "median_s": round(stats.median(seconds), 3),
        "runs": [round(s, 3) for s in seconds],
        "conversations_counted": conversations,
        "tables": len(built.tables),
        "columns": len(periods.starts) + 1,
    }


async def bench_sqlite(rows: Rows, runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as directory:
        path = f"{directory}/bench.db"
        url = f"sqlite+aiosqlite:///{path}"
        database = Database(url)
        await migrate.upgrade(database)
        await database.close()
        began = time.perf_counter()
        await asyncio.to_thread(load_sqlite, path, rows)
        loaded = time.perf_counter() - began
        result = await fold_and_time(url, runs)
    return {"backend": "sqlite", "events": len(rows.events), "load_s": round(loaded, 1),
            **result}


async def bench_postgres(admin_url: str, rows: Rows, runs: int) -> dict[str, Any]:
    name = f"snakkes_bench_{secrets.token_hex(4)}"
    parsed = make_url(admin_url)
    admin = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    url = parsed.set(database=name).render_as_string(hide_password=False)
    connection = await asyncpg.connect(admin)
    await connection.execute(f'CREATE DATABASE "{name}"')
    await connection.close()
    try:
        database = Database(url)
        await migrate.upgrade(database)
        await database.close()
        began = time.perf_counter()
        await load_postgres(url, rows)
        loaded = time.perf_counter() - began
        result = await fold_and_time(url, runs)
    finally:
        connection = await asyncpg.connect(admin)
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.close()
    return {"backend": "postgresql", "events": len(rows.events), "load_s": round(loaded, 1),
            **result}


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", default="", help="an admin URL (postgresql+asyncpg://…)")
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    rows = Rows.of(args.conversations)
    generated = round(time.perf_counter() - began, 1)
    results = []
    if not args.skip_sqlite:
        results.append(await bench_sqlite(rows, args.runs))
    if args.postgres:
        results.append(await bench_postgres(args.postgres, rows, args.runs))
    out = {
        "benchmark": "stats_overview",
        "conversations": args.conversations,
        "period": f"{YEAR} per ISO week, suppressed over every period of the year, all "
                  "organisations",
        "machine": "2 cores, shared",
        "generate_s": generated,
        "results": results,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "stats_overview.json").write_text(json.dumps(out, indent=2) + "\n")
    print(f"{args.conversations} conversations generated in {generated} s")
    print(f"{'backend':<12} {'events':>10} {'load s':>8} {'fold s':>8} {'best s':>8} "
          f"{'median s':>9}")
    for r in results:
        print(
            f"{r['backend']:<12} {r['events']:>10} {r['load_s']:>8} {r['fold_s']:>8} "
            f"{r['best_s']:>8} {r['median_s']:>9}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
