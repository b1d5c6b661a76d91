"""The console's second factor: a volunteer may set up a code from an authenticator app
(QR code or the secret shown once), and must when the organisation says so
(`require_totp = true`); the code is then asked at every log-in, wrong codes count toward
the throttle like wrong passwords, and the secret is sealed at rest."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import aiohttp
import pyotp
import pytest

from tests.console.conftest import EXAMPLE
from tests.console.helpers import PASSWORD, Volunteer, field, signed_up
from tests.e2e.conftest import Snakkes
from tests.volunteers.conftest import StartWith


async def _enrol_page(sol: Volunteer) -> tuple[str, str]:
    """The set-up page: its secret (from the hidden field) and the page."""
    async with sol.http.get(f"{sol.snakkes.url}/console/totp") as page:
        assert page.status == 200
        html = await page.text()
    return field(html, "secret"), html


async def _enrol(sol: Volunteer, code: str, secret: str) -> aiohttp.ClientResponse:
    return await sol.http.post(f"{sol.snakkes.url}/console/totp", allow_redirects=False,
                               data={"csrf": sol.csrf, "secret": secret, "totp": code})


async def _log_in(sol: Volunteer, code: str = "") -> int:
    async with sol.http.get(f"{sol.snakkes.url}/console/login") as page:
        token = field(await page.text(), "csrf")
    async with sol.http.post(
        f"{sol.snakkes.url}/console/login", allow_redirects=False,
        data={"csrf": token, "alias": sol.alias, "password": PASSWORD, "org": "example",
              "totp": code},
    ) as response:
        status = response.status
    if status == 302:
        await sol.read_csrf()
    return status


async def _log_out(sol: Volunteer) -> None:
    async with sol.http.post(f"{sol.snakkes.url}/console/logout", data={"csrf": sol.csrf},
                             allow_redirects=False) as out:
        assert out.status == 302
    sol.http.cookie_jar.clear()


def _database_file(snakkes: Snakkes) -> Path:
    url = snakkes.service.settings.database.url
    return Path(url.split("///", 1)[1])


async def test_a_volunteer_sets_up_a_code_and_then_needs_it(service: Snakkes) -> None:
    sol = await signed_up(service, "Sol")
    try:
        async with sol.http.get(f"{service.url}/console") as page:
            assert 'href="/console/totp"' in await page.text()
        secret, html = await _enrol_page(sol)
        assert "<svg" in html  # the QR code, inline (no image request, no data: URL)
        grouped = " ".join(secret[i:i + 4] for i in range(0, 32, 4))
        assert grouped in html  # and the same secret as text
        assert (await _enrol(sol, "000000", secret)).status == 400
        done = await _enrol(sol, pyotp.TOTP(secret).now(), secret)
        assert done.status == 302
        # Set up once: the page does not show a new secret any more.
        async with sol.http.get(f"{service.url}/console/totp", allow_redirects=False) as page:
            assert page.status == 302

        await _log_out(sol)
        assert await _log_in(sol) == 401  # the password alone is not enough
        assert await _log_in(sol, "123456" if pyotp.TOTP(secret).now() != "123456"
                             else "654321") == 401
        code = pyotp.TOTP(secret).now()
        assert await _log_in(sol, code) == 302
        # A code counts once: someone who saw it cannot log in with it again.
        await _log_out(sol)
        assert await _log_in(sol, code) == 401

        # Sealed at rest: the database file and its WAL do not hold the secret.
        path = _database_file(service)
        for file in (path, path.with_name(path.name + "-wal")):
            if file.exists():
                assert secret.encode() not in file.read_bytes()
    finally:
        await sol.close()


async def test_wrong_codes_are_throttled_like_passwords(service: Snakkes) -> None:
    sol = await signed_up(service, "Sol")
    try:
        secret, _ = await _enrol_page(sol)
        assert (await _enrol(sol, pyotp.TOTP(secret).now(), secret)).status == 302
        await _log_out(sol)
        wrong = "111111" if pyotp.TOTP(secret).now() != "111111" else "222222"
        for _ in range(5):
            assert await _log_in(sol, wrong) == 401
        assert await _log_in(sol, pyotp.TOTP(secret).now()) == 429
    finally:
        await sol.close()


async def test_the_organisation_can_require_the_code(start_with: StartWith) -> None:
    snakkes = await start_with(dataclasses.replace(EXAMPLE, require_totp=True))
    sol = await signed_up(snakkes, "Sol")
    try:
        # Signed up and logged in, but no console until the code is set up.
        async with sol.http.get(f"{snakkes.url}/console", allow_redirects=False) as page:
            assert page.status == 302
            assert page.headers["Location"] == "/console/totp"
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await sol.http.ws_connect(f"{snakkes.url}/console/ws",
                                      headers={"Origin": snakkes.url})
        assert refused.value.status == 403
        secret, html = await _enrol_page(sol)
        assert "Din forening kræver en kode" in html
        assert "Ikke nu" not in html  # no way round it
        assert (await _enrol(sol, pyotp.TOTP(secret).now(), secret)).status == 302
        async with sol.http.get(f"{snakkes.url}/console") as page:
            assert re.search(r"<h1>Sol · ", await page.text())
    finally:
        await sol.close()
