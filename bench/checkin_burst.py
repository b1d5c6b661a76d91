"""Check-in burst: N check-ins due in the same minute, sent by `snakkes run` through a Bot
API double that enforces Telegram's limits. Reports the time to deliver all, the 429s,
duplicates and losses; and, with a crisis message written every --crisis-every seconds
during the burst, how long until each crisis answer's first message arrives (the crisis
lane goes before check-ins: issue #13 asks p99 under 1 s).

    python -m bench.checkin_burst [--people 10000] [--crisis-every 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from bench.inbound import RESULTS, TOKEN
from bench.procs import Process, free_port, python
from storage import checkins, migrate, participants
from storage.crypto import Keyring
from storage.db import Database
from storage.models import Participant
from storage.types import utcnow

SECRET = "bench-" + "k" * 40


async def plan(database_url: str, first_id: int, people: int) -> None:
    """People as the service would have stored them, each with one check-in due now.

    The first is stored by the service's own `participants.arrive`; the others are copies
    of that row with their own pseudonym and sealed address, flushed in bulk (one by one,
    10,000 people took longer than a tenth of the burst)."""
    database = Database(database_url)
    await migrate.upgrade(database)
    keyring = Keyring(SECRET.encode())
    due = utcnow() - timedelta(seconds=5)
    async with database.session() as session, session.begin():
        arrival = await participants.arrive(
            session,
            keyring,
            channel="telegram",
            channel_user_id=str(first_id),
            address=str(first_id),
            language="da",
        )
        assert arrival is not None
        first = arrival.participant
        shared = {
            column.key: getattr(first, column.key)
            for column in Participant.__table__.columns
            if column.key not in {"id", "pseudonym", "sealed_address"}
        }
        persons = [first]
        for chat in map(str, range(first_id + 1, first_id + people)):
            pseudonym = keyring.pseudonym("telegram", chat)
            sealed = keyring.seal(chat, pseudonym)
            persons.append(Participant(pseudonym=pseudonym, sealed_address=sealed, **shared))
        session.add_all(persons)
        await session.flush()
        for person in persons:
            checkins.add(session, person.id, due)
    await database.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--crisis-every", type=float, default=2.0,
                        help="a crisis message every so many seconds during the burst (0: none)")
    args = parser.parse_args()
    double = Process(
        "double",
        *python("-m", "bench.double_server", "--people", str(args.people),
                "--crisis-every", str(args.crisis_every)),
    )
    await double.start()
    url = (await double.line()).removeprefix("URL ")
    first_id = int((await double.line()).removeprefix("FIRST_ID "))
    with tempfile.TemporaryDirectory() as workdir:
        database_url = f"sqlite+aiosqlite:///{workdir}/snakkes.db"
        await plan(database_url, first_id, args.people)
        env = {
            "SNAKKES_TELEGRAM_TOKEN": TOKEN,
            "SNAKKES_TELEGRAM_API_URL": url,
            "SNAKKES_DATABASE_URL": database_url,
            "SNAKKES_SERVICE_DATA_DIR": workdir,
            "SNAKKES_SECURITY_SECRET_KEY": SECRET,
            "SNAKKES_WEB_PORT": str(free_port()),
            "SNAKKES_SERVICE_LOG_LEVEL": "WARNING",
            "SNAKKES_CHECKINS_QUIET_START": "00:00",  # equal: no quiet hours in a benchmark
            "SNAKKES_CHECKINS_QUIET_END": "00:00",
        }
        snakkes = Process(
            "snakkes", str(Path(sys.executable).with_name("snakkes")), "run", env=env
        )
        await snakkes.start()
        try:
            result = json.loads((await double.line(wait=1200)).removeprefix("RESULT "))
        finally:
            await snakkes.stop()
            await double.stop()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "checkin_burst.json").write_text(json.dumps(result, indent=2) + "\n")
    print(" | ".join(f"{k}: {v}" for k, v in result.items()))


if __name__ == "__main__":
    asyncio.run(main())
