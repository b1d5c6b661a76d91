"""The console at the protocol level against the real service: sign-up from an invite,
log-in and log-out, headers and CSRF, the queue, take (one of two wins), talking both ways
with a young person in the web chat and on Telegram, end and debrief into the inbox."""

from __future__ import annotations

import asyncio

import aiohttp

from tests.botapi import BotApiDouble
from tests.console.conftest import EXAMPLE
from tests.console.helpers import (
    PASSWORD,
    Volunteer,
    next_web_message,
    signed_up,
    web_young,
    web_young_to_queue,
)
from tests.e2e.conftest import Snakkes
from tests.volunteers.conftest import StartWith
from tests.volunteers.helpers import invite_code


async def test_sign_up_log_in_and_out(service: Snakkes) -> None:
    code = await invite_code(service)
    sol = Volunteer(service, "Sol")
    try:
        short = await sol.sign_up(code, password="too short")
        assert short.status == 400
        assert "mindst 12 tegn" in await short.text()
        done = await sol.sign_up(code)
        assert done.status == 302
        assert done.headers["Location"] == "/console"
        cookie = done.cookies["snakkes_console"]
        assert cookie["httponly"] is True
        assert cookie["samesite"] == "Strict"
        assert cookie["path"] == "/console"
        other = Volunteer(service, "Other")
        again = await other.sign_up(code)
        assert again.status == 400
        assert "Koden kender vi ikke" in await again.text()
        await other.close()

        async with sol.http.get(f"{service.url}/console") as page:
            assert page.status == 200
            assert page.headers["Cache-Control"] == "no-store"
            csp = page.headers["Content-Security-Policy"]
            assert "script-src 'self'" in csp
            assert "frame-ancestors 'none'" in csp
            assert "'unsafe-inline'" not in csp
            assert page.headers["X-Content-Type-Options"] == "nosniff"
            assert page.headers["Referrer-Policy"] == "no-referrer"
            assert "Sol · Eksempelforeningen" in await page.text()

        refused = await sol.http.post(f"{service.url}/console/logout", data={"csrf": "nope"},
                                      allow_redirects=False)
        assert refused.status == 403
        out = await sol.http.post(f"{service.url}/console/logout", data={"csrf": sol.csrf},
                                  allow_redirects=False)
        assert out.status == 302
        async with sol.http.get(f"{service.url}/console", allow_redirects=False) as page:
            assert page.status == 302
        wrong = await sol.log_in("not the password at all")
        assert wrong.status == 401
        ok = await sol.log_in(PASSWORD)
        assert ok.status == 302
    finally:
        await sol.close()


async def test_bad_input_gets_kind_answers_not_errors(service: Snakkes) -> None:
    sol = Volunteer(service, "Sol")
    try:
        code = await invite_code(service)
        for response in (
            await sol.sign_up(code, alias="x"),
            await sol.sign_up(code, alias="R2D2"),
            await sol.sign_up(code, again="a different long password"),
            await sol.sign_up(code, accept=False),
            await sol.sign_up("NOPE-NOPE-NOPE"),
        ):
            assert response.status == 400, response.status
        expired = await sol.http.post(f"{service.url}/console/signup", data={"code": code})
        assert expired.status == 403
        async with sol.http.get(f"{service.url}/console/ws") as socket:
            assert socket.status == 401
    finally:
        await sol.close()


async def test_two_takes_at_once_one_wins(service: Snakkes) -> None:
    sol, bo = await signed_up(service, "Sol"), await signed_up(service, "Bo")
    try:
        async with web_young(service.url) as chat:
            await web_young_to_queue(chat)
            async with sol.console() as one, bo.console() as two:
                await one.move({"type": "available", "value": True})
                await two.move({"type": "available", "value": True})
                state = await one.state(lambda s: len(s["queue"]) == 1)
                row = state["queue"][0]["id"]
                await two.state(lambda s: len(s["queue"]) == 1)
                first, second = await asyncio.gather(
                    one.move({"type": "take", "id": row}), two.move({"type": "take", "id": row})
                )
                assert sorted([first["ok"], second["ok"]]) == [False, True]
                loser = first if not first["ok"] else second
                assert loser["code"] == "gone"
    finally:
        await sol.close()
        await bo.close()


