"""The anonymised typing indicator, both ways: a volunteer writing shows in the web chat
(a `typing` frame) and on Telegram (one sendChatAction "typing" per few seconds, through
the Bot API double); a young person writing in the web chat shows in the console. Neither
carries any text."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import expect

from tests.botapi import BotApiDouble
from tests.conftest import POSTGRES_URL, fresh_postgres_database
from tests.console.conftest import EXAMPLE
from tests.console.helpers import Console, signed_up, web_young, web_young_to_queue
from tests.console.test_browser import MS, WIDE, volunteer
from tests.console.test_browser import web_young as web_young_page
from tests.e2e.conftest import Snakkes
from tests.e2e.webchat import WAIT, chromium, eventually
from tests.volunteers.conftest import StartWith
from tests.volunteers.helpers import ask_for_human


async def _take(console: Console) -> int:
    await console.move({"type": "available", "value": True})
    state = await console.state(lambda s: len(s["queue"]) == 1)
    row: int = state["queue"][0]["id"]
    assert (await console.move({"type": "take", "id": row}))["ok"]
    return row


async def _next_of(receive: Any, kind: str) -> dict[str, Any]:
    async with asyncio.timeout(WAIT):
        while True:
            frame: dict[str, Any] = await receive()
            if frame["type"] == kind:
                return frame


async def test_typing_shows_both_ways_with_the_web_chat(service: Snakkes) -> None:
    sol = await signed_up(service, "Sol")
    try:
        async with web_young(service.url) as chat, sol.console() as console:
            await web_young_to_queue(chat)
            row = await _take(console)

            await console.send({"type": "typing", "id": row})
            shown = await _next_of(chat.receive, "typing")
            assert shown == {"type": "typing"}  # the fact, nothing of what is written

            await chat.send({"type": "typing"})
            seen = await _next_of(console.receive, "typing")
            assert seen == {"type": "typing", "id": row}
    finally:
        await sol.close()


async def test_typing_is_not_passed_on_outside_a_conversation(service: Snakkes) -> None:
    """Someone writing to the bot, or a volunteer naming a conversation not theirs: no
    notice goes anywhere, and nothing breaks."""
    sol = await signed_up(service, "Sol")
    try:
        async with web_young(service.url) as chat, sol.console() as console:
            await web_young_to_queue(chat)
            state = await console.state(lambda s: len(s["queue"]) == 1)
            row = state["queue"][0]["id"]
            await chat.send({"type": "typing"})
            await console.send({"type": "typing", "id": row})  # waiting, not taken
            await console.send({"type": "typing", "id": 10**9})
            await console.send({"type": "typing", "id": "x"})
            assert (await _next_of(console.receive, "error"))["code"] == "bad_frame"
            # The protocol goes on: the next move is answered, and the web chat's next
            # frame is the answer to its own hello, not a typing notice.
            result = await console.move({"type": "available", "value": True})
            assert result["ok"]
            await chat.send({"type": "hello", "lang": "da"})
            assert (await chat.receive())["type"] == "ready"
    finally:
        await sol.close()


async def test_typing_on_telegram_is_a_throttled_chat_action(
    double: BotApiDouble, service: Snakkes
) -> None:
    sol = await signed_up(service, "Sol")
    try:
        ada = double.user("Ada", language_code="da")
        await ask_for_human(double, ada)
        async with sol.console() as console:
            row = await _take(console)
            await double.wait_for_messages(ada)
            for _ in range(3):  # a burst of keystrokes: one chat action
                await console.send({"type": "typing", "id": row})
            await console.say(row, "Hej Ada")
            [relayed] = await double.wait_for_messages(ada)
            assert relayed.text == "Sol: Hej Ada"

            async def acted() -> bool:
                return bool(double.calls_to("sendChatAction"))

            await eventually(acted)
            actions = double.calls_to("sendChatAction")
            assert len(actions) == 1
            assert actions[0].error_code is None
            assert actions[0].params["action"] == "typing"
            assert str(actions[0].params["chat_id"]) == str(ada.id)
    finally:
        await sol.close()


async def test_typing_in_the_browsers(service: Snakkes) -> None:
    """Through the real pages: the volunteer writing (not sending) shows in the web chat;
    the young person writing shows in the console as "Ung #NNNN skriver …"; a sent
    message takes the indicator away. The text being written stays in the browser. Then
    ambiguous words bring the gentle alert into the console."""
    async with chromium() as browser:
        _, sol = await volunteer(browser, service, "Sol", WIDE)
        await sol.available()
        _, young = await web_young_page(browser, service.url)
        await expect(sol.cards).to_have_count(1, timeout=MS)
        name = (await sol.cards.locator("h3").text_content()) or ""
        await sol.cards.get_by_role("button").click()
        await young.wait_for_bot("Sol fra Eksempelforeningen er her nu")

        await sol.talk(name).get_by_label(f"Skriv til {name}").press_sequentially("Hej med")
        await expect(young.page.locator("#typing")).to_have_text(
            "Den frivillige skriver …", timeout=MS)
        await sol.talk(name).get_by_label(f"Skriv til {name}").press("Enter")
        await young.wait_for_bot("Sol: Hej med")
        await expect(young.page.locator("#typing")).to_have_text("", timeout=MS)

        await young.page.locator("#compose-text").press_sequentially("Hej Sol")
        await expect(sol.talk(name).locator(".typing")).to_have_text(
            f"{name} skriver …", timeout=MS)
        await young.page.locator("#compose-text").press("Enter")
        await sol.sees(name, "Hej Sol")
        await expect(sol.talk(name).locator(".typing")).to_have_text("", timeout=MS)

        # Ambiguous words: the gentle alert, with the direct question to ask.
        await young.say("jeg kan ikke mere")
        await expect(sol.talk(name).locator(".alert.distress")).to_contain_text(
            "Tænker du på selvmord", timeout=MS)


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    if not POSTGRES_URL:
        pytest.skip("SNAKKES_TEST_POSTGRES_URL is not set")
    async with fresh_postgres_database() as url:
        yield url


async def test_typing_and_changes_cross_instances_through_notify(
    start_with: StartWith, postgres_url: str
) -> None:
    """Two instances on one PostgreSQL: the volunteer's console on one, the web chat on the
    other. Typing notices are never stored, so nothing but the console's feed (LISTEN/
    NOTIFY) can carry them across; the same feed wakes the console for the queue at once."""
    first = await start_with(EXAMPLE, database_url=postgres_url, telegram_token="")
    second = await start_with(EXAMPLE, database_url=postgres_url, telegram_token="")
    assert first.service.feed is not None
    sol = await signed_up(second, "Sol")
    try:
        async with web_young(first.url) as chat, sol.console() as console:
            await web_young_to_queue(chat)
            row = await _take(console)

            await console.send({"type": "typing", "id": row})
            assert await _next_of(chat.receive, "typing") == {"type": "typing"}
            await chat.send({"type": "typing"})
            assert await _next_of(console.receive, "typing") == {"type": "typing", "id": row}
    finally:
        await sol.close()
