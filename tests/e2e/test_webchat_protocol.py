"""The web chat at the protocol level, against the real service: the session cookie, the
security headers, the socket protocol (ids, acks, sequence numbers, resends), size and rate
limits, the outbox for web people, and erasing."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.webchat.channel import CHANNEL, CLOSE_ERASED, CLOSE_NO_SESSION
from bot.webchat.routes import STATIC_DIR
from dialogues.messages import Delivery, Outbound
from storage.models import Participant, WebchatMessage
from tests.botapi import BotApiDouble
from tests.e2e.conftest import Snakkes, StartSnakkes
from tests.e2e.webchat import WebClient, choice_data, new_id, rows_about_people, web_outbox

pytestmark = pytest.mark.usefixtures("double")


@pytest.fixture
async def snakkes(start_snakkes: StartSnakkes) -> Snakkes:
    """The service without Telegram: the web chat needs none."""
    return await start_snakkes(telegram_token="")


@pytest.fixture
async def snakkes_on_each_database(start_snakkes: StartSnakkes, database_url: str) -> Snakkes:
    """The same, on SQLite and (when configured) PostgreSQL."""
    return await start_snakkes(telegram_token="", database_url=database_url)


async def _count(snakkes: Snakkes, model: type) -> int:
    async with snakkes.service.database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _participant(snakkes: Snakkes, client: WebClient) -> Participant | None:
    pseudonym = snakkes.service.core.keyring.pseudonym(CHANNEL, client.session_key)
    async with snakkes.service.database.session() as session:
        return await session.scalar(select(Participant).where(Participant.pseudonym == pseudonym))


async def test_the_page_hands_out_one_anonymous_session_cookie(snakkes: Snakkes) -> None:
    async with WebClient(snakkes.url) as client:
        response = await client.open_page()
        assert response.status == 200
        assert response.content_type == "text/html"
        assert response.headers["Cache-Control"] == "no-store"
        cookie = response.cookies["snakkes_session"]
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}", cookie.value)
        assert cookie["httponly"] is True
        assert cookie["samesite"] == "Strict"
        assert cookie["path"] == "/"
        assert not cookie["secure"]  # plain HTTP here; see below for HTTPS
        again = await client.open_page()
        assert "snakkes_session" not in again.cookies  # the session is kept, not renewed

    async with (
        aiohttp.ClientSession() as http,
        http.get(snakkes.url + "/", headers={"X-Forwarded-Proto": "https"}) as behind_tls,
    ):
        assert behind_tls.cookies["snakkes_session"]["secure"] is True
        assert "max-age=31536000" in behind_tls.headers["Strict-Transport-Security"]


async def test_a_token_the_server_did_not_issue_is_replaced(snakkes: Snakkes) -> None:
    """Session fixation: a made-up cookie of the right shape (or an issued one with its tag
    changed) is neither used nor kept; the page gets a fresh one, a socket is refused."""
    made_up = ["x" * 43, "Q" * 43 + "." + "Q" * 43]
    async with WebClient(snakkes.url) as issued:
        await issued.open_page()
        body, _, tag = issued.token.partition(".")
    made_up.append(f"{body}.{'A' if tag[:1] != 'A' else 'B'}{tag[1:]}")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        for token in made_up:
            cookie = {"Cookie": f"snakkes_session={token}"}
            async with http.get(snakkes.url + "/", headers=cookie) as page:
                assert "snakkes_session" in page.cookies, f"{token!r} was kept"
                fresh = page.cookies["snakkes_session"].value
                assert fresh != token
                assert re.fullmatch(r"[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}", fresh)
            async with http.post(snakkes.url + "/session",
                                 headers={**cookie, "X-Snakkes": "1"}) as renewed:
                assert renewed.cookies["snakkes_session"].value not in ("", token)
            async with http.ws_connect(snakkes.url + "/ws", headers=cookie) as ws:
                closed = await ws.receive(timeout=5)
                assert closed.type is aiohttp.WSMsgType.CLOSE
                assert closed.data == CLOSE_NO_SESSION
    assert await _count(snakkes, Participant) == 0


async def test_every_response_has_the_security_headers(snakkes: Snakkes) -> None:
    async with aiohttp.ClientSession() as http:
        for path in ("/", "/static/app.js", "/static/style.css", "/healthz", "/nowhere"):
            async with http.get(snakkes.url + path) as response:
                csp = response.headers["Content-Security-Policy"]
                assert "script-src 'self'" in csp
                assert "style-src 'self'" in csp
                assert "frame-ancestors 'none'" in csp
                assert "unsafe-inline" not in csp
                assert "unsafe-eval" not in csp
                assert response.headers["X-Content-Type-Options"] == "nosniff"
                assert response.headers["Referrer-Policy"] == "no-referrer"
        async with http.get(snakkes.url + "/static/app.js") as script:
            assert script.headers["Content-Type"] == "text/javascript; charset=utf-8"
            etag = script.headers["ETag"]
        async with http.get(snakkes.url + "/static/app.js", headers={"If-None-Match": etag}) as r:
            assert r.status == 304
        async with http.get(snakkes.url + "/static/style.css") as style:
            assert style.headers["Content-Type"] == "text/css; charset=utf-8"
        async with http.get(snakkes.url + "/static/index.html") as page:
            assert page.status == 404  # only the listed assets, nothing else from the disk
        async with http.get(snakkes.url + "/healthz") as health:
            assert health.status == 200


def test_the_page_has_no_inline_script_or_style() -> None:
    html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []
    assert "<style" not in html
    assert re.findall(r"\sstyle=", html) == []
    assert re.findall(r"\son[a-z]+=", html) == []
    script = (STATIC_DIR / "app.js").read_text(encoding="utf-8")
    assert "innerHTML" not in script  # text only ever goes in as text
    assert "eval(" not in script


async def test_a_person_talks_over_the_socket_and_nothing_from_the_request_is_stored(
    snakkes: Snakkes, tmp_path: Path
) -> None:
    async with WebClient(snakkes.url) as client:
        await client.open_page()
        async with client.socket(lang="da") as sock:
            assert sock.ready == {"type": "ready", "known": False, "lang": "da", "pending": 0}
            [greeting], ack = await sock.say("/start")
            assert ack == {"type": "ack", "id": ack["id"], "lang": "da"}
            assert "en bot" in greeting["text"]
            assert greeting["seq"] > 0
            messages, _ = await sock.press(choice_data(greeting, "Okay"))
            assert "hvor gammel" in messages[-1]["text"]
            messages, _ = await sock.say("vil helst ikke sige det")
            assert messages

        participant = await _participant(snakkes, client)
        assert participant is not None
        assert participant.channel == "web"
        assert participant.consented_at is not None
        assert await _count(snakkes, WebchatMessage) == 0  # all acked, so all deleted
        token, key = client.token, client.session_key

    await snakkes.stop()  # the database files are complete once the service is down
    stored = b"".join(p.read_bytes() for p in (tmp_path / "var").glob("snakkes.db*"))
    for secret in (token, key, "127.0.0.1", "SnakkesTestAgent", "vil helst ikke"):
        assert secret.encode() not in stored, secret


async def test_a_resent_message_is_handled_once(snakkes: Snakkes) -> None:
    async with WebClient(snakkes.url) as client:
        await client.open_page()
        async with client.socket() as sock:
            await sock.say("/start")
            frame_id = new_id()
            first, ack = await sock.say("/help", frame_id=frame_id)
            assert len(first) == 1
            assert ack["id"] == frame_id
        # The ack was lost with the connection, say: the page sends it again.
        async with client.socket() as sock:
            again, ack = await sock.say("/help", frame_id=frame_id)
            assert again == []
            assert ack["type"] == "ack"
            assert ack["id"] == frame_id
            assert await sock.quiet()


async def test_unacknowledged_messages_are_sent_again_and_acknowledged_ones_are_not(
    snakkes_on_each_database: Snakkes,
) -> None:
    snakkes = snakkes_on_each_database
    async with WebClient(snakkes.url) as client:
        await client.open_page()
        async with client.socket() as sock:
            [greeting], _ = await sock.say("/start", ack=False)  # the page never got to ack
        assert await _count(snakkes, WebchatMessage) == 1

        async with client.socket() as sock:
            assert sock.ready["pending"] == 1
            assert sock.ready["known"] is True
            replayed = await sock.expect("message")
            assert replayed == greeting  # same seq: the page shows it once
            await sock.ack([replayed])
            await sock.ack([replayed])  # a repeated ack is harmless
            assert await sock.quiet()

        async with client.socket() as sock:
            assert sock.ready["pending"] == 0
            assert await sock.quiet()
        assert await _count(snakkes, WebchatMessage) == 0


async def test_a_check_in_waits_for_the_web_person_and_is_shown_when_they_come_back(
    snakkes_on_each_database: Snakkes,
) -> None:
    snakkes = snakkes_on_each_database
    outbox = web_outbox(snakkes.service)
    async with WebClient(snakkes.url) as client:
        await client.open_page()
        async with client.socket() as sock:
            await sock.say("/start")
        participant = await _participant(snakkes, client)
        assert participant is not None

        # Nobody is connected: the message is stored, and that counts as sent.
        assert await outbox.send(participant.id, Outbound("Hej igen – hvordan går det?")) == (
            Delivery.SENT
        )
        async with client.socket() as sock:
            assert sock.ready["pending"] == 1
            check_in = await sock.expect("message")
            assert check_in["text"] == "Hej igen – hvordan går det?"
            await sock.ack([check_in])

            # Connected: pushed at once.
            await outbox.send(participant.id, Outbound("En til"))
            live = await sock.expect("message")
            assert live["text"] == "En til"
            assert live["seq"] > check_in["seq"]
            await sock.ack([live])
        assert await _count(snakkes, WebchatMessage) == 0


async def test_message_size_limits(snakkes: Snakkes) -> None:
    async with WebClient(snakkes.url) as client:
        await client.open_page()
        async with client.socket() as sock:
            [], error = await sock.say("x" * 4097)
            assert error["code"] == "too_long"
            assert error["limit"] == 4096
            await sock.send({"type": "message", "id": new_id(), "text": "x" * 20_000})
            closed = await sock.ws.receive(timeout=5)
            assert closed.type is aiohttp.WSMsgType.CLOSE
            assert closed.data == aiohttp.WSCloseCode.MESSAGE_TOO_BIG


async def test_malformed_frames_are_refused(snakkes: Snakkes) -> None:
    async with WebClient(snakkes.url) as client:
        await client.open_page()
        async with client.socket() as sock:
            for frame in (
                "not json",
                '{"no": "type"}',
                '{"type": "message", "id": "short", "text": "hej"}',
                '{"type": "message", "id": "abcdefgh12", "text": 5}',
                '{"type": "ack", "seqs": "all"}',
                '{"type": "language", "id": "abcdefgh12", "lang": "fr"}',
                '{"type": "teleport", "id": "abcdefgh12"}',
            ):
                await sock.ws.send_str(frame)
                error = await sock.expect("error")
                assert error["code"] == "bad_frame"
            await sock.ws.send_bytes(b"\x00")
            assert (await sock.expect("error"))["code"] == "bad_frame"
        assert await _participant(snakkes, client) is None


async def test_rate_limits_per_session_and_per_address(snakkes: Snakkes) -> None:
    limits = snakkes.service.web.limits if snakkes.service.web else None
    assert limits is not None
    async with WebClient(snakkes.url) as client:
        await client.open_page()
        async with client.socket() as sock:
            burst = limits.message_per_session.burst
            ids = [new_id() for _ in range(burst + 5)]
            for frame_id in ids:
                await sock.send({"type": "message", "id": frame_id, "text": "/help"})
            answers: dict[str, dict[str, Any]] = {}
            while len(answers) < len(ids):
                frame = await sock.receive()
                if frame["type"] != "message":
                    answers[frame["id"]] = frame
            limited = [f for f in answers.values() if f["type"] == "error"]
            assert len(limited) >= 5
            assert {f["code"] for f in limited} == {"rate_limited"}
            assert all(f["retry_after"] > 0 for f in limited)

    # Several sessions from one address share the address's (larger) limit.
    per_ip = limits.message_per_ip.burst
    per_session = limits.message_per_session.burst - 2
    sessions = per_ip // per_session + 1
    limited_total = 0
    for _ in range(sessions):
        async with WebClient(snakkes.url) as client:
            await client.open_page()
            async with client.socket() as sock:
                for _ in range(per_session):
                    _, answer = await sock.say("/help")
                    limited_total += answer["type"] == "error"
    assert limited_total > 0


async def test_new_sessions_per_address_are_limited(snakkes: Snakkes) -> None:
    web = snakkes.service.web
    assert web is not None
    burst = web.limits.session_per_ip.burst
    statuses = []
    async with aiohttp.ClientSession() as http:  # no cookie jar use: a new session each time
        for _ in range(burst + 1):
            async with http.get(snakkes.url + "/", headers={"Cookie": ""}) as response:
                statuses.append(response.status)
                http.cookie_jar.clear()
    assert statuses[:burst] == [200] * burst
    assert statuses[-1] == 429


async def test_erase_removes_everything_and_ends_the_session(
    snakkes_on_each_database: Snakkes,
) -> None:
    snakkes = snakkes_on_each_database
    async with WebClient(snakkes.url) as client, WebClient(snakkes.url) as other:
        for person in (client, other):
            await person.open_page()
            async with person.socket() as sock:
                [greeting], _ = await sock.say("/start")
                await sock.press(choice_data(greeting, "Okay"))
        before = await rows_about_people(snakkes.service.database)
        assert before["participants"] == 2

        async with client.socket() as sock:
            # Not from another site, and not without the page's own header.
            for headers in ({}, {"X-Snakkes": "1", "Origin": "https://evil.example"}):
                async with client.http.post(snakkes.url + "/erase", headers=headers) as refused:
                    assert refused.status == 403
            async with client.http.post(snakkes.url + "/erase", headers={"X-Snakkes": "1"}) as r:
                assert r.status == 200
                assert r.cookies["snakkes_session"].value == ""
            closed = await sock.ws.receive(timeout=5)
            assert closed.type is aiohttp.WSMsgType.CLOSE
            assert closed.data == CLOSE_ERASED

        after = await rows_about_people(snakkes.service.database)
        assert after["participants"] == 1  # only the other person is left
        assert sum(after.values()) < sum(before.values())
        assert await _participant(snakkes, other) is not None


async def test_a_socket_needs_a_session_and_our_own_origin(snakkes: Snakkes) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(snakkes.url + "/ws") as ws:
            message = await ws.receive(timeout=5)
            assert message.type is aiohttp.WSMsgType.CLOSE
            assert message.data == CLOSE_NO_SESSION
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(snakkes.url + "/ws", origin="https://evil.example")
        assert refused.value.status == 403
        async with http.post(snakkes.url + "/session", headers={"X-Snakkes": "1"}) as response:
            assert response.cookies["snakkes_session"]["httponly"] is True


async def test_language_from_accept_language_and_switched_on_the_socket(
    snakkes: Snakkes,
) -> None:
    async with WebClient(snakkes.url, language="en-GB,en;q=0.9,da;q=0.5") as client:
        await client.open_page()
        async with client.http.get(snakkes.url + "/") as page:
            assert '<html lang="en">' in await page.text()
        async with client.socket(hello=False) as sock:
            await sock.send({"type": "hello"})
            ready = await sock.expect("ready")
            assert ready["lang"] == "en"
            [greeting], _ = await sock.say("/start")
            assert "a bot" in greeting["text"]
            switch = {"type": "language", "id": new_id(), "lang": "da"}
            [switched], ack = await sock.request(switch)
            assert switched["text"] == "Fint, nu skriver jeg på dansk."
            assert ack["lang"] == "da"
        participant = await _participant(snakkes, client)
        assert participant is not None
        assert participant.language == "da"


async def test_the_service_stops_cleanly_with_sockets_open(
    start_snakkes: StartSnakkes, double: BotApiDouble
) -> None:
    snakkes = await start_snakkes()
    async with WebClient(snakkes.url) as client:
        await client.open_page()
        async with client.socket() as sock:
            await asyncio.wait_for(snakkes.stop(), timeout=10)
            closed = await sock.ws.receive(timeout=5)
            assert closed.type is aiohttp.WSMsgType.CLOSE
            assert closed.data == aiohttp.WSCloseCode.GOING_AWAY
