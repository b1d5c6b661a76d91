"""`make bench`: every benchmark, then bench/RESULTS.md.

Inbound throughput and latency run alone (they are about CPU); the check-in burst, paced
by Telegram's limits, runs beside the memory benchmark, which is about bytes, not time.
Set SNAKKES_BENCH_POSTGRES_URL to measure PostgreSQL too.
"""

from __future__ import annotations

import asyncio
import os
import sys

from bench.procs import ROOT

HAS_STATS_OVERVIEW = (ROOT / "bench" / "stats_overview.py").exists()
MEMORY_PEOPLE = os.environ.get("SNAKKES_BENCH_MEMORY_PEOPLE", "100000")


async def run(*args: str) -> None:
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", *args, cwd=ROOT)
    if await process.wait() != 0:
        raise SystemExit(f"benchmark failed: {' '.join(args)}")


async def main() -> None:
    postgres = os.environ.get("SNAKKES_BENCH_POSTGRES_URL", "")
    await run("bench.inbound", *(("--postgres", postgres) if postgres else ()))
    await asyncio.gather(
        run("bench.checkin_burst"), run("bench.memory", "--people", MEMORY_PEOPLE)
    )
    if HAS_STATS_OVERVIEW:
        await run("bench.stats_overview", *(("--postgres", postgres) if postgres else ()))
    await run("bench.report")


if __name__ == "__main__":
    asyncio.run(main())
