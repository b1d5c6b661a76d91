"""`make bench`: every benchmark, then bench/RESULTS.md.

Inbound throughput and latency run alone: they are about CPU, and use both cores (the bot
on one, the double with the load on the other). So does the check-in burst: paced by
Telegram's limits, it waits most of the time, but its share of the cap fell to 93 % beside
the memory benchmark on a slower machine. Then two run side by side: the memory benchmark,
which is about bytes, and the statistics overview, a single query at a time on the second
core.
Set SNAKKES_BENCH_POSTGRES_URL to measure PostgreSQL too (and the web chat across two
instances, which needs it).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from datetime import UTC, datetime

from bench import report
from bench.inbound import RESULTS
from bench.procs import ROOT

MEMORY_PEOPLE = os.environ.get("SNAKKES_BENCH_MEMORY_PEOPLE", "100000")


async def run(*args: str) -> None:
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", *args, cwd=ROOT)
    if await process.wait() != 0:
        raise SystemExit(f"benchmark failed: {' '.join(args)}")


async def main() -> None:
    started = time.perf_counter()
    postgres = ("--postgres", url) if (url := os.environ.get("SNAKKES_BENCH_POSTGRES_URL")) else ()
    await run("bench.inbound", *postgres)
    await run("bench.safety_net")  # alone: it measures one core's CPU per message
    await run("bench.understanding")  # alone too: the model's time per typed message
    await run("bench.console_relay")
    if postgres:  # two instances on one PostgreSQL: a message from one to a socket on the other
        await run("bench.webchat_instances", *postgres)
    await run("bench.checkin_burst")  # alone: its share of the cap suffers from a busy core
    await asyncio.gather(
        run("bench.memory", "--people", MEMORY_PEOPLE),
        run("bench.stats_overview", *postgres),
    )
    took = {
        "minutes": round((time.perf_counter() - started) / 60, 1),
        "finished": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "commit": report.commit(),
    }
    (RESULTS / "make_bench.json").write_text(json.dumps(took) + "\n")
    await run("bench.report")


if __name__ == "__main__":
    asyncio.run(main())
