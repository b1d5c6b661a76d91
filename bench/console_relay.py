"""The volunteer console: how fast a volunteer's message reaches a young person in the web
chat with 50 conversations running at once, and the console page's weight and first paint
on a (throttled) phone.

`snakkes run` (SQLite, no Telegram) runs in its own process. This process plays 50
volunteers (each signed up from an invite, its console socket open) and 50 young people in
the web chat (each in the queue, then taken). Every volunteer then writes at random
moments, `--rate` messages a second in all; the latency of each is from the volunteer's
`say` frame leaving to the young person's socket receiving the message (which it
acknowledges, as the page does). Writes bench/results/console.json.

    python -m bench.console_relay [--conversations 50] [--messages 1000] [--rate 25]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench import report
from bench.inbound import RESULTS, percentile
from bench.procs import Process, free_port, healthy, usage
from storage.db import Database
from storage.types import utcnow
from volunteers import invites

PASSWORD = "a benchmark password"  # noqa: S105 - a throwaway account
CHROMIUM = Path("/usr/bin/chromium")
_TOKEN = re.compile(r"BENCH-[0-9a-f]{12}")


class Young:
    def __init__(self, base: str, number: int) -> None:
        self.base = base
        # Each from an address of its own (127.0.0.0/8 is all loopback), as real people
        # are: the web chat's limits are per address.
        connector = aiohttp.TCPConnector(local_addr=(f"127.0.1.{number + 1}", 0))
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                          connector=connector)
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.arrived: dict[str, float] = {}
        self.waiters: dict[str, asyncio.Future[float]] = {}

    async def request(self, frame: dict[str, Any]) -> list[dict[str, Any]]:
        assert self.ws is not None
        frame["id"] = secrets.token_hex(8)
        await self.ws.send_str(json.dumps(frame))
        messages = []
        while True:
            received = json.loads((await self.ws.receive(timeout=30)).data)
            if received["type"] == "message":
                messages.append(received)
            elif received.get("id") == frame["id"]:
                await self.ack(messages)
                return messages

    async def ack(self, messages: list[dict[str, Any]]) -> None:
        assert self.ws is not None
        seqs = [m["seq"] for m in messages if m.get("seq") is not None]
        if seqs:
            await self.ws.send_str(json.dumps({"type": "ack", "seqs": seqs}))

    async def to_queue(self) -> None:
        async with self.http.get(self.base + "/") as page:
            await page.read()
        self.ws = await self.http.ws_connect(self.base + "/ws")
        await self.ws.send_str(json.dumps({"type": "hello", "lang": "da"}))
        await self.ws.receive(timeout=30)
        messages = await self.request({"type": "message", "text": "/start"})
        for label in ("Okay", "helst ikke", "Ikke nu", "Tale med et menneske",
                      "uden besked"):
            data = next(c["data"] for row in messages[-1]["choices"] for c in row
                        if label in c["label"])
            messages = await self.request({"type": "choice", "data": data})

    async def listen(self) -> None:
        """Receive pushed messages; note when each benchmark token arrived."""
        assert self.ws is not None
        async for message in self.ws:
            if message.type is not aiohttp.WSMsgType.TEXT:
                return
            frame = json.loads(message.data)
            if frame.get("type") != "message":
                continue
            now = time.perf_counter()
            await self.ack([frame])
            found = _TOKEN.search(frame.get("text", ""))
            if found and (waiter := self.waiters.pop(found.group(0), None)):
                waiter.set_result(now)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        await self.http.close()


class Volunteer:
    def __init__(self, base: str, alias: str) -> None:
        self.base = base
        self.alias = alias
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.state: dict[str, Any] = {}
        self.changed = asyncio.Event()
        self.results: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def sign_up(self, code: str) -> None:
        async with self.http.get(f"{self.base}/console/signup") as page:
            token = re.search(r'name="csrf" value="([^"]+)"', await page.text()).group(1)  # type: ignore[union-attr]
        async with self.http.post(f"{self.base}/console/signup", data={
            "csrf": token, "code": code, "alias": self.alias, "password": PASSWORD,
            "password2": PASSWORD, "accept": "yes", "lang": "da",
        }) as response:
            html = await response.text()
        csrf = re.search(r'data-csrf="([^"]+)"', html)
        assert csrf, "sign-up failed"
        self.ws = await self.http.ws_connect(f"{self.base}/console/ws",
                                             headers={"Origin": self.base})
        await self.ws.send_str(json.dumps({"type": "hello", "csrf": csrf.group(1)}))

    async def listen(self) -> None:
        assert self.ws is not None
        async for message in self.ws:
            if message.type is not aiohttp.WSMsgType.TEXT:
                return
            frame = json.loads(message.data)
            if frame["type"] == "state":
                self.state = frame
                self.changed.set()
            elif frame["type"] == "result":
                await self.results.put(frame)

    async def move(self, frame: dict[str, Any]) -> dict[str, Any]:
        assert self.ws is not None
        await self.ws.send_str(json.dumps(frame))
        return await asyncio.wait_for(self.results.get(), 30)

    async def take_someone(self) -> int:
        while True:
            for card in self.state.get("queue", []):
                if (await self.move({"type": "take", "id": card["id"]}))["ok"]:
                    return int(card["id"])
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), 30)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        await self.http.close()


async def relay(base: str, database_url: str, conversations: int, messages: int,  # noqa: PLR0917
                rate: float, pid: int) -> dict[str, Any]:
    database = Database(database_url)
    async with database.session() as session, session.begin():
        codes = [invites.create(session, "example", "volunteer", now=utcnow(),
                                valid_for=invites.parse_duration("1d"))
                 for _ in range(conversations)]
    await database.close()
    aliases = [f"Frivillig {chr(65 + i // 26)}{chr(97 + i % 26)}" for i in range(conversations)]
    volunteers = [Volunteer(base, alias) for alias in aliases]
    young = [Young(base, number) for number in range(conversations)]
    tasks: list[asyncio.Task[None]] = []
    try:
        for volunteer, code in zip(volunteers, codes, strict=True):
            await volunteer.sign_up(code)
            tasks.append(asyncio.create_task(volunteer.listen()))
        for volunteer in volunteers:
            await volunteer.move({"type": "available", "value": True})
        pairs = []
        # One at a time (an organisation lets 20 wait at most): a young person joins the
        # queue, the next volunteer takes them.
        for volunteer, person in zip(volunteers, young, strict=True):
            await person.to_queue()
            while not volunteer.state.get("queue"):
                volunteer.changed.clear()
                await asyncio.wait_for(volunteer.changed.wait(), 30)
            pairs.append((volunteer, await volunteer.take_someone(), person))
            tasks.append(asyncio.create_task(person.listen()))
        before = usage(pid)
        print(f"measuring (service pid {pid})", file=sys.stderr, flush=True)  # for py-spy
        latencies = await _measure(pairs, messages, rate)
        after = usage(pid)
    finally:
        for task in tasks:
            task.cancel()
        for client in (*volunteers, *young):
            await client.close()
    ms = [value * 1000 for value in latencies]
    return {
        "conversations": conversations,
        "messages": len(ms),
        "offered_rate": rate,
        "lost": messages - len(ms),
        "p50_ms": round(statistics.median(ms), 2),
        "p95_ms": round(percentile(ms, 0.95), 2),
        "p99_ms": round(percentile(ms, 0.99), 2),
        "max_ms": round(max(ms), 2),
        # The service's CPU while the messages flowed (consoles refreshing included).
        "cpu_seconds_per_1000": round((after.cpu_seconds - before.cpu_seconds)
                                      / max(1, len(ms)) * 1000, 3),
    }


async def _measure(pairs: list[tuple[Volunteer, int, Young]], messages: int, rate: float
                   ) -> list[float]:
    latencies: list[float] = []
    loop = asyncio.get_running_loop()

    async def one(volunteer: Volunteer, row: int, person: Young) -> None:
        token = f"BENCH-{secrets.token_hex(6)}"
        arrival = loop.create_future()
        person.waiters[token] = arrival
        started = time.perf_counter()
        assert volunteer.ws is not None
        await volunteer.ws.send_str(json.dumps(
            {"type": "say", "id": row, "text": f"Hvordan går det i dag? {token}"}))
        try:
            latencies.append(await asyncio.wait_for(arrival, 30) - started)
        except TimeoutError:
            person.waiters.pop(token, None)

    sends = []
    for _ in range(messages):
        await asyncio.sleep(random.expovariate(rate))
        sends.append(asyncio.create_task(one(*random.choice(pairs))))
    await asyncio.gather(*sends)
    return latencies


async def page_figures(base: str, database_url: str) -> dict[str, Any]:
    """Bytes of the console page with its script and style, and first paint on a phone
    (360 px wide, CPU slowed down four times) in Debian's Chromium."""
    database = Database(database_url)
    async with database.session() as session, session.begin():
        code = invites.create(session, "example", "volunteer", now=utcnow(),
                              valid_for=invites.parse_duration("1d"))
    await database.close()
    volunteer = Volunteer(base, "Telefon")
    await volunteer.sign_up(code)
    sizes = {}
    for name, path in (("page", "/console"), ("script", "/console/static/console.js"),
                       ("style", "/console/static/console.css")):
        async with volunteer.http.get(base + path) as response:
            sizes[f"{name}_bytes"] = len(await response.read())
    cookies = [{"name": c.key, "value": c.value, "url": base + "/console"}
               for c in volunteer.http.cookie_jar]
    await volunteer.close()
    figures: dict[str, Any] = {**sizes, "total_bytes": sum(sizes.values())}
    if not await asyncio.to_thread(CHROMIUM.exists):
        return figures
    from playwright.async_api import async_playwright  # noqa: PLC0415 - optional here

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM),
                                                   args=["--no-sandbox", "--disable-gpu"])
        context = await browser.new_context(viewport={"width": 360, "height": 780},
                                            is_mobile=True, has_touch=True)
        await context.add_cookies(cookies)  # type: ignore[arg-type]
        page = await context.new_page()
        cdp = await context.new_cdp_session(page)
        await cdp.send("Emulation.setCPUThrottlingRate", {"rate": 4})
        paints = []
        for _ in range(5):
            await page.goto(base + "/console", wait_until="load")
            paint = await page.wait_for_function(
                "() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime")
            paints.append(float(await paint.json_value()))
        await browser.close()
    figures["first_contentful_paint_ms"] = round(statistics.median(paints), 1)
    return figures


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=25.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        port = free_port()
        database_url = f"sqlite+aiosqlite:///{workdir}/snakkes.db"
        snakkes = str(Path(sys.executable).with_name("snakkes"))
        service = Process("snakkes", snakkes, "run", env={
            "SNAKKES_TELEGRAM_TOKEN": "",
            "SNAKKES_DATABASE_URL": database_url,
            "SNAKKES_SERVICE_DATA_DIR": workdir,
            "SNAKKES_SECURITY_SECRET_KEY": "bench-" + "k" * 40,
            "SNAKKES_WEB_PORT": str(port),
            "SNAKKES_SERVICE_LOG_LEVEL": "WARNING",
        })
        await service.start()
        base = f"http://127.0.0.1:{port}"
        try:
            await healthy(base, "snakkes", 30)
            result = await relay(base, database_url, args.conversations, args.messages,
                                 args.rate, service.pid)
            result |= await page_figures(base, database_url)
        finally:
            await service.stop()
    result["note"] = _note(result)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "console.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result))


def _note(result: dict[str, Any]) -> str:
    load = Path("/proc/loadavg").read_text().split()[0]
    return (
        f"Measured {utcnow():%Y-%m-%d %H:%M} UTC on commit `{report.commit()}` (load average "
        f"{load} on the machine at the end). Latency is from the volunteer's `say` frame "
        "leaving to the web chat socket receiving the message, at "
        f"{result['offered_rate']:g} messages a second over {result['conversations']} "
        "conversations; CPU is the service's own while they flowed. The page: "
        f"{result.get('page_bytes', 0):,} bytes of HTML, {result.get('script_bytes', 0):,} "
        f"of script, {result.get('style_bytes', 0):,} of style, uncompressed; first "
        "contentful paint in Chromium at 360 px with the CPU slowed four times (median of 5)."
    )



if __name__ == "__main__":
    asyncio.run(main())
