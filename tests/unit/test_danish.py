"""The Danish a 16-year-old reads (dialogues/FLOWS.md, "Danish: style and glossary"):
Danish quotes, no formal »De«, none of the translated phrasings found in review, and no
two answers to one question that mean the same."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from dialogues.content import TEXTS_DIR
from dialogues.flows import FLOWS_DIR

LISTENING = TEXTS_DIR.parent / "listening.yaml"
OTHERS_FILES = {"safety.yaml"}  # the safety net's own texts are reviewed with it


def danish(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("da"), str):
            yield node["da"]
        for key, value in node.items():
            if key != "da":
                yield from danish(value)
    elif isinstance(node, list):
        for value in node:
            yield from danish(value)


def files() -> list[Path]:
    found = [*FLOWS_DIR.glob("*.yaml"), *TEXTS_DIR.glob("*.yaml"), LISTENING]
    return sorted(p for p in found if p.name not in OTHERS_FILES)


@pytest.mark.parametrize("path", files(), ids=lambda p: p.name)
def test_danish_texts_read_as_danish(path: Path) -> None:
    texts = list(danish(yaml.safe_load(path.read_text(encoding="utf-8"))))
    for text in texts:
        assert "”" not in text, text  # Danish quotes: »…«
        first = re.search("[«»]", text)
        assert first is None or first.group() == "»", text  # »…«, not the French «…»
        assert not re.search(r"\bDe (har|er|kan|skal|vil)\b", text), text  # the formal De
        for phrase in ("fuld af mennesker", "mærkat", "fikses", "Det er frivilligt"):
            assert phrase not in text, (phrase, text)
    stories = " ".join(texts)
    assert stories.count("ikke en rigtig person") <= 1  # said once, not after every voice


def test_no_two_answers_to_one_question_mean_the_same() -> None:
    same = [{"Af og til", "Nogle gange"}, {"Af og til", "En gang imellem"}]
    for path in FLOWS_DIR.glob("*.yaml"):
        nodes = yaml.safe_load(path.read_text(encoding="utf-8")).get("nodes", {})
        for node in nodes.values():
            labels = {c["label"]["da"] for c in node.get("choices") or []}
            for pair in same:
                assert not pair <= labels, (path.name, labels)
