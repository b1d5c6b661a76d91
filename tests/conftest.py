"""Shared fixtures: databases (a fresh SQLite file, or a fresh PostgreSQL database when
SNAKKES_TEST_POSTGRES_URL is set) and settings built the way the service builds them."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Callable
from pathlib import Path

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


@pytest.fixture(params=_backends())
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A URL to an empty database of each backend; PostgreSQL gets a database per test."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'snakkes.db'}"
        return
    async with fresh_postgres_database() as url:
        yield url


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'snakkes.db'}"


class fresh_postgres_database:  # used as a context manager, named like a function
    """CREATE DATABASE on enter, DROP on exit: each test starts from nothing."""

    def __init__(self) -> None:
        self.name = f"snakkes_test_{secrets.token_hex(6)}"
        url = make_url(POSTGRES_URL)
        self.admin_dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.url = url.set(database=self.name).render_as_string(hide_password=False)

    async def __aenter__(self) -> str:
        connection = await asyncpg.connect(self.admin_dsn)
        try:
            await connection.execute(f'CREATE DATABASE "{self.name}"')
        finally:
            await connection.close()
        return self.url

    async def __aexit__(self, *exc: object) -> None:
        connection = await asyncpg.connect(self.admin_dsn)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        finally:
            await connection.close()


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """A migrated database of each backend."""
    db = Database(database_url, Keyring(TEST_SECRET.encode()))
    await migrate.upgrade(db)
    yield db
    await db.close()


SettingsFactory = Callable[..., Settings]


@pytest.fixture
def make_settings(tmp_path: Path) -> SettingsFactory:
    """Settings from the example config plus SNAKKES_* overrides, as an operator sets them."""

    def factory(**overrides: str) -> Settings:
        environ = {
            "SNAKKES_SERVICE_DATA_DIR": str(tmp_path / "var"),
            "SNAKKES_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'var' / 'snakkes.db'}",
            "SNAKKES_SECURITY_SECRET_KEY": TEST_SECRET,
        }
        environ.update({f"SNAKKES_{key.upper()}": value for key, value in overrides.items()})
        return load_settings(None, environ)

    return factory
