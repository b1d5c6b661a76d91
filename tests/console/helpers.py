"""Playing volunteers in the browser console at the protocol level (a cookie jar and the
console's socket), and young people in the web chat and on Telegram."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

from tests.e2e.conftest import Snakkes
from tests.e2e.webchat import WAIT, Socket, WebClient, choice_data
from tests.volunteers.helpers import invite_code

PASSWORD = "a long enough password"


def field(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no field {name} in the page"
    return found.group(1)


class Volunteer:
    """One browser of a volunteer: the console's cookies, and its socket."""

    def __init__(self, snakkes: Snakkes, alias: str) -> None:
        self.snakkes = snakkes
        self.alias = alias
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""

    async def close(self) -> None:
        await self.http.close()

    async def sign_up(self, code: str, *, password: str = PASSWORD,
                      again: str | None = None, alias: str | None = None,
                      accept: bool = True) -> aiohttp.ClientResponse:
        async with self.http.get(f"{self.snakkes.url}/console/signup") as page:
            token = field(await page.text(), "csrf")
        form = {"csrf": token, "lang": "da", "code": code, "alias": alias or self.alias,
                "password": password, "password2": password if again is None else again}
        if accept:
            form["accept"] = "yes"
        response = await self.http.post(f"{self.snakkes.url}/console/signup", data=form,
                                        allow_redirects=False)
        if response.status == 302:
            await self.read_csrf()
        return response

    async def log_in(self, password: str = PASSWORD, org: str = "example"
                     ) -> aiohttp.ClientResponse:
        async with self.http.get(f"{self.snakkes.url}/console/login") as page:
            token = field(await page.text(), "csrf")
        response = await self.http.post(
            f"{self.snakkes.url}/console/login", allow_redirects=False,
            data={"csrf": token, "alias": self.alias, "password": password, "org": org},
        )
        if response.status == 302:
            await self.read_csrf()
        return response

    async def read_csrf(self) -> None:
        async with self.http.get(f"{self.snakkes.url}/console") as page:
            # The console page, or the code set-up it sends to first (the same token).
            found = re.search(r'(?:data-csrf|name="csrf" value)="([^"]+)"', await page.text())
            assert found, "no session token in the page"
            self.csrf = found.group(1)

    @asynccontextmanager
    async def console(self) -> AsyncIterator[Console]:
        ws = await self.http.ws_connect(f"{self.snakkes.url}/console/ws",
                                        headers={"Origin": self.snakkes.url})
        console = Console(ws)
        try:
            await console.send({"type": "hello", "csrf": self.csrf})
            await console.state()
            yield console
        finally:
            await ws.close()


async def signed_up(snakkes: Snakkes, alias: str, role: str = "volunteer") -> Volunteer:
    volunteer = Volunteer(snakkes, alias)
    response = await volunteer.sign_up(await invite_code(snakkes, role=role))
    assert response.status == 302, await response.text()
    return volunteer


class Console:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.last: dict[str, Any] = {}
        self.results: list[dict[str, Any]] = []
        self.whispers: list[dict[str, Any]] = []

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send_str(json.dumps(frame))

    async def receive(self) -> dict[str, Any]:
        message = await self.ws.receive(timeout=WAIT)
        if message.type is not aiohttp.WSMsgType.TEXT:
            raise ConnectionError(f"console closed: {message.type.name} {self.ws.close_code}")
        frame: dict[str, Any] = json.loads(message.data)
        if frame["type"] == "state":
            self.last = frame
        elif frame["type"] == "result":
            self.results.append(frame)
        elif frame["type"] == "whisper":
            self.whispers.append(frame)
        elif frame["type"] == "line":  # the volunteer's own line, sent without a state
            for talk in self.last.get("talks", []):
                if talk["card"]["id"] == frame["id"]:
                    talk["lines"].append(frame["line"])
        return frame

    async def state(self, until: Callable[[dict[str, Any]], bool] = lambda _: True
                    ) -> dict[str, Any]:
        """The next state frame for which `until` holds (the last one if it already does)."""
        if self.last and until(self.last):
            return self.last
        async with asyncio.timeout(WAIT):
            while True:
                frame = await self.receive()
                if frame["type"] == "state" and until(frame):
                    return frame

    async def move(self, frame: dict[str, Any]) -> dict[str, Any]:
        """Send a move; its result frame."""
        count = len(self.results)
        await self.send(frame)
        async with asyncio.timeout(WAIT):
            while len(self.results) <= count:
                await self.receive()
        return self.results[count]

    async def say(self, row: int, text: str) -> dict[str, Any]:
        return await self.move({"type": "say", "id": row, "text": text})

    def talk(self, row: int) -> dict[str, Any]:
        return next(t for t in self.last["talks"] if t["card"]["id"] == row)

    def lines(self, row: int) -> list[str]:
        return [line["text"] for line in self.talk(row)["lines"]]


@asynccontextmanager
async def web_young(base_url: str) -> AsyncIterator[Socket]:
    """A young person's web chat session with its socket open."""
    async with WebClient(base_url) as client:
        await client.open_page()
        async with client.socket() as sock:
            yield sock


async def web_young_to_queue(sock: Socket, note: str | None = None) -> list[dict[str, Any]]:
    """A web chat person from /start through the welcome to the queue."""
    messages, _ = await sock.say("/start")
    for label in ("Okay", "helst ikke", "Ikke nu", "Tale med et menneske"):
        messages, _ = await sock.press(choice_data(messages[-1], label))
    if note is None:
        messages, _ = await sock.press(choice_data(messages[-1], "uden besked"))
        return messages
    messages, _ = await sock.press(choice_data(messages[-1], "Skriv en besked"))
    messages, _ = await sock.say(note)
    messages, _ = await sock.press(choice_data(messages[-1], "Ja"))
    return messages


async def next_web_message(sock: Socket, containing: str, wait: float = WAIT
                           ) -> dict[str, Any]:
    """Wait for a pushed message to the web person containing `containing`; ack it."""
    async with asyncio.timeout(wait):
        while True:
            try:
                frame = await sock.receive()
            except TimeoutError:  # one receive's own limit; the deadline is `wait`
                continue
            if frame["type"] == "message":
                await sock.ack([frame])
                if containing in frame["text"]:
                    return frame


def scan(path: Path, markers: list[str]) -> list[str]:
    """Which markers are in the database file or its WAL, as bytes."""
    found = []
    for file in (path, path.with_name(path.name + "-wal")):
        if not file.exists():
            continue
        data = file.read_bytes()
        found += [f"{m} in {file.name}" for m in markers if m.encode() in data]
    return found

