"""The web chat across instances on one PostgreSQL: how soon a message stored by one instance
reaches a socket held by another (issue #13: under 200 ms at p99).

Instance B is `snakkes run` in its own process (no Telegram), holding `--people` web chat
sockets. Instance A is the service built in this process on the same database (no web
server): it writes each message the way a check-in or a volunteer's relay does
(`ChannelOutbox.send`: an outbox row, then its sender stores it in the web chat's mailbox
and announces it with `pg_notify`); B hears it (LISTEN), reads the person's pending
messages and pushes them. Latency is from A's `send` call to B's socket receiving the
frame; `--rate` messages a second at random moments over the people. Nothing arrives
through the 10-second sweep unless a notification is lost; `via_sweep` counts the
messages later than 5 s. Writes bench/results/webchat_instances.json.

    python -m bench.webchat_instances --postgres URL [--people 50] [--messages 1000] [--rate 25]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench import report
from bench.inbound import RESULTS, Bot, database_for, percentile
from bench.procs import Process, free_port, healthy, usage
from bot.config import load_settings
from bot.service import Service
from bot.webchat.session import COOKIE, session_key
from dialogues.messages import Outbound
from storage import webchat

STORED: list[float] = []  # ms from A's `send` call until it returned (stored, announced)
SECRET = "bench-" + "k" * 40


class Person:
    def __init__(self, base: str, number: int) -> None:
        self.base = base
        # Each from an address of its own: the web chat's limits are per address.
        connector = aiohttp.TCPConnector(local_addr=(f"127.0.2.{number % 250 + 1}", 0))
        self.http = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True), connector=connector
        )
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.waiters: dict[str, asyncio.Future[float]] = {}

    @property
    def key(self) -> str:
        token = next(c.value for c in self.http.cookie_jar if c.key == COOKIE)
        return session_key(token)

    async def join(self) -> None:
        async with self.http.get(self.base + "/") as page:
            await page.read()
        self.ws = await self.http.ws_connect(self.base + "/ws")
        await self.ws.send_str(json.dumps({"type": "hello", "lang": "da"}))
        await self.ws.receive(timeout=30)
        frame_id = secrets.token_hex(8)
        await self.ws.send_str(json.dumps({"type": "message", "id": frame_id, "text": "/start"}))
        seqs = []
        while True:
            frame = json.loads((await self.ws.receive(timeout=60)).data)
            if frame["type"] == "message":
                seqs.append(frame["seq"])
            elif frame.get("id") == frame_id:
                break
        await self.ws.send_str(json.dumps({"type": "ack", "seqs": seqs}))

    async def listen(self) -> None:
        assert self.ws is not None
        async for message in self.ws:
            if message.type is not aiohttp.WSMsgType.TEXT:
                return
            frame = json.loads(message.data)
            if frame.get("type") != "message":
                continue
            now = time.perf_counter()
            await self.ws.send_str(json.dumps({"type": "ack", "seqs": [frame["seq"]]}))
            waiter = self.waiters.pop(frame.get("text", ""), None)
            if waiter is not None and not waiter.done():
                waiter.set_result(now)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        await self.http.close()


def environment(database_url: str, workdir: str, port: int) -> dict[str, str]:
    return {
        "SNAKKES_DATABASE_URL": database_url,
        "SNAKKES_SERVICE_DATA_DIR": workdir,
        "SNAKKES_SECURITY_SECRET_KEY": SECRET,
        "SNAKKES_WEB_PORT": str(port),
        "SNAKKES_TELEGRAM_TOKEN": "",
        "SNAKKES_SERVICE_LOG_LEVEL": "WARNING",
        # The web chat's own path is measured, not the safety net's model.
        "SNAKKES_SAFETY_CLASSIFIER": "off",
    }


async def measure(postgres: str, people: int, messages: int, rate: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as workdir:
        async with database_for(Bot("pg", postgres), Path(workdir)) as url:
            env = environment(url, workdir, free_port())
            settings = load_settings(None, env)
            one = Service.build(settings)
            await one.start()  # migrates the fresh database before B starts
            snakkes = str(Path(sys.executable).with_name("snakkes"))
            two = Process("instance-b", snakkes, "run", env=env)
            await two.start()
            base = f"http://127.0.0.1:{env['SNAKKES_WEB_PORT']}"
            crowd: list[Person] = []
            listening: list[asyncio.Task[None]] = []
            try:
                await healthy(base, "instance B", 60)
                crowd = [Person(base, n) for n in range(people)]
                for group in range(0, people, 10):
                    await asyncio.gather(*(p.join() for p in crowd[group : group + 10]))
                listening = [asyncio.create_task(p.listen()) for p in crowd]
                ids = await _participant_ids(one, crowd)
                before = usage(two.pid)
                latencies = await _send(one, crowd, ids, messages, rate)
                after = usage(two.pid)
            finally:
                for task in listening:
                    task.cancel()
                await asyncio.gather(*listening, return_exceptions=True)
                for person in crowd:
                    await person.close()
                await two.stop()
                await one.stop()
    arrived = [value for value in latencies if value is not None]
    return {
        "people": people,
        "messages": messages,
        "offered_rate": rate,
        "lost": len(latencies) - len(arrived),
        "via_sweep": sum(1 for value in arrived if value > 5000),
        "p50_ms": round(statistics.median(arrived), 2),
        "p95_ms": round(percentile(arrived, 0.95), 2),
        "p99_ms": round(percentile(arrived, 0.99), 2),
        "max_ms": round(max(arrived), 2),
        "receiver_cpu_seconds_per_1000": round(
            (after.cpu_seconds - before.cpu_seconds) / messages * 1000, 3
        ),
        # A's side: from `send` until its sender had stored and announced the message.
        "stored_p50_ms": round(statistics.median(STORED), 2),
        "stored_p99_ms": round(percentile(STORED, 0.99), 2),
        "load_average": round(os.getloadavg()[0], 2),
    }



async def _participant_ids(one: Service, crowd: list[Person]) -> list[int]:
    keyring = one.core.keyring
    ids = []
    async with one.database.session() as session:
        for person in crowd:
            pseudonym = keyring.pseudonym("web", person.key)
            found = await webchat.participant_by_pseudonym(session, pseudonym)
            if found is None:
                raise RuntimeError("a web chat person was not stored")
            ids.append(found.id)
    return ids


async def _send(
    one: Service, crowd: list[Person], ids: list[int], messages: int, rate: float
) -> list[float | None]:
    assert one.outbox is not None
    outbox = one.outbox
    randomly = random.Random(13)

    async def one_message(n: int) -> float | None:
        who = randomly.randrange(len(crowd))
        text = f"BENCH-{n:06d}"
        arrived: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        crowd[who].waiters[text] = arrived
        started = time.perf_counter()
        await outbox.send(ids[who], Outbound(text))
        STORED.append((time.perf_counter() - started) * 1000)
        try:
            return (await asyncio.wait_for(arrived, 30) - started) * 1000
        except TimeoutError:
            return None

    tasks = []
    for n in range(messages):
        tasks.append(asyncio.create_task(one_message(n)))
        await asyncio.sleep(randomly.expovariate(rate))
    return list(await asyncio.gather(*tasks))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=os.environ.get("SNAKKES_BENCH_POSTGRES_URL", ""))
    parser.add_argument("--people", type=int, default=50)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=25.0)
    args = parser.parse_args()
    if not args.postgres:
        raise SystemExit("PostgreSQL only: give --postgres URL or SNAKKES_BENCH_POSTGRES_URL")
    result = await measure(args.postgres, args.people, args.messages, args.rate)
    result["commit"] = report.commit()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "webchat_instances.json").write_text(json.dumps([result], indent=1) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
