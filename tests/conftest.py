"""Shared fixtures: databases (a fresh SQLite file, or a fresh PostgreSQL database when
SNAKKES_TEST_POSTGRES_URL is set) and settings built the way the service builds them.

The migrations run once per session, into a template of each backend (a SQLite file; a
PostgreSQL database); each test's database is a copy of it (a file copy; CREATE DATABASE
... TEMPLATE, which costs what a plain CREATE DATABASE costs, since that copies template1).
The copy is byte for byte what `migrate.upgrade` built, so the service's own upgrade at
start is the no-op it is on a running installation. Tests of migrating from nothing
(`snakkes migrate` and `snakkes run` on a fresh machine, tests/e2e/test_cli.py) start from
an empty directory of their own."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from bot.config import Settings, load_settings
from storage import migrate
from storage.crypto import Keyring
from storage.db import Database

POSTGRES_URL = os.environ.get("SNAKKES_TEST_POSTGRES_URL", "")
TEST_SECRET = "test-secret-key-" + "x" * 32


def _backends() -> list[object]:
    return [
        "sqlite",
        pytest.param(
            "postgresql",
            marks=pytest.mark.skipif(
                not POSTGRES_URL, reason="SNAKKES_TEST_POSTGRES_URL is not set"
            ),
        ),
    ]


def run_apart(work: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine to the end on a loop of its own (a test's loop may be running)."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(work)
        except BaseException as error:  # handed to the caller below
            errors.append(error)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


async def _migrate(url: str) -> None:
    db = Database(url, Keyring(TEST_SECRET.encode()))
    try:
        await migrate.upgrade(db)
    finally:
        await db.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file the migrations built, once per session; tests get copies."""
    path = tmp_path_factory.mktemp("template") / "snakkes.db"
    run_apart(_migrate(f"sqlite+aiosqlite:///{path}"))
    assert not path.with_name(path.name + "-wal").exists(), "the template's WAL was not folded"
    return path


def seed_sqlite(template: Path, target: Path) -> None:
    """A migrated database at *target* (a copy of the template), unless one is there."""
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, target)


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A PostgreSQL database the migrations built, once per session: the TEMPLATE of each
    test's database. Dropped at the end of the session."""
    if not POSTGRES_URL:
        pytest.skip("SNAKKES_TEST_POSTGRES_URL is not set")
    template = fresh_postgres_database(prefix="snakkes_template_")
    run_apart(template.create())
    try:
        run_apart(_migrate(template.url))
        yield template.name
    finally:
        run_apart(template.drop())


@pytest.fixture(params=_backends())
async def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> AsyncIterator[str]:
    """A URL to a migrated database of each backend, a copy of the session's template;
    PostgreSQL gets a database per test."""
    if request.param == "sqlite":
        path = tmp_path / "snakkes.db"
        seed_sqlite(sqlite_template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    template = request.getfixturevalue("postgres_template")
    async with fresh_postgres_database(template=template) as url:
        yield url


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'snakkes.db'}"


class fresh_postgres_database:  # used as a context manager, named like a function
    """CREATE DATABASE on enter, DROP on exit: each test starts from nothing, or from a copy
    of *template* (a database nobody is connected to)."""

    def __init__(self, *, template: str = "", prefix: str = "snakkes_test_") -> None:
        self.name = f"{prefix}{secrets.token_hex(6)}"
        self.template = template
        url = make_url(POSTGRES_URL)
        self.admin_dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.url = url.set(database=self.name).render_as_string(hide_password=False)

    async def create(self) -> None:
        copy = f' TEMPLATE "{self.template}"' if self.template else ""
        connection = await asyncpg.connect(self.admin_dsn)
        try:
            await connection.execute(f'CREATE DATABASE "{self.name}"{copy}')
        finally:
            await connection.close()

    async def drop(self) -> None:
        connection = await asyncpg.connect(self.admin_dsn)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        finally:
            await connection.close()

    async def __aenter__(self) -> str:
        await self.create()
        return self.url

    async def __aexit__(self, *exc: object) -> None:
        await self.drop()


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """A migrated database of each backend."""
    db = Database(database_url, Keyring(TEST_SECRET.encode()))
    await migrate.upgrade(db)
    yield db
    await db.close()


SettingsFactory = Callable[..., Settings]


@pytest.fixture
def make_settings(tmp_path: Path, sqlite_template: Path) -> SettingsFactory:
    """Settings from the example config plus SNAKKES_* overrides, as an operator sets them.
    The default database (a SQLite file in the data directory) is a copy of the template."""

    def factory(**overrides: str) -> Settings:
        default = tmp_path / "var" / "snakkes.db"
        environ = {
            "SNAKKES_SERVICE_DATA_DIR": str(tmp_path / "var"),
            "SNAKKES_DATABASE_URL": f"sqlite+aiosqlite:///{default}",
            "SNAKKES_SECURITY_SECRET_KEY": TEST_SECRET,
        }
        environ.update({f"SNAKKES_{key.upper()}": value for key, value in overrides.items()})
        if "database_url" not in overrides:
            seed_sqlite(sqlite_template, default)
        return load_settings(None, environ)

    return factory
