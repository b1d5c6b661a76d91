from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, WebSocketRoute, expect
from sqlalchemy import func, select

from bot.config import load_settings
from bot.webchat.channel import CHANNEL
from bot.webchat.session import COOKIE, session_key
from dialogues.messages import Outbound
from storage import webchat
from storage.models import Participant, ProcessedUpdate
from tests.clock import SteppingClock
from tests.conftest import TEST_SECRET
from tests.e2e.conftest import Snakkes, free_port
from tests.e2e.webchat import WAIT, ChatPage, chromium, eventually, web_outbox

# One browser and one service for the module (each test has its own browser context, so
# its own cookie and person); a test that stops the service gets one of its own.
pytestmark = pytest.mark.asyncio(loop_scope="module")
NEUTRAL = "https://www.dr.dk/"
FOCUSED = "document.activeElement.id || document.activeElement.className"


async def _web_service(data_dir: Path) -> Snakkes:
    """The service as `snakkes run` starts it, without Telegram (the web chat needs none;
    the handover test will add Telegram and the Bot API double)."""
    settings = load_settings(
        None,
        {
            "SNAKKES_SERVICE_DATA_DIR": str(data_dir),
            "SNAKKES_DATABASE_URL": f"sqlite+aiosqlite:///{data_dir / 'snakkes.db'}",
            "SNAKKES_SECURITY_SECRET_KEY": TEST_SECRET,
            "SNAKKES_WEB_PORT": str(free_port()),
        },
    )
    snakkes = Snakkes(settings, SteppingClock())
    await snakkes.start()
    return snakkes


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def shared_service(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Snakkes]:
    snakkes = await _web_service(tmp_path_factory.mktemp("webchat"))
    yield snakkes
    await snakkes.stop()


@pytest_asyncio.fixture(loop_scope="module")
async def snakkes(shared_service: Snakkes) -> Snakkes:
    return shared_service


@pytest_asyncio.fixture(loop_scope="module")
async def own_service(tmp_path: Path) -> AsyncIterator[Snakkes]:
    snakkes = await _web_service(tmp_path)
    yield snakkes
    await snakkes.stop()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as running:
        yield running


@pytest_asyncio.fixture(loop_scope="module")
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    context = await browser.new_context(locale="da-DK", viewport={"width": 1280, "height": 900})
    # No test reaches the internet: the neutral site of "quick exit" is a local stand-in.
    await context.route(
        "https://www.dr.dk/**",
        lambda route: route.fulfill(
            body="<title>DR</title><p>Nyheder</p>", content_type="text/html"
        ),
    )
    yield context
    await context.close()


@pytest_asyncio.fixture(loop_scope="module")
async def page(context: BrowserContext) -> Page:
    page = await context.new_page()
    page.on("console", lambda message: _no_csp_violation(message.text))
    return page


def _no_csp_violation(text: str) -> None:
    assert "Content Security Policy" not in text, text


async def _count(snakkes: Snakkes, model: type) -> int:
    async with snakkes.service.database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _person(snakkes: Snakkes, context: BrowserContext) -> Participant | None:
    """The participant behind this browser's session cookie."""
    tokens = [c.get("value", "") for c in await context.cookies() if c.get("name") == COOKIE]
    if not tokens:
        return None
    pseudonym = snakkes.service.core.keyring.pseudonym(CHANNEL, session_key(tokens[0]))
    async with snakkes.service.database.session() as session:
        return await webchat.participant_by_pseudonym(session, pseudonym)


async def test_a_person_talks_through_a_topic_with_buttons_and_typed_text(
    snakkes: Snakkes, page: Page
) -> None:
    chat = await ChatPage(page, snakkes.url).open()
    await expect(page.get_by_role("heading", level=1)).to_have_text("snakkes")
    await expect(page.locator(".tagline")).to_contain_text("en bot")
    await chat.wait_for_bot("Jeg er snakkes – en bot, ikke et menneske")
    await expect(chat.my_messages).to_have_count(0)  # the page's own /start is not shown

    await chat.to_menu()
    await chat.press("Snakke om, hvordan jeg har det")
    await chat.wait_for_bot("Hvad handler det mest om?")
    await chat.press("Skole eller studie")
    await chat.sent()
    before = await chat.bot_messages.count()
    await chat.say("Jeg sidder tit alene i frikvarteret")
    await expect(chat.bot_messages).not_to_have_count(before)
    await chat.sent()

    await expect(chat.my_messages).to_have_text(
        [
            "Okay, det er fint",
            "Vil helst ikke sige det",
            "Ikke nu",
            "💬 Snakke om, hvordan jeg har det",
            "Skole eller studie",
            "Jeg sidder tit alene i frikvarteret",
        ]
    )
    # A pressed button is marked, and the others of its message no longer act.
    pressed = page.locator(".choice[aria-pressed='true']")
    await expect(pressed).to_have_count(5)
    await chat.screenshot("webchat-1280.png")
    assert await chat.axe_violations() == []


