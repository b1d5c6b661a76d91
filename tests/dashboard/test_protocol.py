"""The dashboard over HTTP: log-in, sessions and their cookies, CSRF, the rate limit,
redirects, what each role may see, CSV, volunteer management."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio

from bot.dashboard.routes import COOKIE
from tests.dashboard.conftest import PASSWORD, csrf_of, log_in
from tests.e2e.conftest import Snakkes

pytestmark = pytest.mark.asyncio(loop_scope="module")
MARCH = "year=2026&per=quarter"


@pytest_asyncio.fixture(loop_scope="module")
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/dashboard"),
        ("GET", "/dashboard/"),
        ("GET", f"/dashboard/export.csv?{MARCH}"),
        ("GET", "/dashboard/volunteers"),
        ("POST", "/dashboard/volunteers/invite"),
        ("POST", "/dashboard/volunteers/deactivate"),
        ("POST", "/dashboard/logout"),
    ],
)
async def test_every_route_without_a_session_goes_to_log_in(
    service: Snakkes, client: aiohttp.ClientSession, method: str, path: str
) -> None:
    async with client.request(method, service.url + path, allow_redirects=False) as answer:
        assert answer.status == 302
        assert answer.headers["Location"] == "/dashboard/login"


async def test_log_in_sets_a_strict_http_only_cookie_and_log_out_ends_it(
    service: Snakkes, client: aiohttp.ClientSession
) -> None:
    wrong = await log_in(client, service.url, "anna", "not the password at all")
    assert wrong.status == 401
    assert COOKIE not in wrong.cookies
    answer = await log_in(client, service.url, "anna")
    assert answer.status == 302
    assert answer.headers["Location"] == "/dashboard"
    cookie = answer.cookies[COOKIE]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == "/dashboard"
    async with client.get(f"{service.url}/dashboard?{MARCH}") as page:
        assert page.status == 200
        html = await page.text()
        csp = page.headers["Content-Security-Policy"]
    assert "form-action 'self'" in csp
    assert "script-src" not in csp  # default-src 'none': no script at all
    assert page.headers["Cache-Control"] == "no-store"
    assert "<svg" in html
    # Anna coordinates "example": her rows, not the other organisation's, no org choice.
    assert 'data-key="claimed/example"' in html
    assert 'data-key="claimed/other"' not in html
    assert 'data-key="claimed"' not in html
    assert 'id="org"' not in html
    async with client.post(f"{service.url}/dashboard/logout", data={"csrf": csrf_of(html)},
                           allow_redirects=False) as out:
        assert out.status == 302
        assert out.headers["Location"] == "/dashboard/login"
    async with client.get(f"{service.url}/dashboard", allow_redirects=False) as after:
        assert after.status == 302


async def test_a_post_without_the_csrf_token_is_refused(
    service: Snakkes, client: aiohttp.ClientSession
) -> None:
    await log_in(client, service.url, "anna")
    for data in ({"org": "example", "role": "volunteer"},
                 {"org": "example", "role": "volunteer", "csrf": "forged"}):
        async with client.post(f"{service.url}/dashboard/volunteers/invite", data=data,
                               allow_redirects=False) as answer:
            assert answer.status == 403
            assert "CSRF" in await answer.text()
    # The log-in form has its own token (a cookie and a field that must match).
    async with client.post(f"{service.url}/dashboard/login", allow_redirects=False,
                           data={"name": "anna", "password": PASSWORD}) as answer:
        assert answer.status == 403


async def test_log_ins_are_rate_limited_per_name(service: Snakkes) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
        for _ in range(5):
            assert (await log_in(client, service.url, "otto", "wrong password!!")).status == 401
        limited = await log_in(client, service.url, "otto")  # even the right password
        assert limited.status == 429
        assert "For mange forsøg" in await limited.text()
        # Another name from the same address is not yet limited.
        assert (await log_in(client, service.url, "ada")).status == 302


async def test_an_admin_chooses_the_organisation_and_downloads_the_same_numbers(
    service: Snakkes, client: aiohttp.ClientSession
) -> None:
    await log_in(client, service.url, "ada")
    async with client.get(f"{service.url}/dashboard?{MARCH}") as page:
        html = await page.text()
    assert 'data-key="claimed/other"' in html
    assert 'id="org"' in html
    async with client.get(f"{service.url}/dashboard/export.csv?{MARCH}&org=other") as csv:
        assert csv.status == 200
        assert csv.headers["Content-Type"].startswith("text/csv")
        assert "attachment" in csv.headers["Content-Disposition"]
        text = await csv.text()
    lines = text.lstrip("\ufeff").splitlines()
    assert lines[0] == "Tabel;Række;1. kvt. 2026;2. kvt. 2026;3. kvt. 2026"
    assert "Samtaler med frivillige;  other;<5;<5;<5" in lines
    assert "example" not in text


async def test_volunteers_are_invited_listed_and_deactivated(
    service: Snakkes, client: aiohttp.ClientSession
) -> None:
    await log_in(client, service.url, "anna")
    async with client.get(f"{service.url}/dashboard/volunteers") as page:
        html = await page.text()
    assert "Sol" in html  # example's volunteer
    assert "Maane" not in html  # the other organisation's
    token = csrf_of(html)
    async with client.post(f"{service.url}/dashboard/volunteers/invite",
                           data={"org": "example", "role": "volunteer", "csrf": token}) as made:
        assert made.status == 200
        assert "Engangskode til invitation" in await made.text()
    async with client.post(f"{service.url}/dashboard/volunteers/invite",
                           data={"org": "other", "role": "volunteer", "csrf": token}) as denied:
        assert denied.status == 400
    async with client.post(f"{service.url}/dashboard/volunteers/deactivate",
                           data={"alias": "Maane", "org": "other", "csrf": token}) as denied:
        assert denied.status == 403
    async with client.post(f"{service.url}/dashboard/volunteers/deactivate",
                           data={"alias": "Sol", "org": "example", "csrf": token}) as done:
        assert done.status == 200
        assert "Sol er deaktiveret" in await done.text()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=2026-03-01&to=2026-03-31&granularity=month", "vises ikke længere"),
        ("from=9999-12-01&to=9999-12-31", "vises ikke længere"),
        ("year=99999999999999999999999&per=week", "kan ikke vises"),
        ("year=2026&per=day", "kan ikke vises"),
        ("year=%D9%A3&per=%3Cscript%3E", "kan ikke vises"),
    ],
)
async def test_a_report_that_may_not_be_shown_gets_the_default_and_says_why(
    service: Snakkes, client: aiohttp.ClientSession, query: str, message: str
) -> None:
    await log_in(client, service.url, "anna")
    async with client.get(f"{service.url}/dashboard?{query}") as page:
        assert page.status == 200
        html = await page.text()
    assert message in html
    assert "<script>" not in html
    for kind in ("csv", "xlsx", "json", "research.csv"):
        async with client.get(f"{service.url}/dashboard/export.{kind}?{query}") as export:
            assert export.status == 200


async def test_the_log_in_page_is_danish_first_with_english_by_a_switch(
    client: aiohttp.ClientSession, service: Snakkes
) -> None:
    async with client.get(f"{service.url}/dashboard/login") as answer:
        page = await answer.text()
    assert "Log ind som koordinator" in page
    assert "Adgangskode" in page
    async with client.get(f"{service.url}/dashboard/login?lang=en") as answer:
        page = await answer.text()
    assert "Coordinator log-in" in page
    async with client.post(f"{service.url}/dashboard/login?lang=da",
                           data={"name": "nobody", "password": "x", "csrf": "x"}) as answer:
        assert answer.status == 403
        assert "Formularen var udløbet" in await answer.text()
