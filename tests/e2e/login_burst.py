"""An outsider's burst of log-ins, in a process of its own (so that the client's work does
not share the service's event loop in the test): `python -m tests.e2e.login_burst URL N`
posts N log-ins with unknown names, spread over 5 addresses the trusted proxy names, all
at once, and prints their statuses as JSON."""

from __future__ import annotations

import asyncio
import json
import re
import sys

import aiohttp

LOGIN_COOKIE = "snakkes_dashboard_login"


async def burst(base: str, count: int) -> list[int]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        async with http.get(f"{base}/dashboard/login") as page:
            found = re.search(r'name="csrf" value="([^"]+)"', await page.text())
        assert found
        token = found.group(1)

        async def one(n: int) -> int:
            headers = {"Cookie": f"{LOGIN_COOKIE}={token}",
                       "X-Forwarded-For": f"192.0.2.{n % 5 + 1}"}
            data = {"name": f"unknown-{n}", "password": "no such password here", "csrf": token}
            async with http.post(f"{base}/dashboard/login", data=data, headers=headers,
                                 allow_redirects=False) as answer:
                return answer.status

        return list(await asyncio.gather(*(one(n) for n in range(count))))


if __name__ == "__main__":
    print(json.dumps(asyncio.run(burst(sys.argv[1], int(sys.argv[2])))))
