"""The dashboard's log-in under attack: a burst cannot outrun the throttle (counted in the
database before the password is checked), an attacker cannot lock a coordinator out, the
client's address comes from X-Forwarded-For only behind a trusted proxy, and checking
passwords never stalls the rest of the service."""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from bot.dashboard.auth import hash_password
from bot.dashboard.routes import LOGIN_COOKIE
from storage import coordinators
from storage.types import utcnow
from tests.e2e.conftest import Snakkes, StartSnakkes

pytestmark = pytest.mark.usefixtures("double")
PASSWORD = "a long and good password"
SNAKKES = str(Path(sys.executable).with_name("snakkes"))
ROOT = Path(__file__).resolve().parents[2]


async def _with_anna(snakkes: Snakkes) -> Snakkes:
    async with snakkes.service.database.session() as session, session.begin():
        await coordinators.add(session, "anna", "example", hash_password(PASSWORD),
                               admin=False, now=utcnow())
    return snakkes


@pytest.fixture
async def snakkes(start_snakkes: StartSnakkes) -> Snakkes:
    return await _with_anna(await start_snakkes(telegram_token="",
                                                web_trusted_proxies="127.0.0.1"))


class LogIn:
    """A log-in form fetched once; posts of it, each from the address given (the test's
    requests all come from 127.0.0.1, the trusted proxy, which names the client)."""

    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http, self.base, self.token = http, base, ""

    async def form(self) -> LogIn:
        async with self.http.get(f"{self.base}/dashboard/login") as page:
            found = re.search(r'name="csrf" value="([^"]+)"', await page.text())
        assert found
        self.token = found.group(1)
        return self

    async def post(self, name: str, password: str, address: str | None = None
                   ) -> tuple[int, str]:
        headers = {"Cookie": f"{LOGIN_COOKIE}={self.token}"}
        if address:
            headers["X-Forwarded-For"] = address
        async with self.http.post(
            f"{self.base}/dashboard/login", allow_redirects=False, headers=headers,
            data={"name": name, "password": password, "csrf": self.token},
        ) as answer:
            return answer.status, answer.headers.get("Retry-After", "")


def _client() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())


@pytest.mark.parametrize("right_first", [False, True], ids=["shuffled", "right-first"])
async def test_a_parallel_burst_for_one_name_cannot_outrun_the_throttle(
    start_snakkes: StartSnakkes, database_url: str, right_first: bool
) -> None:
    snakkes = await _with_anna(await start_snakkes(telegram_token="",
                                                   database_url=database_url))
    passwords = [f"wrong password no. {i}" for i in range(99)]
    random.shuffle(passwords)
    passwords.insert(0 if right_first else random.randrange(100), PASSWORD)
    async with _client() as http:
        form = await LogIn(http, snakkes.url).form()
        answers = await asyncio.gather(*(form.post("anna", p) for p in passwords))
    statuses = [status for status, _ in answers]
    checked = [s for s in statuses if s != 429]
    assert set(checked) <= {302, 401}, statuses
    # Five are checked, then the name backs off. The right password clears the name's
    # count (an attacker must not hold the coordinator up), so when it is among those five,
    # at most five more wrong ones are checked after it: never more than ten in all.
    assert len(checked) <= (10 if 302 in checked else 5), statuses
    assert checked.count(302) <= 1
    assert statuses.count(429) >= 90


async def test_wrong_passwords_from_one_address_do_not_lock_the_coordinator_out(
    snakkes: Snakkes,
) -> None:
    async with _client() as attacker, _client() as anna:
        tries = await LogIn(attacker, snakkes.url).form()
        for i in range(5):
            status, _ = await tries.post("anna", f"guess number {i} guess", "203.0.113.5")
            assert status == 401
        own = await LogIn(anna, snakkes.url).form()
        status, retry_after = await own.post("anna", PASSWORD, "198.51.100.7")
        # Back-off, not lock-out: a short wait, said in Retry-After, then she is in.
        assert status == 429
        assert 0 < int(retry_after) <= 5
        snakkes.clock.advance(seconds=int(retry_after))
        assert (await own.post("anna", PASSWORD, "198.51.100.7"))[0] == 302
        # The attacker keeps going: each wrong guess doubles the name's wait, up to a ceiling.
        waits = []
        for i in range(8):
            status, retry_after = await tries.post("anna", f"more guessing {i}!!", "203.0.113.5")
            if status == 429:
                waits.append(int(retry_after))
                snakkes.clock.advance(seconds=int(retry_after))
        assert waits == sorted(waits)
        assert max(waits) <= 300


async def test_the_address_comes_from_x_forwarded_for_only_behind_a_trusted_proxy(
    start_snakkes: StartSnakkes,
) -> None:
    for trusted, spoofable in (("127.0.0.1", False), ("", True)):
        snakkes = await start_snakkes(telegram_token="", web_trusted_proxies=trusted)
        async with _client() as http:
            form = await LogIn(http, snakkes.url).form()
            # 22 unknown names, each "from" another address: one address to the server
            # unless a trusted proxy says otherwise.
            statuses = [
                (await form.post(f"nobody{i}", "not a password at all", f"192.0.2.{i + 1}"))[0]
                for i in range(22)
            ]
        if spoofable:  # not trusted: the header is ignored, the address backs off
            assert statuses[:21] == [401] * 21
            assert statuses[21] == 429
        else:
            assert statuses == [401] * 22


