"""The flow validator: passes on the shipped content, fails on each kind of broken file."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from dialogues import flows
from dialogues.matching import Keywords, words_of

ENTRY = {"a.start"}
PLACEHOLDERS = {"crisis_lines"}
ACTIONS = {"consent"}

GLOBAL = """
intents:
  - match: {da: [menu], en: [menu]}
    goto: a.start
fallbacks:
  - {da: "Hm?", en: "Hm?"}
  - {da: "Hvad?", en: "What?"}
"""

GOOD = """
nodes:
  start:
    say:
      - {da: "Hej {crisis_lines}", en: "Hi {crisis_lines}"}
    choices:
      - id: go
        label: {da: "Videre", en: "On"}
        goto: second
  second:
    action: consent
    say: {da: "To", en: "Two"}
"""


def write(directory: Path, flow: str) -> Path:
    directory.mkdir(exist_ok=True)
    (directory / "global.yaml").write_text(GLOBAL, encoding="utf-8")
    (directory / "a.yaml").write_text(flow, encoding="utf-8")
    return directory


def load(directory: Path) -> flows.Library:
    return flows.load(directory, entry_points=ENTRY, placeholders=PLACEHOLDERS, actions=ACTIONS)


def test_a_good_flow_loads(tmp_path: Path) -> None:
    library = load(write(tmp_path / "flows", GOOD))
    assert set(library.nodes) == {"a.start", "a.second"}
    start = library.node("a.start")
    assert start.choice_data(start.choices[0]) == "f:a.start.go"


@pytest.mark.parametrize(
    ("broken", "problem"),
    [
        (GOOD + "  lonely:\n    say: {da: x, en: y}\n", "node 'lonely': nobody can reach it"),
        (GOOD.replace("goto: second", "goto: nowhere"), "leads to missing node 'a.nowhere'"),
        (GOOD.replace('en: "Hi {crisis_lines}"', 'xx: "?"'), "text missing in en"),
        (GOOD.replace("Hej {crisis_lines}", "x" * 4097), "text in da is over 4096"),
        (GOOD.replace("Hej {crisis_lines}", "Hej {name}"), "undefined placeholder {name} in da"),
        (GOOD.replace("action: consent", "action: launch"), "unknown action 'launch'"),
        (GOOD.replace("id: go", "id: yes"), "a choice id must be a short lower-case id"),
        (GOOD.replace("    action: consent\n", "    sayy: 1\n"), "unknown key 'sayy'"),
        (GOOD.replace("        goto: second", "        goto: second\n        set: {age_band: 9}"),
         "cannot set age_band to 9"),
        ("nodes: [", "cannot be read"),
    ],
)
def test_each_broken_flow_is_reported(tmp_path: Path, broken: str, problem: str) -> None:
    with pytest.raises(flows.FlowError) as raised:
        load(write(tmp_path / "flows", broken))
    assert any(problem in p for p in raised.value.problems), raised.value.problems


def test_a_missing_entry_point_is_reported(tmp_path: Path) -> None:
    with pytest.raises(flows.FlowError, match=re.escape("entry point 'a.gone' is not a node")):
        flows.load(
            write(tmp_path / "flows", GOOD),
            entry_points={"a.start", "a.gone"},
            placeholders=PLACEHOLDERS,
            actions=ACTIONS,
        )


def test_broken_shipped_content_is_caught(tmp_path: Path) -> None:
    """Copy the real flows and break one: the validator must notice."""
    copy = tmp_path / "flows"
    shutil.copytree(flows.FLOWS_DIR, copy)
    menu = copy / "menu.yaml"
    menu.write_text(
        menu.read_text(encoding="utf-8").replace("goto: privacy", "goto: privacyy"),
        encoding="utf-8",
    )
    with pytest.raises(flows.FlowError, match=re.escape("missing node 'menu.privacyy'")):
        flows.load(
            copy,
            entry_points={"menu.start"},
            placeholders={"crisis_lines", "communities"},
            actions={"consent", "save_measure"},
        )


@pytest.mark.parametrize(
    ("pattern", "text", "hit"),
    [
        ("skole", "Jeg hader SKOLEN", False),
        ("skole*", "Jeg hader SKOLEN", True),
        ("skole", "skøle er svært", True),
        ("ingen venner", "jeg har ingen venner", True),
        ("ingen venner", "ingen har venner", False),
        ("faellesskab*", "fællesskaber", True),
        ("menu", "menuen", False),
        ("menu", "Menu!", True),
    ],
)
def test_keywords_match_on_word_boundaries_ignoring_case_and_spelling(
    pattern: str, text: str, hit: bool
) -> None:
    assert Keywords.compile([pattern]).match(words_of(text)) is hit
