"""Inbound throughput and latency: snakkes (full stack) side by side with a PTB echo bot (on
PTB's own classes, and on the ones snakkes gives PTB: bench/echo_bot.py), each in its own
process against the Bot API double in a third.

    python -m bench.inbound [--updates 2000] [--rate 100] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from bench.procs import Process, free_port, python, usage

TOKEN = "123456:TEST-TOKEN"  # noqa: S105 - the double's fake token
RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Bot:
    name: str
    database: str | None  # None: the echo bot
    stack: str = "ptb"  # the echo bot's: PTB's own classes, or "snakkes"'s (bench/echo_bot.py)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


@asynccontextmanager
async def database_for(bot: Bot, workdir: Path) -> AsyncIterator[str]:
    """A fresh database: a SQLite file, or a PostgreSQL database created and dropped."""
    if bot.database is None or bot.database == "sqlite":
        yield f"sqlite+aiosqlite:///{workdir / 'snakkes.db'}"
        return
    url = make_url(bot.database)
    name = f"snakkes_bench_{secrets.token_hex(4)}"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(admin)
    await connection.execute(f'CREATE DATABASE "{name}"')
    await connection.close()
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        connection = await asyncpg.connect(admin)
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.close()


async def _commits(database_url: str) -> int:
    """Transactions committed in a PostgreSQL database so far (0 for SQLite)."""
    if not database_url.startswith("postgresql"):
        return 0
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(
        hide_password=False
    )
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("SELECT pg_stat_clear_snapshot()")
        return int(
            await connection.fetchval(
                "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
            )
        )
    finally:
        await connection.close()


def service_environment(api_url: str, database_url: str, workdir: str) -> dict[str, str]:
    """The service's settings for a benchmark: the load's Bot API, Telegram's cap lifted."""
    return {
        "SNAKKES_TELEGRAM_TOKEN": TOKEN,
        "SNAKKES_TELEGRAM_API_URL": api_url,
        "SNAKKES_TELEGRAM_MAX_MESSAGES_PER_SECOND": "100000",
        "SNAKKES_DATABASE_URL": database_url,
        "SNAKKES_SERVICE_DATA_DIR": workdir,
        "SNAKKES_SECURITY_SECRET_KEY": "bench-" + "k" * 40,
        "SNAKKES_WEB_PORT": str(free_port()),
        "SNAKKES_SERVICE_LOG_LEVEL": "WARNING",
    }


async def run_once(bot: Bot, mode: str, updates: int, rate: float) -> dict[str, Any]:
    load = Process(
        "double",
        *python(
            "-m", "bench.load", "--mode", mode, "--updates", str(updates), "--rate", str(rate)
        ),
    )
    await load.start()
    with tempfile.TemporaryDirectory() as workdir:
        async with database_for(bot, Path(workdir)) as database_url:
            url = (await load.line()).removeprefix("URL ")
            env = service_environment(url, database_url, workdir)
            if bot.database is None:
                env["SNAKKES_BENCH_ECHO_STACK"] = bot.stack
                target = Process(bot.name, *python("-m", "bench.echo_bot"), env=env)
            else:
                snakkes = str(Path(sys.executable).with_name("snakkes"))
                target = Process(bot.name, snakkes, "run", env=env)
            await target.start()
            try:
                assert await load.line(wait=300) == "START"
                before = usage(target.pid)
                commits = await _commits(database_url)
                result = json.loads((await load.line(wait=900)).removeprefix("RESULT "))
                after = usage(target.pid)
                await asyncio.sleep(1.0)  # PostgreSQL reports its counts about every second
                commits = await _commits(database_url) - commits
            finally:
                await target.stop()
                await load.stop()
    cpu = after.cpu_seconds - before.cpu_seconds
    summary: dict[str, Any] = {
        "bot": bot.name,
        "mode": mode,
        "updates": result["updates"],
        "seconds": round(result["seconds"], 3),
        "updates_per_second": round(result["updates"] / result["seconds"], 1),
        "cpu_seconds_per_1000": round(cpu / result["updates"] * 1000, 3),
        "peak_rss_mb": round(after.peak_rss_mb, 1),
        # Bot API requests per update, getUpdates included: the HTTP work behind each.
        "requests_per_update": round(sum(result["requests"].values()) / result["updates"], 2),
        "requests": result["requests"],
    }
    if database_url.startswith("postgresql"):
        # Each commit waits for the write-ahead log's flush: what an update costs in waiting.
        summary["commits_per_update"] = round(commits / result["updates"], 2)
    if mode == "rate":
        latencies = [value * 1000 for value in result["latencies"]]
        summary |= {
            "offered_rate": rate,
            "unanswered": result["unanswered"],
            "p50_ms": round(statistics.median(latencies), 2),
            "p95_ms": round(percentile(latencies, 0.95), 2),
            "p99_ms": round(percentile(latencies, 0.99), 2),
        }
    return summary


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--postgres", default="", help="a PostgreSQL URL to measure too")
    args = parser.parse_args()
    bots = [
        Bot("snakkes-sqlite", "sqlite"),
        Bot("echo-bot", None),
        Bot("echo-bot-snakkes-stack", None, stack="snakkes"),
    ]
    if args.postgres:
        bots.insert(1, Bot("snakkes-postgresql", args.postgres))
    rows = []
    for bot in bots:
        rows.append(await run_once(bot, "throughput", args.updates, args.rate))
        rows.append(await run_once(bot, "rate", args.updates, args.rate))
    for row in rows:
        for echo_bot, column in (
            ("echo-bot", "ratio_to_echo"),
            ("echo-bot-snakkes-stack", "ratio_to_echo_same_stack"),
        ):
            [echo] = [r for r in rows if r["bot"] == echo_bot and r["mode"] == row["mode"]]
            row[column] = round(row["updates_per_second"] / echo["updates_per_second"], 2)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "inbound.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    print_table(rows)


def print_table(rows: list[dict[str, Any]]) -> None:
    columns = [
        "bot",
        "mode",
        "updates_per_second",
        "ratio_to_echo",
        "ratio_to_echo_same_stack",
        "p50_ms",
        "p95_ms",
        "p99_ms",
        "cpu_seconds_per_1000",
        "peak_rss_mb",
    ]
    print(" | ".join(columns))
    for row in rows:
        print(" | ".join(str(row.get(column, "")) for column in columns))


if __name__ == "__main__":
    asyncio.run(main())