async def test_talk_both_ways_with_the_web_chat_then_end_and_debrief(
    service: Snakkes,
) -> None:
    sol = await signed_up(service, "Sol")
    try:
        async with web_young(service.url) as chat:
            await web_young_to_queue(chat, note="Jeg er ny i byen")
            async with sol.console() as console:
                await console.move({"type": "available", "value": True})
                state = await console.state(lambda s: len(s["queue"]) == 1)
                card = state["queue"][0]
                assert card["name"].startswith("Ung #")
                assert card["note"] == "Jeg er ny i byen"
                assert card["channel"] == "webchat"
                row = card["id"]
                assert (await console.move({"type": "take", "id": row}))["ok"]
                await next_web_message(chat, "Sol fra Eksempelforeningen er her nu")

                assert (await console.say(row, "Hej, godt du skrev"))["ok"]
                await next_web_message(chat, "Sol: Hej, godt du skrev")
                await chat.say("Tak Sol")
                await console.state(lambda s: any(
                    line["text"] == "Tak Sol" for t in s["talks"] for line in t["lines"]))
                assert console.lines(row) == ["Hej, godt du skrev", "Tak Sol"]

                assert (await console.move({"type": "end", "id": row}))["ok"]
                state = await console.state(lambda s: not s["talks"] and s["debriefs"])
                assert state["debriefs"][0]["id"] == row
                await next_web_message(chat, "slut")
                answer = await console.move({"type": "debrief", "id": row, "topic": "friends",
                                             "crisis": False, "follow_up": True})
                assert answer["ok"]
                await console.state(lambda s: not s["debriefs"])
    finally:
        await sol.close()


async def test_talk_with_a_young_person_on_telegram(double: BotApiDouble,
                                                    service: Snakkes) -> None:
    from tests.volunteers.helpers import ask_for_human  # noqa: PLC0415

    sol = await signed_up(service, "Sol")
    try:
        ada = double.user("Ada", language_code="da")
        await ask_for_human(double, ada)
        async with sol.console() as console:
            state = await console.state(lambda s: len(s["queue"]) == 1)
            row = state["queue"][0]["id"]
            assert state["queue"][0]["channel"] == "Telegram"
            await console.move({"type": "available", "value": True})
            assert (await console.move({"type": "take", "id": row}))["ok"]
            [connected] = await double.wait_for_messages(ada)
            assert "Sol" in connected.text
            await console.say(row, "Hej Ada-uden-navn")
            [relayed] = await double.wait_for_messages(ada)
            assert relayed.text == "Sol: Hej Ada-uden-navn"
            double.send_text(ada, "hej tilbage")
            await console.state(lambda s: any(
                line["text"] == "hej tilbage" for t in s["talks"] for line in t["lines"]))
    finally:
        await sol.close()


async def test_the_service_stops_promptly_with_consoles_open(service: Snakkes) -> None:
    sol = await signed_up(service, "Sol")
    try:
        async with sol.console() as console:
            stopping = asyncio.create_task(service.stop())
            message = await console.ws.receive(timeout=5)
            while message.type is aiohttp.WSMsgType.TEXT:
                message = await console.ws.receive(timeout=5)
            assert console.ws.close_code == 1001
            async with asyncio.timeout(10):
                await stopping
    finally:
        await sol.close()


async def test_guessing_a_password_is_throttled(service: Snakkes) -> None:
    sol = await signed_up(service, "Sol")
    try:
        out = await sol.http.post(f"{service.url}/console/logout", data={"csrf": sol.csrf},
                                  allow_redirects=False)
        assert out.status == 302
        for _ in range(5):
            assert (await sol.log_in("not the right password")).status == 401
        throttled = await sol.log_in(PASSWORD)
        assert throttled.status == 429
        assert "For mange forsøg" in await throttled.text()
    finally:
        await sol.close()


async def test_the_throttle_is_shared_by_every_instance(
    start_with: StartWith, database_url: str
) -> None:
    """The attempts are counted in the database (storage/login_throttle.py): guessing on
    one instance is throttled on the other too."""
    first = await start_with(EXAMPLE, database_url=database_url, telegram_token="")
    second = await start_with(EXAMPLE, database_url=database_url, telegram_token="")
    sol = await signed_up(first, "Sol")
    elsewhere = Volunteer(second, "Sol")
    try:
        out = await sol.http.post(f"{first.url}/console/logout", data={"csrf": sol.csrf},
                                  allow_redirects=False)
        assert out.status == 302
        for _ in range(5):
            assert (await sol.log_in("not the right password")).status == 401
        assert (await elsewhere.log_in(PASSWORD)).status == 429
    finally:
        await sol.close()
        await elsewhere.close()
