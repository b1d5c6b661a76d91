"""The shipped content: valid, both languages, and never medical, diet or medication advice."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bot.service import build_conversation
from dialogues.content import TEXTS_DIR
from dialogues.flows import FLOWS_DIR
from tests.conftest import SettingsFactory

# Advice the bot must never give. A refusal ("I never give advice about medication") is
# fine, so the patterns look for advice, not for the topic.
ADVICE = [
    r"\b\d+\s?(mg|milligram|ml)\b",
    r"\b(tag|tage|take)\b.{0,20}\b(pille|piller|tablet\w*|pill|pills|medicin|medication)\b",
    r"\b(spis|eat)\b.{0,12}\b(mindre|mere|less|more|ikke|nothing)\b",
    r"\b(kalorie\w*|calorie\w*|faste|fasting|slankekur|diet plan)\b",
    r"\b(tab dig|tabe dig|lose weight by|cut carbs)\b",
    r"\b(dosis|dose|dosage)\b",
    r"\b(sovepille\w*|sleeping pill\w*|melatonin|ibuprofen|panodil|paracetamol)\b",
    r"\b(drik|drink)\b.{0,12}\b(alkohol|alcohol|øl|beer|vin|wine)\b",
]


def all_texts() -> Iterator[tuple[str, str]]:
    """(where, text) for every text the bot can say."""
    for path in sorted(FLOWS_DIR.glob("*.yaml")):
        yield from _strings(path.name, yaml.safe_load(path.read_text(encoding="utf-8")))
    for path in sorted(TEXTS_DIR.glob("*.yaml")):
        yield from _strings(path.name, yaml.safe_load(path.read_text(encoding="utf-8")))


def _strings(where: str, value: object) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            if key not in ("match", "id", "goto", "set", "free_text", "then", "action"):
                yield from _strings(f"{where}/{key}", inner)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _strings(f"{where}[{index}]", inner)
    elif isinstance(value, str):
        yield where, value


def test_the_shipped_flows_are_valid(make_settings: SettingsFactory) -> None:
    library = build_conversation(make_settings()).engine.library
    assert len(library.nodes) > 40


@pytest.mark.parametrize("pattern", ADVICE)
def test_no_medical_diet_or_medication_advice(pattern: str) -> None:
    offending = [
        f"{where}: {text[:80]!r}"
        for where, text in all_texts()
        if re.search(pattern, text, re.IGNORECASE)
    ]
    assert offending == []


def test_the_advice_patterns_catch_advice() -> None:
    for advice in ("Tag to piller før du sover", "Eat less sugar", "Try 5 mg melatonin"):
        assert any(re.search(p, advice, re.IGNORECASE) for p in ADVICE), advice


def test_the_crisis_answer_gives_the_lines_and_112_in_both_languages() -> None:
    crisis = yaml.safe_load((FLOWS_DIR / "safety.yaml").read_text(encoding="utf-8"))
    say = crisis["nodes"]["crisis"]["say"][0]
    for language in ("da", "en"):
        assert "{crisis_lines}" in say[language]
        assert "112" in say[language]
        assert "bot" in say[language]


def test_texts_directory_holds_only_text_files() -> None:
    assert all(p.suffix == ".yaml" for p in Path(TEXTS_DIR).iterdir())