async def test_keyboard_only(snakkes: Snakkes, page: Page) -> None:
    chat = await ChatPage(page, snakkes.url).open()
    await chat.wait_for_bot("en bot")
    await page.keyboard.press("Tab")
    await expect(page.locator("#quick-exit")).to_be_focused()  # the way out comes first
    focused = []
    for _ in range(8):
        await page.keyboard.press("Tab")
        focused.append(await page.evaluate(FOCUSED))
    assert focused[:4] == ["switch-language", "erase", "skip", "log"]
    assert "choice" in focused  # the consent button is reachable
    assert "compose-text" in focused
    # Activate the consent button from the keyboard, then write and send with Enter.
    await page.locator(".choice").first.focus()
    await page.keyboard.press("Enter")
    await chat.wait_for_bot("hvor gammel")
    await page.locator("#compose-text").focus()
    await page.keyboard.type("helst ikke")
    await page.keyboard.press("Enter")
    await chat.wait_for_bot("fire korte spørgsmål")
    await expect(page.locator("#compose-text")).to_be_focused()
    # The erase dialog opens, traps focus and closes from the keyboard.
    await page.locator("#erase").focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("#erase-dialog")).to_be_visible()
    await page.keyboard.press("Escape")
    await expect(page.locator("#erase-dialog")).to_be_hidden()


async def test_language_follows_the_browser_and_can_be_switched(
    snakkes: Snakkes, browser: Browser
) -> None:
    context = await browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
    try:
        page = await context.new_page()
        chat = await ChatPage(page, snakkes.url).open()
        await expect(page.locator("html")).to_have_attribute("lang", "en")
        await chat.wait_for_bot("I'm snakkes – a bot, not a human")
        await expect(page.get_by_label("Your message")).to_be_visible()
        await expect(page.get_by_role("button", name="Quick exit")).to_be_visible()

        await page.get_by_role("button", name="Skift til dansk").click()
        await expect(page.locator("html")).to_have_attribute("lang", "da")
        await expect(page.get_by_label("Din besked")).to_be_visible()
        await expect(page.get_by_role("button", name="Hurtig exit")).to_be_visible()
        await chat.wait_for_bot("nu skriver jeg på dansk")
        await chat.press("Okay")  # the English consent button still works
        await chat.wait_for_bot("hvor gammel")
    finally:
        await context.close()


async def test_a_message_typed_while_the_service_is_down_arrives_exactly_once(
    own_service: Snakkes, page: Page
) -> None:
    snakkes = own_service
    chat = await ChatPage(page, snakkes.url).open()
    await chat.to_menu()
    replies_before = await chat.bot_messages.count()
    updates_before = await _count(snakkes, ProcessedUpdate)

    await snakkes.stop()
    status = page.locator("#status")
    await expect(status).to_contain_text("Forbindelsen er væk", timeout=WAIT * 1000)
    await chat.say("skole")
    await expect(page.locator("#log .msg.me .meta").last).to_have_text("sender …")
    await snakkes.start()

    await chat.sent()
    await expect(page.locator("#status")).to_have_text("")
    await expect(chat.my_messages.filter(has_text="skole")).to_have_count(1)
    await expect(chat.bot_messages).to_have_count(replies_before + 1)
    assert await _count(snakkes, ProcessedUpdate) == updates_before + 1


