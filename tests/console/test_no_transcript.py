"""No transcript outlives the conversation: after each kind of ending (the volunteer ends,
the young person ends, a hand-back then an end) the SQLite file and its WAL hold none of the
conversation's marker texts."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy.engine import make_url

from tests.console.helpers import (
    next_web_message,
    scan,
    signed_up,
    web_young,
    web_young_to_queue,
)
from tests.e2e.conftest import Snakkes
from tests.e2e.webchat import WAIT, choice_data


def database_file(snakkes: Snakkes) -> Path:
    return Path(make_url(snakkes.settings.database.url).database or "")


async def no_markers(snakkes: Snakkes, markers: list[str]) -> None:
    """The service scrubs the WAL a moment after an ending; wait for it (with a limit)."""
    path = database_file(snakkes)
    deadline = asyncio.get_running_loop().time() + WAIT * 2
    while found := scan(path, markers):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"still in the database: {found}")
        await asyncio.sleep(0.1)


async def test_nothing_is_left_after_the_volunteer_ends(service: Snakkes) -> None:
    sol = await signed_up(service, "Sol")
    markers = ["NOTE-QX81", "YOUNG-ZK44", "VOLUNTEER-WB27", "HANDBACK-PL93"]
    try:
        async with web_young(service.url) as chat, sol.console() as console:
            await web_young_to_queue(chat, note=f"om {markers[0]}")
            await console.move({"type": "available", "value": True})
            row = (await console.state(lambda s: len(s["queue"]) == 1))["queue"][0]["id"]
            await console.move({"type": "take", "id": row})
            await next_web_message(chat, "er her nu")
            await chat.say(f"hej {markers[1]}")
            await console.say(row, f"hej {markers[2]}")
            await next_web_message(chat, markers[2])
            await console.move({"type": "back", "id": row, "note": f"om {markers[3]}"})
            await next_web_message(chat, "tilbage i køen")
            state = await console.state(lambda s: len(s["queue"]) == 1)
            assert state["queue"][0]["handback_note"] == f"om {markers[3]}"
            await console.move({"type": "take", "id": row})
            await next_web_message(chat, "er her nu")
            await console.state(lambda s: bool(s["talks"]))
            assert console.lines(row) == []  # a new start: the earlier text is not shown
            # Sealed at rest: not even the live conversation's words are on disk in clear.
            assert scan(database_file(service), markers) == []
            await console.move({"type": "end", "id": row})
            await next_web_message(chat, "Hvordan var samtalen")
        await no_markers(service, markers)
    finally:
        await sol.close()


async def test_nothing_is_left_after_the_young_person_ends(service: Snakkes) -> None:
    sol = await signed_up(service, "Sol")
    markers = ["YOUNG-RT55", "VOLUNTEER-MM12"]
    try:
        async with web_young(service.url) as chat, sol.console() as console:
            await web_young_to_queue(chat)
            await console.move({"type": "available", "value": True})
            row = (await console.state(lambda s: len(s["queue"]) == 1))["queue"][0]["id"]
            await console.move({"type": "take", "id": row})
            connected = await next_web_message(chat, "er her nu")
            await chat.say(f"hej {markers[0]}")
            await console.say(row, f"hej {markers[1]}")
            await next_web_message(chat, markers[1])
            [sure], _ = await chat.press(choice_data(connected, "Afslut"))
            await chat.press(choice_data(sure, "Ja, afslut"))  # the end button asks first
            await console.state(lambda s: not s["talks"])
        await no_markers(service, markers)
    finally:
        await sol.close()
