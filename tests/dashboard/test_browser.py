"""The dashboard in a real browser (Playwright driving Debian's Chromium): log-in, charts,
the period selector, the CSV download, redirects and CSRF; screenshots to artifacts/."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.dashboard.conftest import PASSWORD
from tests.e2e.conftest import Snakkes
from tests.e2e.webchat import AXE, chromium

pytestmark = pytest.mark.asyncio(loop_scope="module")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as running:
        yield running


@pytest_asyncio.fixture(loop_scope="module")
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    context = await browser.new_context(viewport={"width": 1280, "height": 900},
                                        accept_downloads=True)
    yield context
    await context.close()


@pytest_asyncio.fixture(loop_scope="module")
async def page(context: BrowserContext) -> Page:
    return await context.new_page()


async def log_in(page: Page, base: str, name: str, password: str) -> None:
    await page.goto(f"{base}/dashboard/login")
    await page.get_by_label(re.compile("^(Navn|Name)$")).fill(name)
    await page.get_by_label(re.compile("^(Adgangskode|Password)$")).fill(password)
    await page.get_by_role("button", name=re.compile("^(Log ind|Log in)$")).click()


def cell(page: Page, key: str, column: int) -> object:
    return page.locator(f'tr[data-key="{key}"] td').nth(column)


async def test_log_in_fails_with_a_wrong_password_and_works_with_the_right_one(
    service: Snakkes, page: Page
) -> None:
    await log_in(page, service.url, "ada", "this is not it at all")
    await expect(page.get_by_role("alert")).to_contain_text(
        re.compile("Forkert navn eller adgangskode|Wrong name or password")
    )
    assert page.url.endswith("/dashboard/login")
    await log_in(page, service.url, "ada", PASSWORD)
    await expect(page.get_by_role("heading", name="Overblik")).to_be_visible()


RAW_IDS = ("school_or_studies", "under-15", "unsaid", "new_person", "handover_", "a18_24")


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """The vendored axe-core in the page: serious and critical violations."""
    await page.evaluate(AXE.read_text(encoding="utf-8"))
    result: dict[str, Any] = await page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations']})")
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


async def nothing_wider_than_its_box(page: Page) -> None:
    """The page never scrolls sideways; a wide table scrolls inside its own box, and its
    first column stays in view when it does."""
    overflow = await page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page is {overflow} px wider than the window"
    boxes = await page.evaluate("""() => [...document.querySelectorAll('.scroll')].map(b => {
        const r = b.getBoundingClientRect();
        return {left: r.left, right: r.right, width: window.innerWidth};
    })""")
    assert boxes
    assert all(b["left"] >= 0 and b["right"] <= b["width"] for b in boxes)
    sticky = await page.evaluate("""() => {
        const box = [...document.querySelectorAll('.scroll')]
            .find(b => b.scrollWidth > b.clientWidth);
        if (!box) return null;
        const head = box.querySelector('tbody th[scope=row]');
        const before = head.getBoundingClientRect().left;
        box.scrollLeft = box.scrollWidth;
        const after = head.getBoundingClientRect().left;
        const moved = box.scrollLeft;
        box.scrollLeft = 0;
        return {before, after, moved};
    }""")
    if sticky is not None:
        assert sticky["moved"] > 0
        assert abs(sticky["after"] - sticky["before"]) < 1, "the first column scrolled away"


async def labels_do_not_overlap(page: Page) -> None:
    boxes = await page.evaluate("""() => [...document.querySelectorAll('svg.chart')].map(
        svg => [...svg.querySelectorAll('text.period')].map(t => {
            const r = t.getBoundingClientRect(); return [r.left, r.right]; }))""")
    for chart in boxes:
        for (_, right), (left, _) in itertools.pairwise(chart):
            assert right <= left, "two period labels overlap"


@pytest.mark.parametrize("width", [1280, 390])
async def test_the_danish_overview_reads_at_every_width(
    service: Snakkes, page: Page, width: int
) -> None:
    await page.set_viewport_size({"width": width, "height": 900})
    await log_in(page, service.url, "ada", PASSWORD)
    await expect(page.get_by_role("heading", name="Overblik")).to_be_visible()
    await page.get_by_label("År").select_option("2026")
    await page.get_by_label("Pr.", exact=True).select_option("quarter")
    await page.get_by_role("button", name="Vis").click()
    await expect(page.locator("html")).to_have_attribute("lang", "da")
    await expect(page.locator("svg.chart")).to_have_count(3)
    # Human labels, Danish, and the deployment's time zone.
    await expect(page.locator("#age_bands")).to_contain_text("Ville ikke sige")
    await expect(page.locator("#topics")).to_contain_text("Venner, eller at stå udenfor")
    await expect(page.locator("#people thead")).to_contain_text("1. kvt. 2026")
    await expect(page.locator("p.period")).to_contain_text("Europe/Copenhagen")
    text = await page.locator("main").inner_text()
    assert not any(raw in text for raw in RAW_IDS), "a raw id on the page"
    # The fortnight is in the first quarter: 18 bot conversations; nothing in the second
    # and third, so those are withheld: a gap in the line, not a zero.
    await expect(page.locator('tr[data-key="bot"] td')).to_have_text(["18", "<5", "<5"])
    trend = page.locator("svg.chart").first
    await expect(trend.locator("line.gap")).to_have_count(2)
    await expect(trend.locator("circle.s0")).to_have_count(1)
    ticks = await trend.locator("text.tick").all_text_contents()
    assert all(t.isdigit() for t in ticks), ticks  # whole numbers only
    assert len(set(ticks)) == len(ticks)
    await nothing_wider_than_its_box(page)
    await labels_do_not_overlap(page)
    ARTIFACTS.mkdir(exist_ok=True)
    await page.locator("section.charts").screenshot(
        path=str(ARTIFACTS / f"dashboard-charts-{width}.png"))
    # Per week: 48 weeks of 2026 have ended by now (or all of them); labels thinned.
    await page.get_by_label("Pr.", exact=True).select_option("week")
    await page.get_by_role("button", name="Vis").click()
    await expect(page.locator("#people thead")).to_contain_text("uge 10")
    await nothing_wider_than_its_box(page)
    await labels_do_not_overlap(page)
    assert await axe_violations(page) == []
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"dashboard-overview-{width}.png"),
                          full_page=True)


async def test_the_english_switch_and_the_downloads(service: Snakkes, page: Page) -> None:
    await log_in(page, service.url, "ada", PASSWORD)
    await page.get_by_role("link", name="English").click()
    await expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    await page.get_by_label("Year").select_option("2026")
    await page.get_by_label("Per", exact=True).select_option("quarter")
    await page.get_by_role("button", name="Show").click()
    await expect(page.locator("#age_bands")).to_contain_text("Preferred not to say")
    await expect(page.locator("#people thead")).to_contain_text("Q1 2026")
    # The choice is remembered on the next page.
    await page.get_by_role("link", name="Volunteers").click()
    await expect(page.get_by_role("heading", name="Volunteers")).to_be_visible()
    await page.get_by_role("link", name="Overview").click()
    await page.get_by_role("link", name="Dansk").click()
    await expect(page.get_by_role("heading", name="Overblik")).to_be_visible()
    await page.get_by_label("År").select_option("2026")
    await page.get_by_label("Pr.", exact=True).select_option("quarter")
    await page.get_by_role("button", name="Vis").click()
    async with page.expect_download() as download_info:
        await page.get_by_role("link", name="CSV (Excel)").click()
    download = await download_info.value
    assert download.suggested_filename == "snakkes-all-2026-01-01-2026-09-30-quarter.csv"
    raw = await asyncio.to_thread(Path(await download.path()).read_bytes)
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0] == "Tabel;Række;1. kvt. 2026;2. kvt. 2026;3. kvt. 2026"
    assert "Samtaler med botten;Samtaler med botten;18;<5;<5" in lines
    async with page.expect_download() as download_info:
        await page.get_by_role("link", name="Excel-fil (XLSX)").click()
    xlsx = await download_info.value
    assert xlsx.suggested_filename.endswith(".xlsx")


async def test_every_dashboard_page_without_a_session_goes_to_log_in(
    service: Snakkes, page: Page
) -> None:
    for path in ("/dashboard", "/dashboard/volunteers", "/dashboard/export.csv",
                 "/dashboard/export.xlsx", "/dashboard/export.json"):
        await page.goto(service.url + path)
        assert page.url == f"{service.url}/dashboard/login", path
        heading = re.compile("Log ind som koordinator|Coordinator log-in")
        await expect(page.get_by_role("heading", name=heading)).to_be_visible()


async def test_a_form_post_without_the_csrf_token_is_refused(
    service: Snakkes, page: Page
) -> None:
    await log_in(page, service.url, "anna", PASSWORD)
    await page.goto(f"{service.url}/dashboard/volunteers")
    await page.screenshot(path=str(ARTIFACTS / "dashboard-volunteers-1280.png"), full_page=True)
    # The session cookie goes along (same browser context), the token does not.
    answer = await page.request.post(f"{service.url}/dashboard/volunteers/invite",
                                     form={"org": "example", "role": "volunteer"})
    assert answer.status == 403
    # With the page's own form it works: the code is shown once.
    await page.get_by_role("button", name="Lav en invitationskode").click()
    await expect(page.get_by_role("status")).to_contain_text("Engangskode til invitation")
    # Last active in local time, and the zone said.
    await expect(page.locator("thead")).to_contain_text("Sidst aktiv (Europe/Copenhagen)")


@pytest.mark.parametrize("width", [1280, 390])
async def test_the_directory_page_in_the_browser(
    service: Snakkes, page: Page, width: int
) -> None:
    await page.set_viewport_size({"width": width, "height": 900})
    await log_in(page, service.url, "anna", PASSWORD)
    await page.get_by_role("link", name="Fællesskaber").click()
    await expect(page.get_by_role("heading", name="Fællesskaber", exact=True)).to_be_visible()
    # A bad link and no name: a clear message for each, the rest kept.
    await page.get_by_label("Link").fill("ikke et link")
    await page.get_by_label("Kort beskrivelse på dansk").fill("Vi går ture.")
    await page.get_by_role("button", name="Gem fællesskab").click()
    alert = page.get_by_role("alert")
    await expect(alert).to_contain_text("Skriv et navn")
    await expect(alert).to_contain_text("Linket skal være en hel webadresse")
    await expect(page.get_by_label("Kort beskrivelse på dansk")).to_have_value("Vi går ture.")
    name = f"Gåklubben {width}"
    await page.get_by_label("Navn").fill(name)
    await page.get_by_label("Link").fill("https://gaaklub.example.org")
    await page.get_by_label("Nordjylland").check()
    await page.get_by_label("Kort beskrivelse på engelsk").fill("We go for walks.")
    await page.get_by_role("button", name="Gem fællesskab").click()
    await expect(page.get_by_role("status")).to_contain_text("Fællesskabet er gemt")
    await expect(page.get_by_role("button", name=f"Slet {name}")).to_be_visible()
    await nothing_wider_than_its_box(page)
    assert await axe_violations(page) == []
    await page.screenshot(path=str(ARTIFACTS / f"dashboard-communities-{width}.png"),
                          full_page=True)
    await page.get_by_role("button", name=f"Slet {name}").click()
    await expect(page.get_by_role("status")).to_contain_text("Fællesskabet er slettet")