async def test_a_lost_answer_is_neither_lost_nor_doubled(
    snakkes: Snakkes, page: Page, context: BrowserContext
) -> None:
    """The server handles a message, but its replies and ack never reach the page; the
    connection then breaks. The page resends; the server does not handle it again, and
    sends the stored replies once more; the page shows each exactly once."""
    state = {"black_hole": False, "connections": 0}
    routes: list[tuple[WebSocketRoute, WebSocketRoute]] = []

    def through(ws: WebSocketRoute) -> None:
        state["connections"] += 1
        server = ws.connect_to_server()
        routes.append((ws, server))
        ws.on_message(server.send)
        server.on_message(lambda message: None if state["black_hole"] else ws.send(message))

    await page.route_web_socket("**/ws", through)
    chat = await ChatPage(page, snakkes.url).open()
    await chat.to_menu()
    replies_before = await chat.bot_messages.count()

    state["black_hole"] = True
    await chat.say("Jeg er lige flyttet til en ny by")
    await expect(page.locator("#log .msg.me .meta").last).to_have_text("sender …")
    # ...the server has handled it (its reply waits, unacknowledged, in the mailbox)...
    await _wait_for_pending_reply(snakkes, context)
    # ...and the connection breaks.
    state["black_hole"] = False
    ws, server = routes[-1]
    await ws.close(code=3001, reason="cut")
    await server.close()

    await chat.sent()
    await chat.wait_for_bot("nyt sted")
    await expect(chat.my_messages.filter(has_text="ny by")).to_have_count(1)
    await expect(chat.bot_messages).to_have_count(replies_before + 1)
    assert state["connections"] >= 2


async def _wait_for_pending_reply(snakkes: Snakkes, context: BrowserContext) -> None:
    person = await _person(snakkes, context)
    assert person is not None

    async def stored() -> bool:
        async with snakkes.service.database.session() as session:
            return bool(await webchat.pending(session, person.id))

    await eventually(stored)


async def test_quick_exit_clears_the_page_and_leaves_no_way_back(
    snakkes: Snakkes, page: Page
) -> None:
    chat = await ChatPage(page, snakkes.url).open()
    await chat.wait_for_bot("en bot")
    await chat.press("Okay")
    await chat.wait_for_bot("hvor gammel")

    await page.get_by_role("button", name="Hurtig exit").click()
    await page.wait_for_url(NEUTRAL)
    await page.go_back()
    assert not page.url.startswith(snakkes.url)  # the chat is not in the history

    # Coming back later: the old conversation is not on the screen.
    chat = await ChatPage(page, snakkes.url).open()
    await chat.wait_for_bot("Hej igen")
    await expect(chat.my_messages).to_have_count(0)
    await expect(chat.bot_says("hvor gammel")).to_have_count(0)


async def test_erase_everything_and_leave(
    snakkes: Snakkes, page: Page, context: BrowserContext
) -> None:
    other_tab = await ChatPage(await context.new_page(), snakkes.url).open()
    await other_tab.wait_for_bot("en bot")
    await other_tab.press("Okay")
    await other_tab.wait_for_bot("hvor gammel")
    await page.bring_to_front()
    chat = await ChatPage(page, snakkes.url).open()
    await chat.wait_for_bot("Hej igen")  # a new tab starts clean; the same person
    person = await _person(snakkes, context)
    assert person is not None
    person_id, person_pseudonym = person.id, person.pseudonym

    await page.get_by_role("button", name="Slet alt og forlad").click()
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_contain_text("Det kan ikke fortrydes")
    await dialog.get_by_role("button", name="Ja, slet alt").click()
    heading = page.get_by_role("heading", name="Alt om dig er slettet")
    await expect(heading).to_be_focused()
    await expect(page.locator("#log")).to_be_hidden()
    erased_elsewhere = other_tab.page.get_by_role("heading", name="Alt om dig er slettet")
    await expect(erased_elsewhere).to_be_visible()
    assert [c for c in await context.cookies() if c.get("name") == COOKIE] == []
    async with snakkes.service.database.session() as session:
        assert await session.get(Participant, person_id) is None
    stored = await page.evaluate("JSON.stringify(sessionStorage)")
    assert json.loads(stored) == {}

    await page.get_by_role("link", name="Start en ny samtale").click()
    await chat.wait_for_bot("Jeg er snakkes – en bot")
    renewed = await _person(snakkes, context)
    assert renewed is not None
    assert renewed.pseudonym != person_pseudonym  # a new, unrelated person


