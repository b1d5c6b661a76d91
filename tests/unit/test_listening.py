"""Understanding typed text: the content loads, the vector file is complete, the reading by
meaning decides as documented (with a tiny embedder of our own), the measure's result."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from bot.config import load_settings
from bot.service import build_conversation
from dialogues import intents, measure
from dialogues.matching import Keywords, words_of
from dialogues.semantic import LISTEN, Prototypes, Thresholds, VectorCache, read
from tests.e2e.conversation_world import Case


class Refuse:
    """An embedder that must never be needed."""

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        raise AssertionError(f"not in the vector file: {list(texts)!r}")


class Axes:
    """A toy embedder: each known word is an axis; a text is the normalised sum."""

    WORDS = ("bot", "human", "evening", "morning", "sad")

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        rows = []
        for text in texts:
            row = np.array([text.count(w) for w in self.WORDS], dtype=np.float32) + 0.01
            rows.append(row / np.linalg.norm(row))
        return np.vstack(rows)


def test_the_listening_content_loads_and_names_every_intent_of_the_readme() -> None:
    listening = intents.load()
    names = {intent.reported for intent in listening.intents}
    assert {
        "bot", "thanks", "hello", "dont_know", "help", "pause", "privacy", "human", "menu",
        "communities", "advice",
    } <= names


def test_every_example_phrase_is_in_the_vector_file() -> None:
    """`snakkes dialogues embed` rebuilds the file after example phrases change."""
    settings = load_settings(None, {"SNAKKES_SECURITY_SECRET_KEY": "k" * 48})
    listener = build_conversation(settings).listener
    phrases = [p for phrases in listener.examples().values() for p in phrases]
    vectors, missing = VectorCache().vectors(phrases, Refuse())
    assert missing == 0
    assert all(v.shape == (384,) for v in vectors.values())


def test_reading_by_meaning_accepts_clarifies_or_listens() -> None:
    embedder = Axes()
    examples = {
        "intent:bot": ["bot"],
        "button:evening": ["evening"],
        "button:morning": ["morning"],
        LISTEN: ["sad"],
    }
    phrases = [p for ps in examples.values() for p in ps]
    prototypes = Prototypes(examples, {p: embedder.embed([p])[0] for p in phrases})
    allowed = ["intent:bot", "button:evening", "button:morning"]
    strict = Thresholds(accept=0.9, margin=0.1, clarify=0.6, clarify_margin=0.0)

    sure = read(prototypes.scores(embedder.embed(["bot bot"])[0]), allowed, strict)
    assert sure.label == "intent:bot"
    torn = read(prototypes.scores(embedder.embed(["evening morning"])[0]), allowed, strict)
    assert torn.label is None
    assert set(torn.likely) == {"button:evening", "button:morning"}
    heard = read(prototypes.scores(embedder.embed(["sad sad"])[0]), allowed, strict)
    assert heard.label is None
    assert heard.likely == ()


@pytest.mark.parametrize(
    ("answers", "node"),
    [
        ({}, "measure.result_skipped"),
        ({"companionship": 0, "lonely": 0}, "measure.result_skipped"),
        ({"companionship": 1, "left_out": 1, "isolated": 1, "lonely": 1}, "measure.result_low"),
        ({"companionship": 2, "left_out": 2, "isolated": 1, "lonely": 3}, "measure.result_mid"),
        ({"companionship": 3, "left_out": 3, "isolated": 3, "lonely": 5}, "measure.result_high"),
        ({"lonely": 5}, "measure.result_high"),
        ({"companionship": 3}, "measure.result_mid"),
    ],
)
def test_the_measure_is_reflected_by_its_level(answers: dict[str, int], node: str) -> None:
    assert measure.result_node(answers) == node


def test_the_longest_keyword_wins() -> None:
    never = Keywords.compile(["aldrig"])
    hardly = Keywords.compile(["næsten aldrig"])
    words = words_of("naesten aldrig tbh")
    assert hardly.longest(words) > never.longest(words) > 0
    assert Keywords.compile(["11"]).longest(words_of("qwerty 1")) == 0


@pytest.mark.parametrize(
    ("typed", "written"),
    [
        ("ikk saa tit", "ikke så tit"),
        ("orker ik mer", "orker ikke mere"),
        ("r u a bot", "are you a bot"),
        ("ppl at school", "people at school"),
        ("im done", "i'm done"),
        ("dont text me", "don't text me"),
    ],
)
def test_chat_shorthand_reads_as_written_out(typed: str, written: str) -> None:
    assert words_of(typed) == words_of(written)
    assert Keywords.compile([written]).match(words_of(typed))
    assert Keywords.compile([typed]).match(words_of(written))


def test_fillers_neither_break_nor_decide_a_phrase() -> None:
    assert Keywords.compile(["how does this work"]).match(words_of("how does this even work"))
    assert Keywords.compile(["er du en bot"]).match(words_of("er du egentlig en bot"))
    assert not Keywords.compile(["how does this work"]).match(words_of("how does it work"))


def test_a_keyword_after_a_negation_does_not_count() -> None:
    morning = Keywords.compile(["morgen*", "om morgenen", "morning"])
    assert morning.longest_affirmed(words_of("ikk om morgenen, jeg sover")) == 0
    assert morning.longest_affirmed(words_of("not in the morning pls")) == 0
    assert morning.longest_affirmed(words_of("om morgenen")) == 2
    hardly = Keywords.compile(["ikke så tit"])  # a keyword that is itself a negation
    assert hardly.longest_affirmed(words_of("ikk saa tit")) == 3


def test_the_held_out_format_is_what_the_readme_says(tmp_path: Path) -> None:
    path = tmp_path / "set.yaml"
    path.write_text(
        '- {at: topic_question, topic: friends, lang: da, text: "hej",'
        " expect: [reflect, clarify]}\n"
        '- {at: menu, lang: en, text: "hi", expect: intent:hello, note: "x"}\n',
        encoding="utf-8",
    )
    first, second = Case.load_all(path)
    assert first.expect == ("reflect", "clarify")
    assert first.topic == "friends"
    assert second.expect == ("intent:hello",)
