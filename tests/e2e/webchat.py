"""Helpers for the web chat tests: a protocol-level client (a browser session without a
browser), the Chromium launcher, and a page object for the chat page."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
from playwright.async_api import Browser, Locator, Page, async_playwright, expect
from sqlalchemy import func, select

from bot.outbox import ChannelOutbox
from bot.service import Service
from bot.webchat.session import COOKIE, session_key
from storage.db import Database
from storage.models import Base
from tests.e2e.helpers import outbox_settled

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
AXE = ROOT / "tests" / "vendor" / "axe-core" / "axe.min.js"
WAIT = 5.0


async def rows_about_people(database: Database) -> dict[str, int]:
    """Rows in `participants` and in every table that points at a participant."""
    counts: dict[str, int] = {}
    await outbox_settled(database)
    async with database.session() as session:
        for table in Base.metadata.sorted_tables:
            refers = any(fk.column.table.name == "participants" for fk in table.foreign_keys)
            if table.name == "participants" or refers:
                counts[table.name] = int(
                    await session.scalar(select(func.count()).select_from(table)) or 0
                )
    return counts


def web_outbox(service: Service) -> ChannelOutbox:
    """An outbox like the service's, with the service's web sender: how check-ins and the
    volunteer relay write first to a web person."""
    assert service.web is not None
    assert service.outbox is not None
    return service.outbox


# -- protocol level --------------------------------------------------------------------------
class WebClient:
    """One browser session: a cookie jar, and sockets opened with its cookie."""

    def __init__(self, base_url: str, *, language: str = "da") -> None:
        self.base_url = base_url
        self.http = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True),  # the jar refuses IP hosts otherwise
            headers={"Accept-Language": language, "User-Agent": "SnakkesTestAgent/1.0"},
        )

    async def __aenter__(self) -> WebClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.close()

    async def open_page(self) -> aiohttp.ClientResponse:
        async with self.http.get(self.base_url + "/") as response:
            await response.read()
            return response

    @property
    def token(self) -> str:
        for cookie in self.http.cookie_jar:
            if cookie.key == COOKIE:
                return cookie.value
        raise AssertionError("no session cookie")

    @property
    def session_key(self) -> str:
        return session_key(self.token)

    @asynccontextmanager
    async def socket(
        self, *, hello: bool = True, lang: str | None = None
    ) -> AsyncIterator[Socket]:
        ws = await self.http.ws_connect(self.base_url + "/ws")
        sock = Socket(ws)
        try:
            if hello:
                await sock.send({"type": "hello", "lang": lang})
                sock.ready = await sock.expect("ready")
            yield sock
        finally:
            await ws.close()


class Socket:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.ready: dict[str, Any] = {}

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send_str(json.dumps(frame))

    async def receive(self) -> dict[str, Any]:
        message = await self.ws.receive(timeout=WAIT)
        if message.type is not aiohttp.WSMsgType.TEXT:
            raise ConnectionError(f"socket closed: {message.type.name} {self.ws.close_code}")
        frame: dict[str, Any] = json.loads(message.data)
        return frame

    async def expect(self, kind: str) -> dict[str, Any]:
        frame = await self.receive()
        assert frame["type"] == kind, frame
        return frame

    async def say(
        self, text: str, *, frame_id: str | None = None, ack: bool = True
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Send text; return the messages that came before the answer (ack or error)."""
        return await self.request(
            {"type": "message", "id": frame_id or new_id(), "text": text}, ack=ack
        )

    async def press(
        self, data: str, *, ack: bool = True
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        return await self.request({"type": "choice", "id": new_id(), "data": data}, ack=ack)

    async def request(
        self, frame: dict[str, Any], *, ack: bool = True
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        await self.send(frame)
        messages: list[dict[str, Any]] = []
        while True:
            received = await self.receive()
            if received["type"] == "message":
                messages.append(received)
                continue
            assert received.get("id") == frame["id"], received
            if ack:
                await self.ack(messages)
            return messages, received

    async def ack(self, messages: list[dict[str, Any]]) -> None:
        seqs = [m["seq"] for m in messages if m["seq"] is not None]
        if seqs:
            await self.send({"type": "ack", "seqs": seqs})

    async def quiet(self, seconds: float = 0.3) -> bool:
        """True when nothing arrives for a while."""
        try:
            await self.ws.receive(timeout=seconds)
        except TimeoutError:
            return True
        return False


def new_id() -> str:
    return secrets.token_hex(16)


def choice_data(message: dict[str, Any], label_part: str) -> str:
    for row in message["choices"]:
        for choice in row:
            if label_part in choice["label"]:
                return str(choice["data"])
    raise AssertionError(f"no choice with {label_part!r} in {message['choices']}")


# -- browser ---------------------------------------------------------------------------------
@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """Debian's Chromium, driven by Playwright's own driver; never a downloaded browser."""
    if not CHROMIUM.exists():  # noqa: ASYNC240 - once, before anything runs
        raise RuntimeError(
            f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium); "
            ".ci/run does this. The browser tests never download a browser."
        )
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


class ChatPage:
    """The web chat as a person sees it; steps named after what they do."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url

    async def open(self) -> ChatPage:
        await self.page.goto(self.base_url + "/")
        return self

    @property
    def bot_messages(self) -> Locator:
        return self.page.locator("#log .msg.bot .bubble")

    @property
    def my_messages(self) -> Locator:
        return self.page.locator("#log .msg.me .bubble")

    def bot_says(self, text: str) -> Locator:
        return self.bot_messages.filter(has_text=text)

    async def wait_for_bot(self, text: str) -> None:
        await expect(self.bot_says(text).last).to_be_visible(timeout=WAIT * 1000)

    async def press(self, label: str) -> None:
        button = self.page.locator("#log .choice:not([aria-disabled])").filter(has_text=label)
        await button.last.click()

    async def say(self, text: str) -> None:
        field = self.page.get_by_label("Din besked").or_(self.page.get_by_label("Your message"))
        await field.fill(text)
        await field.press("Enter")

    async def to_menu(self) -> None:
        """Through the welcome (consent, no age band, no measure) to the menu, in Danish."""
        await self.wait_for_bot("en bot")
        await self.press("Okay")
        await self.wait_for_bot("hvor gammel")
        await self.press("helst ikke")
        await self.wait_for_bot("fire korte spørgsmål")
        await self.press("Ikke nu")
        await self.wait_for_bot("Hvad har du lyst til?")

    async def sent(self) -> None:
        """Wait until nothing we wrote is still waiting for the server."""
        await expect(self.page.locator("#log .msg.me .meta", has_text="sender")).to_have_count(
            0, timeout=WAIT * 1000
        )

    async def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / name
        await self.page.screenshot(path=str(path), full_page=True)
        return path

    async def axe_violations(self) -> list[dict[str, Any]]:
        """Run the vendored axe-core in the page; serious and critical violations."""
        await self.page.evaluate(AXE.read_text(encoding="utf-8"))
        result: dict[str, Any] = await self.page.evaluate(
            "async () => await axe.run(document, {resultTypes: ['violations']})"
        )
        return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


async def eventually(check: Any) -> None:
    """Wait for an async predicate; for database state the page cannot show."""
    deadline = asyncio.get_running_loop().time() + WAIT
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)