async def test_password_checks_never_stall_the_service(snakkes: Snakkes) -> None:
    """100 log-ins with unknown names, 20 from each of 5 addresses (inside the per-address
    limit), from another process: /healthz answers within 100 ms (99th percentile) the
    whole time."""
    latencies: list[float] = []
    attacker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.e2e.login_burst", snakkes.url, "100",
        stdout=asyncio.subprocess.PIPE, cwd=ROOT,
    )
    finished = asyncio.create_task(attacker.communicate())
    async with _client() as prober:
        while not finished.done():
            start = time.perf_counter()
            async with prober.get(f"{snakkes.url}/healthz") as health:
                assert health.status == 200
            latencies.append(time.perf_counter() - start)
            await asyncio.wait({finished}, timeout=0.01)
    out, _ = await finished
    assert attacker.returncode == 0
    assert json.loads(out) == [401] * 100
    assert len(latencies) >= 20
    p99 = statistics.quantiles(latencies, n=100)[98]
    assert p99 < 0.1, f"/healthz p99 {p99 * 1000:.0f} ms during the log-ins"

def _cli(snakkes: Snakkes, *args: str, stdin: str = "") -> str:
    """`snakkes ARGS` as an operator runs it, on the running service's database."""
    settings = snakkes.settings
    environ = {**os.environ,
               "SNAKKES_DATABASE_URL": settings.database.url,
               "SNAKKES_SERVICE_DATA_DIR": str(settings.service.data_dir),
               "SNAKKES_SECURITY_SECRET_KEY": settings.security.secret_key.get()}
    done = subprocess.run(  # noqa: S603 - our own CLI
        [SNAKKES, *args], input=stdin, env=environ, capture_output=True, text=True,
        check=False, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


async def _logged_in(snakkes: Snakkes, password: str = PASSWORD) -> aiohttp.ClientSession:
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.get(f"{snakkes.url}/dashboard/login") as page:
        token = re.search(r'name="csrf" value="([^"]+)"', await page.text())
    assert token
    async with http.post(f"{snakkes.url}/dashboard/login", allow_redirects=False,
                         data={"name": "anna", "password": password,
                               "csrf": token.group(1)}) as answer:
        assert answer.status == 302
    return http


async def _in(snakkes: Snakkes, http: aiohttp.ClientSession) -> bool:
    async with http.get(f"{snakkes.url}/dashboard/sessions", allow_redirects=False) as page:
        return page.status == 200


async def test_sessions_end_on_a_new_password_a_new_role_deactivation_or_on_request(
    snakkes: Snakkes,
) -> None:
    first = await _logged_in(snakkes)
    try:
        async with first.get(f"{snakkes.url}/dashboard/sessions") as page:
            assert page.status == 200
            assert (await page.text()).count("<tr><td>") == 1  # her one open session
        new_password = "a new and even longer password"
        _cli(snakkes, "coordinators", "add", "anna", "--org", "example", "--password-stdin",
             stdin=new_password + "\n")
        assert not await _in(snakkes, first)  # a new password ends the old sessions
    finally:
        await first.close()

    second = await _logged_in(snakkes, new_password)
    third = await _logged_in(snakkes, new_password)
    try:
        listed = _cli(snakkes, "coordinators", "sessions", "anna")
        assert len(listed.splitlines()) == 3  # a header and two sessions
        assert "Ended 2 session(s) of anna." in _cli(snakkes, "coordinators", "sessions",
                                                     "--end", "anna")
        assert not await _in(snakkes, second)
        assert not await _in(snakkes, third)
    finally:
        await second.close()
        await third.close()

    fourth = await _logged_in(snakkes, new_password)
    try:
        _cli(snakkes, "coordinators", "add", "anna", "--org", "example", "--admin",
             "--password-stdin", stdin=new_password + "\n")
        assert not await _in(snakkes, fourth)  # another role: log in again
    finally:
        await fourth.close()

    fifth = await _logged_in(snakkes, new_password)
    try:
        _cli(snakkes, "coordinators", "deactivate", "anna")
        assert not await _in(snakkes, fifth)
        assert "anna" not in _cli(snakkes, "coordinators", "sessions")
        assert "anna" in _cli(snakkes, "coordinators", "list")
    finally:
        await fifth.close()
    async with _client() as http:
        form = await LogIn(http, snakkes.url).form()
        assert (await form.post("anna", new_password))[0] == 401


async def test_log_out_everywhere_from_the_dashboard(snakkes: Snakkes) -> None:
    one, other = await _logged_in(snakkes), await _logged_in(snakkes)
    try:
        async with one.get(f"{snakkes.url}/dashboard/sessions") as page:
            html = await page.text()
        assert html.count("<tr><td>") == 2
        csrf = re.search(r'name="csrf" value="([^"]+)"', html)
        assert csrf
        async with one.post(f"{snakkes.url}/dashboard/sessions/end", allow_redirects=False,
                            data={"csrf": csrf.group(1)}) as ended:
            assert ended.status == 302
        assert not await _in(snakkes, one)
        assert not await _in(snakkes, other)
    finally:
        await one.close()
        await other.close()
