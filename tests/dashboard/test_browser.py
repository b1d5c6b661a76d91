"""The dashboard in a real browser (Playwright driving Debian's Chromium): log-in, charts,
the period selector, the CSV download, redirects and CSRF; screenshots to artifacts/."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.dashboard.conftest import PASSWORD
from tests.e2e.conftest import Snakkes
from tests.e2e.webchat import chromium

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
    await page.get_by_label("Name").fill(name)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Log in").click()


def cell(page: Page, key: str, column: int) -> object:
    return page.locator(f'tr[data-key="{key}"] td').nth(column)


async def test_log_in_fails_with_a_wrong_password_and_works_with_the_right_one(
    service: Snakkes, page: Page
) -> None:
    await log_in(page, service.url, "ada", "this is not it at all")
    await expect(page.get_by_role("alert")).to_contain_text("Wrong name or password")
    assert page.url.endswith("/dashboard/login")
    await log_in(page, service.url, "ada", PASSWORD)
    await expect(page.get_by_role("heading", name="Overview")).to_be_visible()


async def test_the_overview_charts_the_period_chosen_and_downloads_it(
    service: Snakkes, page: Page
) -> None:
    await log_in(page, service.url, "ada", PASSWORD)
    await page.get_by_label("From").fill("2026-03-02")
    await page.get_by_label("To").fill("2026-03-15")
    await page.get_by_label("Per", exact=True).select_option("week")
    await page.get_by_role("button", name="Show").click()
    await expect(page.locator("svg.chart")).to_have_count(3)
    # Bot conversations in both weeks: a trend line. Requests and volunteer conversations
    # are withheld in both weeks (none in week 10, so week 11's would give it away with
    # the total): stubs, not bars.
    await expect(page.locator("svg.chart polyline.s0")).to_have_count(1)
    await expect(page.locator("svg.chart rect.bar")).to_have_count(0)
    await expect(page.locator("svg.chart rect.withheld")).to_have_count(4)
    new_people = page.locator('tr[data-key="new"] td')
    await expect(new_people).to_have_text(["x", "<5", "8"])
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "dashboard-overview-1280.png"), full_page=True)
    # The second week only: nobody new then, so fewer than 5.
    await page.get_by_label("From").fill("2026-03-09")
    await page.get_by_label("To").fill("2026-03-15")
    await page.get_by_label("Per", exact=True).select_option("week")
    await page.get_by_role("button", name="Show").click()
    await expect(new_people).to_have_text(["<5", "<5"])
    await expect(page.locator('tr[data-key="requests"] td')).to_have_text(["7", "7"])
    await expect(page.locator("svg.chart rect.bar.s0")).to_have_count(1)
    async with page.expect_download() as download_info:
        await page.get_by_role("link", name="Download CSV").click()
    download = await download_info.value
    assert download.suggested_filename == "snakkes-all-2026-03-09-2026-03-15-week.csv"
    text = await asyncio.to_thread(Path(await download.path()).read_text, encoding="utf-8")
    assert text.splitlines()[0] == "table,row,2026-W11,Total"
    assert "People,New people (accepted what snakkes is),<5,<5" in text
    await page.set_viewport_size({"width": 360, "height": 800})
    await page.screenshot(path=str(ARTIFACTS / "dashboard-overview-360.png"), full_page=True)


async def test_every_dashboard_page_without_a_session_goes_to_log_in(
    service: Snakkes, page: Page
) -> None:
    for path in ("/dashboard", "/dashboard/volunteers", "/dashboard/export.csv"):
        await page.goto(service.url + path)
        assert page.url == f"{service.url}/dashboard/login", path
        await expect(page.get_by_role("heading", name="Coordinator log-in")).to_be_visible()


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
    await page.get_by_role("button", name="Create invite code").click()
    await expect(page.get_by_role("status")).to_contain_text("One-time invite code")
