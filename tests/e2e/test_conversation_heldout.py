"""What typed text is understood as, at every place, measured on two sets of messages
(format and outcomes: tests/data/conversation_heldout.README.md):

- conversation_dev.yaml, written by the author of the keywords and examples (tune here);
- conversation_dev_external.yaml, the first held-out set (written apart, e4120fe). It was
  run about nine times while the understanding was built, so it is a development set now:
  tune on it freely;
- conversation_heldout.yaml, the second held-out set, written in its own commit by someone
  who has read neither the patterns nor the sets above (only reported: never tune the bot
  by looking at its misses).

Each prints its table. The bar: at least 90 % reach an expected outcome, and no message
that expects a global intent gets the generic fallback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import SettingsFactory
from tests.e2e.conversation_world import Case, World, table

DATA = Path(__file__).resolve().parents[1] / "data"
SETS = [
    "conversation_dev.yaml",
    pytest.param(
        "conversation_dev_external.yaml",
        # Measured on 2026-12-01 as the held-out set: 271/303 (89.4 %), one intent answered
        # with the generic answer.
        marks=pytest.mark.xfail(reason="89.4 % when it was the held-out set"),
    ),
    "conversation_heldout.yaml",
]


@pytest.fixture
async def world(make_settings: SettingsFactory) -> AsyncIterator[World]:
    running = World(make_settings())
    await running.open()
    yield running
    await running.close()


@pytest.mark.parametrize("name", SETS)
async def test_typed_messages_reach_what_a_person_expects(world: World, name: str) -> None:
    path = DATA / name
    if not path.exists():
        pytest.skip(f"{name} is not written yet")
    cases = Case.load_all(path)
    results = [await world.try_case(case) for case in cases]
    print(f"\n{name}\n{table(results)}")
    reached = sum(result.reached for result in results)
    assert reached >= 0.9 * len(results), f"{reached}/{len(results)} reached"
    ignored = [
        r.case.text
        for r in results
        if r.heard == "fallback" and any(e.startswith("intent:") for e in r.case.expect)
    ]
    assert not ignored, f"global intents answered with the generic fallback: {ignored}"
