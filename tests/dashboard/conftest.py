"""The dashboard's tests: the service as `snakkes run` starts it (no Telegram), on a
database that a fortnight of the real domain code has filled (tests/statistics/world.py),
with two coordinators and an administrator added as `snakkes coordinators add` adds them.
The fortnight is played once per session; each module's service starts on a copy of it."""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio

from bot.config import Settings, load_settings
from bot.dashboard.auth import hash_password
from storage import coordinators
from storage.types import utcnow
from tests.clock import SteppingClock
from tests.conftest import TEST_SECRET, run_apart
from tests.e2e.conftest import Snakkes, free_port
from tests.statistics.scenario import play
from tests.statistics.world import World, two_organisations

PASSWORD = "a long and good password"
ACCOUNTS = {"anna": ("example", False), "otto": ("other", False), "ada": ("example", True)}


def dashboard_settings(data_dir: Path) -> Settings:
    settings = load_settings(
        None,
        {
            "SNAKKES_SERVICE_DATA_DIR": str(data_dir),
            "SNAKKES_DATABASE_URL": f"sqlite+aiosqlite:///{data_dir / 'snakkes.db'}",
            "SNAKKES_SECURITY_SECRET_KEY": TEST_SECRET,
            "SNAKKES_WEB_PORT": str(free_port()),
        },
    )
    return two_organisations(settings)


async def fill(data_dir: Path) -> None:
    """Play the fortnight into data_dir/snakkes.db and add the accounts."""
    settings = dashboard_settings(data_dir)
    world = World(settings)
    await world.open()
    try:
        await play(world)
        async with world.service.database.session() as session, session.begin():
            for name, (org, admin) in ACCOUNTS.items():
                await coordinators.add(session, name, org, hash_password(PASSWORD),
                                       admin=admin, now=utcnow())
    finally:
        await world.close()


@pytest.fixture(scope="session")
def filled_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("dashboard-world")
    run_apart(fill(data_dir))
    path = data_dir / "snakkes.db"
    assert not path.with_name(path.name + "-wal").exists(), "the world's WAL was not folded"
    return path


async def filled_service(data_dir: Path, filled: Path) -> Snakkes:
    shutil.copyfile(filled, data_dir / "snakkes.db")
    snakkes = Snakkes(dashboard_settings(data_dir), SteppingClock())
    await snakkes.start()
    return snakkes


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def service(
    tmp_path_factory: pytest.TempPathFactory, filled_database: Path
) -> AsyncIterator[Snakkes]:
    snakkes = await filled_service(tmp_path_factory.mktemp("dashboard"), filled_database)
    yield snakkes
    await snakkes.stop()


async def log_in(client: aiohttp.ClientSession, base: str, name: str,
                 password: str = PASSWORD) -> aiohttp.ClientResponse:
    """GET the form (its token cookie and field), POST it; redirects are not followed."""
    async with client.get(f"{base}/dashboard/login") as page:
        token = csrf_of(await page.text())
    return await client.post(
        f"{base}/dashboard/login",
        data={"name": name, "password": password, "csrf": token},
        allow_redirects=False,
    )


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field in the page"
    return found.group(1)
