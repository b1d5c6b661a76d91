"""Malformed requests get a 4xx (or a `bad_frame`), never a 500; and what is logged about
them is at most one quiet line: no traceback, no address, no header."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from collections.abc import Iterator

import aiohttp
import pytest

from bot import logs
from bot.dashboard.auth import hash_password
from storage import coordinators
from storage.types import utcnow
from tests.e2e.conftest import Snakkes, StartSnakkes
from tests.e2e.webchat import WebClient

MARKER = "Zq7MarkerSecret"
PASSWORD = "a long and good password"


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """What `snakkes run` would write, at the most talkative level."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    root.handlers[:] = [h for h in handlers if type(h).__name__ != "_SnakkesHandler"]
    stream = io.StringIO()
    logs.configure("DEBUG")  # as `snakkes run` does; then its handler writes to `stream`
    for handler in root.handlers:
        if type(handler).__name__ == "_SnakkesHandler":
            handler.setStream(stream)  # type: ignore[attr-defined]
    try:
        yield stream
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


async def _raw(snakkes: Snakkes, request: bytes) -> int:
    """Send bytes no well-behaved client would; the status of the answer."""
    reader, writer = await asyncio.open_connection(snakkes.settings.web.host,
                                                   snakkes.settings.web.port)
    try:
        writer.write(request)
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 10)
    finally:
        writer.close()
        await writer.wait_closed()
    return int(status_line.split()[1])


async def test_malformed_requests_get_4xx_and_one_quiet_line(
    start_snakkes: StartSnakkes, log_output: io.StringIO
) -> None:
    snakkes = await start_snakkes(telegram_mode="webhook")
    body = b'{"update_id": 1}'
    webhook = (b"POST /telegram/webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Content-Length: %d\r\nX-Telegram-Bot-Api-Secret-Token: %s\r\n\r\n%s")
    # Not UTF-8 in the secret header; a secret with a NUL at the end (aiohttp refuses the
    # header line itself).
    assert await _raw(snakkes, webhook % (len(body), b"\xff\xfe" + MARKER.encode(), body)) == 401
    assert await _raw(snakkes, webhook % (len(body), MARKER.encode() + b"\x00", body)) == 400
    # Not UTF-8 in the dashboard's cookie.
    cookie = b"GET /dashboard HTTP/1.1\r\nHost: x\r\nCookie: snakkes_dashboard=\xff%s\r\n\r\n"
    assert await _raw(snakkes, cookie % MARKER.encode()) in (302, 400)

    async with snakkes.service.database.session() as session, session.begin():
        await coordinators.add(session, "anna", "example", hash_password(PASSWORD),
                               admin=False, now=utcnow())
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(f"{snakkes.url}/dashboard/login") as page:
            token = re.search(r'name="csrf" value="([^"]+)"', await page.text())
        assert token
        await http.post(f"{snakkes.url}/dashboard/login",
                        data={"name": "anna", "password": PASSWORD, "csrf": token.group(1)})
        for query in ("from=9999-12-01&to=9999-12-31", "from=0001-01-01&to=9999-12-31",
                      "from=2026-01-01&to=9999-12-31&granularity=day", "year=%C2%B2",
                      "year=" + "9" * 5000, "year=-1&per=%FF", "org=%00&lang=%FF"):
            for path in ("/dashboard", "/dashboard/export.csv", "/dashboard/export.json"):
                async with http.get(f"{snakkes.url}{path}?{query}") as answer:
                    assert answer.status < 500, (path, query)

    async with WebClient(snakkes.url) as client:
        await client.open_page()
        async with client.socket() as sock:
            for frame in ("[" * 5000 + "]" * 5000,
                          '{"type": "ack", "seqs": [' + "9" * 4000 + "]}",
                          '{"type": "ack", "seqs": [-1, 0]}',
                          '{"type": "message", "id": "abcdefgh1", "text": ' + "[" * 3000 + "]"
                          * 3000 + "}"):
                await sock.ws.send_str(frame)
                answer = await sock.receive()
                assert answer["type"] == "error"
                assert answer["code"] == "bad_frame"
            _, ack = await sock.say("/start")  # and the session goes on
            assert ack["type"] == "ack"
        assert json.dumps(ack)

    await snakkes.stop()
    written = log_output.getvalue()
    assert "Traceback" not in written
    assert "127.0.0.1" not in written
    assert MARKER not in written
    assert "X-Telegram" not in written
    assert "\x00" not in written
    assert "Error handling request" not in written
    bad_request_lines = [line for line in written.splitlines() if "bad request" in line]
    assert len(bad_request_lines) <= 2  # one for each request aiohttp itself refused
