"""Handover tests share the end-to-end harness (the real service and PTB against the Bot API
double) and the database fixtures; `start_with` starts the service with organisations of
the test's own (opening hours, languages) instead of the example's."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from tests.botapi import BotApiDouble
from tests.clock import SteppingClock
from tests.conftest import SettingsFactory
from tests.e2e.conftest import TOKEN, Snakkes, double, free_port, snakkes, start_snakkes
from volunteers.organisations import Organisation

__all__ = ["double", "snakkes", "start_snakkes", "start_with"]

StartWith = Callable[..., Awaitable[Snakkes]]


@pytest.fixture
async def start_with(
    double: BotApiDouble, make_settings: SettingsFactory
) -> AsyncIterator[StartWith]:
    started: list[Snakkes] = []

    async def start(*organisations: Organisation, **overrides: Any) -> Snakkes:
        environ = {
            "telegram_token": TOKEN,
            "telegram_api_url": double.url,
            "web_port": str(free_port()),
            **overrides,
        }
        settings = dataclasses.replace(make_settings(**environ), organisations=organisations)
        instance = Snakkes(settings, SteppingClock())
        await instance.start()
        started.append(instance)
        return instance

    yield start
    for instance in started:
        await instance.stop()
