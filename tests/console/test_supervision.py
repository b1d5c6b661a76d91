"""Coordinators and the console: the inbox (flags, debrief follow-ups, handled by whom),
canned responses, transfer with a private note, read-along (audited, shown to the
volunteer), a whisper, and deactivating a volunteer from the dashboard."""

from __future__ import annotations

import re

import aiohttp

from bot.dashboard.auth import hash_password
from storage import coordinators
from storage.types import utcnow
from tests.console.helpers import (
    next_web_message,
    signed_up,
    web_young,
    web_young_to_queue,
)
from tests.dashboard.conftest import csrf_of, log_in
from tests.e2e.conftest import Snakkes
from tests.volunteers.helpers import runner

COORDINATOR_PASSWORD = "the coordinator's long password"


async def coordinator(service: Snakkes, name: str = "anna") -> aiohttp.ClientSession:
    async with service.service.database.session() as session, session.begin():
        await coordinators.add(session, name, "example", hash_password(COORDINATOR_PASSWORD),
                               admin=False, now=utcnow())
    client = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    response = await log_in(client, service.url, name, COORDINATOR_PASSWORD)
    assert response.status == 302
    return client


async def page(client: aiohttp.ClientSession, url: str) -> str:
    async with client.get(url) as response:
        assert response.status == 200, response.status
        return await response.text()


async def test_flag_follow_up_canned_transfer_read_along_and_whisper(service: Snakkes) -> None:
    sol, bo = await signed_up(service, "Sol"), await signed_up(service, "Bo")
    anna = await coordinator(service)
    base = f"{service.url}/dashboard"
    try:
        html = await page(anna, f"{base}/inbox")
        assert "Indbakken er tom." in html
        english = await page(anna, f"{base}/inbox?lang=en")
        assert "Nothing in the inbox." in english
        assert '<html lang="en">' in english
        assert "Indbakken er tom." in await page(anna, f"{base}/inbox?lang=da")
        added = await anna.post(f"{base}/canned/add", data={
            "csrf": csrf_of(html), "org": "example", "language": "da", "title": "Hilsen",
            "text": "Hej {pseudonym}, jeg hedder {alias}."})
        assert added.status == 200
        refused = await anna.post(f"{base}/canned/add", data={"csrf": "forged", "org": "x"})
        assert refused.status == 403

        async with web_young(service.url) as chat, sol.console() as one, bo.console() as two:
            await web_young_to_queue(chat)
            await one.move({"type": "available", "value": True})
            await two.move({"type": "available", "value": True})
            row = (await one.state(lambda s: len(s["queue"]) == 1))["queue"][0]["id"]
            assert (await one.move({"type": "take", "id": row}))["ok"]
            talk = (await one.state(lambda s: bool(s["talks"])))["talks"][0]
            name = talk["card"]["name"]
            assert talk["canned"] == [{"title": "Hilsen",
                                       "text": f"Hej {name}, jeg hedder Sol."}]
            await one.say(row, talk["canned"][0]["text"])
            await next_web_message(chat, f"Sol: Hej {name}, jeg hedder Sol.")

            assert (await one.move({"type": "flag", "id": row}))["ok"]
            html = await page(anna, f"{base}/inbox")
            assert "Flaget af den frivillige" in html
            assert name in html
            assert "Sol" in html

            await one.state(lambda s: s["colleagues"] == ["Bo"])
            moved = await one.move({"type": "transfer", "id": row, "to": "Bo",
                                    "note": "Taler om skolen"})
            assert moved["ok"], moved
            await next_web_message(chat, "har givet samtalen videre til Bo")
            await one.state(lambda s: not s["talks"])
            state = await two.state(lambda s: bool(s["talks"]))
            assert state["talks"][0]["card"]["handback_note"] == "Taler om skolen"

            live = await page(anna, f"{base}/live")
            link = re.search(r'href="(/dashboard/live/\d+)"', live)
            assert link, live
            reading = await page(anna, service.url + link.group(1))
            assert f"Hej {name}, jeg hedder Sol." in reading
            await two.state(lambda s: s["talks"][0]["readers"] == ["anna"])
            whispered = await anna.post(service.url + link.group(1) + "/whisper",
                                        data={"csrf": csrf_of(reading), "text": "Godt gået"})
            assert whispered.status == 200
            await two.state(lambda _: bool(two.whispers))
            assert two.whispers[0]["text"] == "Godt gået"
            assert two.whispers[0]["from"] == "anna"
            html = await page(anna, f"{base}/inbox")
            assert "Log over medlæsning" in html
            assert "anna" in html

            assert (await two.move({"type": "end", "id": row}))["ok"]
            await two.state(lambda s: bool(s["debriefs"]))
            await two.move({"type": "debrief", "id": row, "topic": "school", "crisis": False,
                            "follow_up": True})
            html = await page(anna, f"{base}/inbox")
            assert "Efter samtalen: følg op" in html
            items = re.findall(r'name="id" value="(\d+)"', html.split("Standardsvar")[0])
            assert len(items) == 2
            done = await anna.post(f"{base}/inbox/handled",
                                   data={"csrf": csrf_of(html), "id": items[0]})
            assert "klaret af anna" in await done.text()
    finally:
        await anna.close()
        await sol.close()
        await bo.close()


async def test_deactivating_a_volunteer_closes_their_console(service: Snakkes) -> None:
    sol = await signed_up(service, "Sol")
    anna = await coordinator(service)
    try:
        async with web_young(service.url) as chat, sol.console() as one:
            await web_young_to_queue(chat)
            await one.move({"type": "available", "value": True})
            row = (await one.state(lambda s: len(s["queue"]) == 1))["queue"][0]["id"]
            await one.move({"type": "take", "id": row})
            await next_web_message(chat, "er her nu")
            html = await page(anna, f"{service.url}/dashboard/volunteers")
            done = await anna.post(f"{service.url}/dashboard/volunteers/deactivate",
                                   data={"csrf": csrf_of(html), "alias": "Sol",
                                         "org": "example"})
            assert "Sol er deaktiveret" in await done.text()
            await runner(service).run_once()
            await next_web_message(chat, "tilbage i køen")
            await one.send({"type": "available", "value": True})
            message = await one.ws.receive(timeout=5)
            while message.type == aiohttp.WSMsgType.TEXT:
                message = await one.ws.receive(timeout=5)
            assert one.ws.close_code == 4403
        async with sol.http.get(f"{service.url}/console", allow_redirects=False) as response:
            assert response.status == 302  # the session ended with the deactivation
    finally:
        await anna.close()
        await sol.close()


async def test_a_coordinator_invite_makes_a_volunteer_who_can_use_the_dashboard(
    service: Snakkes,
) -> None:
    maja = await signed_up(service, "Maja", role="coordinator")
    try:
        client = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        try:
            response = await log_in(client, service.url, "Maja",
                                    "a long enough password")
            assert response.status == 302
            assert "Indbakke" in await page(client, f"{service.url}/dashboard/inbox")
        finally:
            await client.close()
    finally:
        await maja.close()