async def test_a_check_in_is_shown_when_the_person_opens_the_chat_again(
    snakkes: Snakkes, page: Page, context: BrowserContext
) -> None:
    chat = await ChatPage(page, snakkes.url).open()
    await chat.to_menu()
    await page.goto("about:blank")
    participant = await _person(snakkes, context)
    assert participant is not None
    check_in = Outbound("Hej! Hvordan går det i dag?")
    await web_outbox(snakkes.service).send(participant.id, check_in)

    await chat.open()
    await chat.wait_for_bot("Hvordan går det i dag?")
    await expect(chat.bot_says("Hej igen")).to_have_count(0)  # no greeting over the check-in


async def test_small_screen_screenshot_and_accessibility(
    snakkes: Snakkes, browser: Browser
) -> None:
    context = await browser.new_context(
        locale="da-DK", viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True
    )
    try:
        page = await context.new_page()
        chat = await ChatPage(page, snakkes.url).open()
        await chat.to_menu()
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360  # nothing sideways on a small phone
        await chat.screenshot("webchat-360.png")
        assert await chat.axe_violations() == []
        await page.get_by_role("button", name="Slet alt og forlad").click()
        assert await chat.axe_violations() == []  # the dialog too
    finally:
        await context.close()


# What a phone shows: the page's own box, the parts of the chat, and the newest message.
_LAYOUT = """() => {
  const box = (el) => { const r = el.getBoundingClientRect();
    return {top: r.top, bottom: r.bottom, left: r.left, right: r.right, height: r.height}; };
  const parts = {};
  for (const [name, sel] of [["header", ".top"], ["log", "#log"], ["compose", "#compose"],
                             ["footer", ".foot"]]) {
    parts[name] = box(document.querySelector(sel));
  }
  const bubbles = document.querySelectorAll("#log .msg .bubble");
  const hint = document.querySelector("#compose-hint");
  return {
    inner: {width: innerWidth, height: innerHeight},
    page: {width: document.documentElement.scrollWidth,
           height: Math.max(document.documentElement.scrollHeight, document.body.scrollHeight)},
    parts: parts,
    newest: box(bubbles[bubbles.length - 1]),
    field: box(document.querySelector("#compose-text")),
    hintShown: hint.offsetParent !== null && hint.getClientRects().length > 0,
  };
}"""


def _overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return a["top"] < b["bottom"] - 0.5 and b["top"] < a["bottom"] - 0.5


def _check_phone_layout(layout: dict[str, Any]) -> None:
    inner, parts = layout["inner"], layout["parts"]
    assert layout["page"]["height"] <= inner["height"], layout["page"]  # never scrolls
    assert layout["page"]["width"] <= inner["width"]
    for name, part in parts.items():
        assert part["top"] >= 0, (name, part)
        assert part["bottom"] <= inner["height"] + 0.5, (name, part)
    names = list(parts)
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            assert not _overlap(parts[first], parts[second]), (first, second, parts)
    log, newest, field = parts["log"], layout["newest"], layout["field"]
    # The newest message's words and the field to write in, visible together.
    assert newest["top"] >= log["top"] - 0.5, layout
    assert newest["top"] + 20 <= log["bottom"], layout
    assert field["bottom"] <= inner["height"]
    assert field["top"] >= log["bottom"] - 0.5
    assert log["height"] >= 0.55 * inner["height"] or inner["height"] < 500, layout
    assert not layout["hintShown"]  # no Shift+Enter on a touch screen


@pytest.mark.parametrize(("width", "height"), [(360, 740), (390, 844), (740, 360)])
async def test_on_a_phone_the_conversation_has_the_screen(
    snakkes: Snakkes, browser: Browser, width: int, height: int
) -> None:
    context = await browser.new_context(
        locale="da-DK",
        viewport={"width": width, "height": height},
        is_mobile=True,
        has_touch=True,
    )
    try:
        page = await context.new_page()
        chat = await ChatPage(page, snakkes.url).open()
        await chat.wait_for_bot("en bot")
        _check_phone_layout(await page.evaluate(_LAYOUT))
        await chat.to_menu()  # eight buttons under the newest message
        _check_phone_layout(await page.evaluate(_LAYOUT))
        await chat.press("Snakke om, hvordan jeg har det")
        await chat.wait_for_bot("Hvad handler det mest om?")
        for n in range(2):
            await chat.say(f"en lang besked nummer {n}, " + "bla " * 40)
            await chat.sent()
        _check_phone_layout(await page.evaluate(_LAYOUT))
        await chat.screenshot(f"webchat-{width}x{height}.png")
        assert await chat.axe_violations() == []
    finally:
        await context.close()
