"""What typed text is understood as, at every place, measured on two sets of messages
(format and outcomes: tests/data/conversation_heldout.README.md):

- conversation_dev.yaml, written by the author of the keywords and examples (tune here);
- conversation_dev_external.yaml, the first held-out set (written apart, e4120fe). It was
  run about nine times while the understanding was built, so it is a development set now:
  tune on it freely;
- conversation_dev_probe.yaml, probes written by the engineer of the second round (who had
  read the patterns), to see whether changes generalise beyond the two sets above;
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
from tests.e2e.conversation_world import Case, World, path_to, table

DATA = Path(__file__).resolve().parents[1] / "data"
SETS = [
    "conversation_dev.yaml",
    # Held out until 2026-12-01 (271/303, 89.4 %, one intent answered with the generic
    # answer); a development set since.
    "conversation_dev_external.yaml",
    "conversation_dev_probe.yaml",
    # First (and only) run on branch listening2, 2026-12-01: 315/335 (94.0 %), no intent
    # answered with the generic answer. Only totals were read. With every layer of the
    # safety net (the "-True" case, 2026-12-02, the retrained head): 312/335 (93.1 %).
    "conversation_heldout.yaml",
]


@pytest.fixture
async def world(
    make_settings: SettingsFactory, request: pytest.FixtureRequest
) -> AsyncIterator[World]:
    """Risk judged by the lexicon alone, or (param True) by every layer of the safety net,
    as the service runs."""
    running = World(make_settings(), with_net=getattr(request, "param", False))
    await running.open()
    yield running
    await running.close()


@pytest.mark.parametrize(
    ("name", "world"),
    [(name, False) for name in SETS] + [("conversation_heldout.yaml", True)],
    indirect=["world"],
)
async def test_typed_messages_reach_what_a_person_expects(world: World, name: str) -> None:
    """Measured twice: the understanding alone (the lexicon judging risk, as the sets were
    first measured), and as the service runs it, with the whole safety net, where a
    false alarm on an everyday reply ("sure go ahead") is a miss too."""
    path = DATA / name
    if not path.exists():
        pytest.skip(f"{name} is not written yet")
    cases = Case.load_all(path)
    results = [await world.try_case(case) for case in cases]
    print(f"\n{name} (safety net: {'all layers' if world.with_net else 'lexicon'})")
    print(table(results))
    reached = sum(result.reached for result in results)
    assert reached >= 0.9 * len(results), f"{reached}/{len(results)} reached"
    ignored = [
        r.case.text
        for r in results
        if r.heard == "fallback" and any(e.startswith("intent:") for e in r.case.expect)
    ]
    assert not ignored, f"global intents answered with the generic fallback: {ignored}"


# Asked at every place, in words of their own (not the keywords or examples of
# listening.yaml): each must reach its intent, or a short question offering it.
ASKED_ANYWHERE = {
    "bot": ["hold on are you even a person", "er der en maskine i den anden ende"],
    "privacy": ["who gets to read my chats", "er der nogen der kan se hvad jeg skriver her"],
    "human": ["i need an actual person to talk to", "kan jeg få en voksen at skrive med"],
    "pause": ["ok im logging off for tonight", "jeg gider ikke skrive mere i dag"],
    "thanks": ["thank you so much for this", "du er sød, tak"],
    "hello": ["heeey", "hejsa du"],
    "dont_know": ["honestly no clue", "ingen ide ærligt", "aner det sgu ikke"],
    "help": ["how does this thing work", "hvordan bruger jeg det her"],
}
PLACES = [
    ("welcome", None), ("age", None), ("measure_offer", None), ("menu", None),
    ("topics", None), ("topic_question", "school_or_studies"), ("measure", None),
    ("measure_last", None), ("checkin_when", None), ("checkin_slot", None), ("queue", None),
]


async def test_no_global_intent_gets_the_generic_answer_anywhere(world: World) -> None:
    generic = {
        text for option in world.conversation.listener.library.fallbacks
        for text in option.values()
    }
    lost = []
    for at, topic in PLACES:
        for intent, phrases in ASKED_ANYWHERE.items():
            for text in phrases:
                lang = "en" if text.isascii() and " i " in f" {text} " else "da"
                result = await world.try_case(Case(at, lang, text, (f"intent:{intent}",), topic))
                if result.heard == "fallback" or generic & set(result.replies):
                    lost.append((at, text, result.heard))
                assert not any("anden måde" in r or "differently" in r for r in result.replies)
    assert not lost, lost


async def test_a_clarifying_question_keeps_the_buttons_in_view(world: World) -> None:
    """Unsure at the menu (eight buttons): the likely ones first, and every button of the
    menu below them (nothing dropped to make room)."""
    user = "clarify-1"
    for step in path_to("menu", None):
        menu = await world.send(user, "en", step)
    in_view = [choice.data for row in menu.replies[-1].choices for choice in row]
    assert len(in_view) == 8
    turn = await world.send(user, "en", "who's on the other side of this")
    assert turn.heard == "clarify"
    shown = [choice.data for row in turn.replies[-1].choices for choice in row]
    assert "li:bot" in shown
    assert set(in_view) <= set(shown), shown
