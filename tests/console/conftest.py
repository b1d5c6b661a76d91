"""Console tests share the end-to-end harness: the real service on a real port, PTB
against the Bot API double for Telegram, and the console's own organisation (open at all
hours, two conversations per volunteer)."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Snakkes, double, start_snakkes
from tests.volunteers.conftest import StartWith, start_with
from volunteers.organisations import Organisation

__all__ = ["double", "service", "start_snakkes", "start_with"]

EXAMPLE = Organisation(slug="example", name="Eksempelforeningen", always_open=True,
                       capacity=2)


@pytest.fixture
async def service(start_with: StartWith) -> Snakkes:
    return await start_with(EXAMPLE)
