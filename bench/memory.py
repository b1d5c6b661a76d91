"""Memory: the service's resident memory after N different people have each had a
conversation with it (they say hello and are greeted). The service runs in this process,
as `snakkes run` builds it, and is driven through its core, the way every channel drives it;
conversation state lives in the database, so memory should not grow with people.

    python -m bench.memory [--people 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time

from bench.inbound import RESULTS
from bench.procs import usage
from bot.config import load_settings
from bot.core import Envelope
from bot.service import Service
from dialogues.messages import Inbound
from storage import migrate


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        settings = load_settings(
            None,
            {
                "SNAKKES_SERVICE_DATA_DIR": workdir,
                "SNAKKES_DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/snakkes.db",
                "SNAKKES_SECURITY_SECRET_KEY": "bench-" + "k" * 40,
            },
        )
        service = Service.build(settings)
        await migrate.upgrade(service.database)
        hello = Inbound.from_text("/start")
        checkpoints = []
        started = time.perf_counter()
        for n in range(args.people):
            user = str(8_000_000_000 + n)
            await service.core.handle(Envelope("telegram", user, user, hello, update_key=user))
            if (n + 1) % (args.people // 4) == 0:
                checkpoints.append(
                    {"people": n + 1, "rss_mb": round(usage(os.getpid()).rss_mb, 1)}
                )
        seconds = time.perf_counter() - started
        end = usage(os.getpid())
        await service.database.close()
    result = {
        "people": args.people,
        "updates": args.people,
        "seconds": round(seconds, 1),
        "rss_mb": round(end.rss_mb, 1),
        "peak_rss_mb": round(end.peak_rss_mb, 1),
        "growth": checkpoints,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "memory.json").write_text(json.dumps(result, indent=2) + "\n")
    print(" | ".join(f"{k}: {v}" for k, v in result.items()))


if __name__ == "__main__":
    asyncio.run(main())
