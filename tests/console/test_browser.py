"""The console in a real browser (Playwright driving Debian's Chromium): two volunteers, a
coordinator on the dashboard, two young people in the web chat and one on Telegram through
the Bot API double. Sign-up from an invite, two takes at once (one wins), talk both ways, a
canned response, a transfer with its note, a hand-back, a flag in the inbox, read-along in
the audit log and on the volunteer's screen, end and debrief; after the ending the
database file and its WAL hold none of the conversation's text, and the browser's storage
is empty. axe: no serious or critical violation at 360 and 1280 pixels wide."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from playwright.async_api import Browser, BrowserContext, Page, expect

from bot.dashboard.auth import hash_password
from storage import coordinators
from storage.types import utcnow
from tests.botapi import BotApiDouble
from tests.console.helpers import PASSWORD
from tests.console.test_no_transcript import no_markers
from tests.e2e.conftest import Snakkes
from tests.e2e.webchat import ARTIFACTS, AXE, WAIT, ChatPage, chromium, eventually
from tests.volunteers.helpers import ask_for_human, invite_code

MS = WAIT * 1000
NARROW, WIDE = {"width": 360, "height": 780}, {"width": 1280, "height": 900}
COORDINATOR_PASSWORD = "the coordinator's long password"


class ConsolePage:
    def __init__(self, page: Page, base: str, alias: str) -> None:
        self.page = page
        self.base = base
        self.alias = alias

    async def sign_up(self, code: str) -> ConsolePage:
        page = self.page
        await page.goto(f"{self.base}/console/signup")
        await page.get_by_label("Din kode fra koordinatoren").fill(code)
        await page.get_by_label("Dit navn (det, de unge ser)").fill(self.alias)
        await page.get_by_label("Adgangskode", exact=True).fill(PASSWORD)
        await page.get_by_label("Adgangskode igen").fill(PASSWORD)
        await page.get_by_label("Jeg har læst det og accepterer").check()
        await page.get_by_role("button", name="Tilmeld mig").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text(
            f"{self.alias} · Eksempelforeningen", timeout=MS)
        await expect(page.locator("#status-text")).to_contain_text("pause", timeout=MS)
        return self

    async def available(self) -> None:
        await self.page.get_by_role("button", name="Jeg er klar").click()
        await expect(self.page.locator("#status-text")).to_contain_text("Du er klar",
                                                                         timeout=MS)

    @property
    def cards(self) -> Any:
        return self.page.locator("#queue li.card")

    def talk(self, name: str) -> Any:
        return self.page.locator("section.talk").filter(
            has=self.page.get_by_role("heading", name=name))

    async def say(self, name: str, text: str) -> None:
        field = self.talk(name).get_by_label(f"Skriv til {name}")
        await field.fill(text)
        await field.press("Enter")
        await self.sees(name, text)

    async def sees(self, name: str, text: str) -> None:
        await expect(self.talk(name).locator(".transcript li", has_text=text)).to_have_count(
            1, timeout=MS)

    async def axe(self) -> list[dict[str, Any]]:
        return await axe(self.page)

    async def storage_is_empty(self) -> bool:
        return bool(await self.page.evaluate(
            "() => localStorage.length === 0 && sessionStorage.length === 0"))


async def axe(page: Page) -> list[dict[str, Any]]:
    """The vendored axe-core in the page: serious and critical violations."""
    await page.evaluate(AXE.read_text(encoding="utf-8"))
    result: dict[str, Any] = await page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations']})")
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


async def web_young(browser: Browser, base: str) -> tuple[BrowserContext, ChatPage]:
    context = await browser.new_context(locale="da-DK", viewport=NARROW)
    chat = await ChatPage(await context.new_page(), base).open()
    await chat.to_menu()
    await chat.press("Tale med et menneske")
    await chat.wait_for_bot("Ung #")
    await chat.press("Stil mig i kø uden besked")
    await chat.wait_for_bot("nummer")
    return context, chat


async def volunteer(browser: Browser, snakkes: Snakkes, alias: str, viewport: dict[str, int]
                    ) -> tuple[BrowserContext, ConsolePage]:
    context = await browser.new_context(locale="da-DK", viewport=viewport)
    page = await context.new_page()
    page.on("console", lambda message: _no_csp_violation(message.text))
    console = ConsolePage(page, snakkes.url, alias)
    await console.sign_up(await invite_code(snakkes))
    return context, console


def _no_csp_violation(text: str) -> None:
    assert "Content Security Policy" not in text, text


async def coordinator(browser: Browser, snakkes: Snakkes) -> Page:
    async with snakkes.service.database.session() as session, session.begin():
        await coordinators.add(session, "anna", "example", hash_password(COORDINATOR_PASSWORD),
                               admin=False, now=utcnow())
    page = await (await browser.new_context(viewport=WIDE)).new_page()
    await page.goto(f"{snakkes.url}/dashboard/login")
    await page.get_by_label(re.compile("^(Navn|Name)$")).fill("anna")
    await page.get_by_label(re.compile("^(Adgangskode|Password)$")).fill(COORDINATOR_PASSWORD)
    await page.get_by_role("button", name=re.compile("^(Log ind|Log in)$")).click()
    await expect(page.get_by_role("heading", name=re.compile("Overblik|Overview"))).to_be_visible(
        timeout=MS)
    return page


async def test_volunteers_coordinator_and_young_people_end_to_end(
    double: BotApiDouble, service: Snakkes
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    async with chromium() as browser:
        anna = await coordinator(browser, service)
        await anna.goto(f"{service.url}/dashboard/inbox")
        await anna.get_by_label("Titel").fill("Hilsen")
        await anna.get_by_label("Tekst").fill("Hej {pseudonym}, jeg hedder {alias}.")
        await anna.get_by_role("button", name="Tilføj standardsvar").click()
        await expect(anna.get_by_role("status")).to_have_text("Standardsvaret er tilføjet.")

        sol_context, sol = await volunteer(browser, service, "Sol", WIDE)
        bo_context, bo = await volunteer(browser, service, "Bo", NARROW)
        assert await sol.axe() == []
        assert await bo.axe() == []
        await sol.available()
        await bo.available()

        # Two take at once: one wins, the other is told kindly.
        young_context, young = await web_young(browser, service.url)
        await expect(sol.cards).to_have_count(1, timeout=MS)
        await expect(bo.cards).to_have_count(1, timeout=MS)
        name = (await sol.cards.locator("h3").text_content()) or ""
        assert name.startswith("Ung #")
        await asyncio.gather(sol.cards.get_by_role("button").click(),
                             bo.cards.get_by_role("button").click())

        async def one_took() -> bool:
            counts = [await c.page.locator("section.talk").count() for c in (sol, bo)]
            return sorted(counts) == [0, 1]

        await eventually(one_took)
        won, lost = (sol, bo) if await sol.talk(name).count() else (bo, sol)
        await expect(lost.page.locator("#notice")).to_contain_text("En anden nåede",
                                                                   timeout=MS)
        await young.wait_for_bot(f"{won.alias} fra Eksempelforeningen er her nu")

        # Both ways, and a canned response with its placeholders filled in.
        await won.say(name, "Hej, hvordan går det MARK-V1")
        await young.wait_for_bot(f"{won.alias}: Hej, hvordan går det MARK-V1")
        await young.say("Det går okay MARK-Y1")
        await won.sees(name, "Det går okay MARK-Y1")
        await won.talk(name).get_by_label("Standardsvar").select_option(label="Hilsen")
        await won.talk(name).get_by_label(f"Skriv til {name}").press("Enter")
        await young.wait_for_bot(f"{won.alias}: Hej {name}, jeg hedder {won.alias}.")
        await won.page.screenshot(path=str(ARTIFACTS / "console-talk.png"), full_page=True)
        assert await won.axe() == []

        # A transfer with a private note, then a hand-back to the queue.
        await won.talk(name).get_by_role("button", name="Giv videre").click()
        await won.talk(name).get_by_label("Privat note til den anden frivillige").fill(
            "Taler om skolen MARK-N1")
        await won.talk(name).get_by_role("button", name="Bekræft").click()
        await expect(lost.talk(name)).to_contain_text("Taler om skolen MARK-N1", timeout=MS)
        await young.wait_for_bot(f"har givet samtalen videre til {lost.alias}")
        await expect(won.page.locator("section.talk")).to_have_count(0, timeout=MS)
        await lost.talk(name).get_by_role("button", name="Tilbage i køen").click()
        await lost.talk(name).get_by_label("Note til den næste frivillige (valgfri)").fill(
            "Giv tid MARK-N2")
        await lost.talk(name).get_by_role("button", name="Bekræft").click()
        await young.wait_for_bot("tilbage i køen")
        await expect(won.cards).to_contain_text("Giv tid MARK-N2", timeout=MS)
        await won.cards.get_by_role("button").click()
        await young.wait_for_bot(f"{won.alias} fra Eksempelforeningen er her nu")

        # A young person on Telegram, with the other volunteer.
        ada = double.user("Ada", language_code="da")
        await ask_for_human(double, ada)
        await expect(lost.cards).to_have_count(1, timeout=MS)
        telegram_name = (await lost.cards.locator("h3").text_content()) or ""
        await lost.cards.get_by_role("button").click()
        await double.wait_for_messages(ada)
        await lost.say(telegram_name, "Hej Ada")
        [relayed] = await double.wait_for_messages(ada)
        assert relayed.text == f"{lost.alias}: Hej Ada"
        double.send_text(ada, "hej fra Telegram")
        await lost.sees(telegram_name, "hej fra Telegram")

        # A second young person in the web chat, who ends the conversation themselves.
        other_context, other = await web_young(browser, service.url)
        await expect(lost.cards).to_have_count(1, timeout=MS)
        other_name = (await lost.cards.locator("h3").text_content()) or ""
        await lost.cards.get_by_role("button").click()
        await other.wait_for_bot(f"{lost.alias} fra Eksempelforeningen er her nu")
        await lost.say(other_name, "Velkommen MARK-V2")
        await other.wait_for_bot("Velkommen MARK-V2")
        await other.say("Tak, farvel MARK-Y2")
        await lost.sees(other_name, "MARK-Y2")
        await other.press("Afslut samtalen")
        await other.wait_for_bot("Vil du afslutte samtalen")  # an end button asks first
        await other.press("Ja, afslut")
        await other.wait_for_bot("Hvordan var samtalen?")
        await expect(lost.talk(other_name)).to_have_count(0, timeout=MS)
        await expect(lost.page.locator("form.debrief")).to_have_count(1, timeout=MS)
        await no_markers(service, ["MARK-V2", "MARK-Y2"])
        await other_context.close()

        # A flag lands in the inbox; reading along is audited and shown to the volunteer.
        await won.talk(name).get_by_role("button", name="Markér til koordinator").click()
        await expect(won.talk(name).get_by_role(
            "button", name="Markeret til koordinatorerne")).to_be_disabled(timeout=MS)
        await anna.goto(f"{service.url}/dashboard/inbox")
        await expect(anna.locator("table").first).to_contain_text("Flaget af den frivillige")
        await anna.goto(f"{service.url}/dashboard/live")
        await anna.get_by_role("link", name=f"Læs med hos {name}").click()
        await expect(anna.locator(".transcript")).to_contain_text("MARK-Y1")
        assert await axe(anna) == []
        await expect(won.talk(name).locator(".readers")).to_have_text(
            "En koordinator læser med: anna", timeout=MS)
        await anna.goto(f"{service.url}/dashboard/inbox")
        await expect(anna.get_by_role("heading", name="Log over medlæsning")).to_be_visible()
        await expect(anna.locator("section", has_text="Log over medlæsning")).to_contain_text(name)
        for width in (WIDE, NARROW):
            await anna.set_viewport_size(width)
            assert await axe(anna) == []
            await anna.goto(f"{service.url}/dashboard/live")
            assert await axe(anna) == []
            await anna.goto(f"{service.url}/dashboard/inbox")

        # End and debrief; the follow-up lands in the inbox.
        await won.talk(name).get_by_role("button", name="Afslut samtalen").click()
        await young.wait_for_bot("Hvordan var samtalen?")
        debrief = won.page.locator("form.debrief")
        await expect(debrief).to_have_count(1, timeout=MS)
        await debrief.get_by_label("Venner").check()
        await debrief.locator("fieldset").nth(1).get_by_label("Nej").check()
        await debrief.locator("fieldset").nth(2).get_by_label("Ja").check()
        await debrief.get_by_role("button", name="Send").click()
        await expect(debrief).to_have_count(0, timeout=MS)
        await anna.reload()
        await expect(anna.locator("table").first).to_contain_text("Efter samtalen: følg op")
        await no_markers(service, ["MARK-V1", "MARK-Y1", "MARK-N1", "MARK-N2"])

        # Nothing kept in the browser, during or after.
        for console in (sol, bo):
            assert await console.storage_is_empty()
        for context in (sol_context, bo_context):
            for page in context.pages:
                await page.close()
            state = await context.storage_state()
            assert all(not origin.get("localStorage") for origin in state["origins"])
            await context.close()
        await young_context.close()


async def test_console_pages_pass_axe_at_both_widths(service: Snakkes) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    async with chromium() as browser:
        for viewport in (NARROW, WIDE):
            context = await browser.new_context(locale="da-DK", viewport=viewport)
            page = await context.new_page()
            console = ConsolePage(page, service.url, "Sol")
            for path in ("/console/login", "/console/signup", "/console/login?lang=en"):
                await page.goto(service.url + path)
                assert await console.axe() == [], path
            await context.close()
        context = await browser.new_context(locale="da-DK", viewport=NARROW)
        page = await context.new_page()
        console = ConsolePage(page, service.url, "Sol")
        await console.sign_up(await invite_code(service))
        # Keyboard alone: the language switch, log-out, then the status button, in order.
        await page.keyboard.press("Tab")
        await expect(page.get_by_role("button", name="English")).to_be_focused()
        await page.keyboard.press("Tab")
        await expect(page.get_by_role("button", name="Log ud")).to_be_focused()
        await page.keyboard.press("Tab")
        await expect(page.get_by_role("link", name="Gør din konto sikrere med en kode fra app")
                     ).to_be_focused()
        await page.keyboard.press("Tab")
        await expect(page.get_by_role("button", name="Jeg er klar")).to_be_focused()
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("button", name="Jeg holder pause")).to_be_visible(
            timeout=MS)
        await page.get_by_role("button", name="English").click()
        await expect(page.get_by_role("button", name="I'm away")).to_be_visible(timeout=MS)
        assert await console.axe() == []
        await page.screenshot(path=str(ARTIFACTS / "console-360.png"), full_page=True)
        for viewport in (NARROW, WIDE):  # setting up a code from an app
            await page.set_viewport_size(viewport)
            await page.goto(service.url + "/console/totp")
            await expect(page.get_by_role("img", name=re.compile("QR"))).to_be_visible()
            assert await console.axe() == [], viewport
        await context.close()
