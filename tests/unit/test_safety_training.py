"""How the safety head is trained: validation that leaves one author (one corpus file) out,
the variants it also learns from, and the decision rule. No model is loaded here."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from dialogues.safety_model import Level, SafetyModel
from dialogues.safety_training import (
    Example,
    _fit_stack,
    _folds,
    augment,
    corpus_files,
    load_examples,
)


def _example(text: str, source: str, level: Level = Level.NONE) -> Example:
    return Example(text, "da", level, "", source)


def test_each_corpus_file_is_its_own_fold() -> None:
    examples = [
        _example(f"tekst {i}", f"corpus_{i % 3}.yaml", Level(i % 2)) for i in range(12)
    ]
    fold = _folds(examples)
    for i, example in enumerate(examples):
        same = {examples[j].source for j in range(12) if fold[j] == fold[i]}
        assert same == {example.source}
    assert len(set(fold.tolist())) == 3


def test_a_file_of_one_level_is_spread_over_the_other_folds() -> None:
    authors = [_example(f"tekst {i}", f"corpus_{i % 2}.yaml", Level(i % 3)) for i in range(12)]
    replies = [_example(f"ok {i}", "corpus_replies.yaml") for i in range(6)]
    fold = _folds(authors + replies)
    assert set(fold[:12].tolist()) == {0, 1}
    assert sorted(fold[12:].tolist()) == [0, 0, 0, 1, 1, 1]


def test_a_single_file_gets_five_folds() -> None:
    examples = [_example(f"tekst {i}", "corpus_one.yaml") for i in range(20)]
    assert len(set(_folds(examples).tolist())) == 5


def test_variants_write_the_way_young_people_write() -> None:
    text = "Jeg vil ikke være her mere, på ære."
    variants = augment(text)
    assert variants == augment(text)  # seeded by the text: reproducible
    assert variants[0] == "Jeg vil ikke vaere her mere, paa aere."
    assert text not in variants
    assert len(set(variants)) == len(variants)
    short = variants[1]
    assert short == short.lower()
    assert not any(c in short for c in "æøå.,")
    assert "ikk" in short.split() or "jg" in short.split()


def test_variants_of_plain_ascii_text_do_not_repeat_it() -> None:
    assert "hej" not in augment("hej")
    assert all(variant.strip() for variant in augment("ok!"))


@pytest.mark.parametrize(
    ("p", "level"),
    [
        ((0.01, 0.01, 0.98), Level.CLEAR),  # sure of clear
        ((0.02, 0.80, 0.18), Level.CLEAR),  # sure of risk, leaning towards clear
        ((0.02, 0.93, 0.05), Level.AMBIGUOUS),  # sure of risk, not leaning
        ((0.50, 0.30, 0.20), Level.NONE),
    ],
)
def test_a_head_that_leans_towards_clear_answers_clear(
    p: tuple[float, float, float], level: Level
) -> None:
    model = replace(
        SafetyModel.load(), clear_threshold=0.97, risk_threshold=0.95, lean_risk=0.95,
        lean_clear=0.10,
    )
    assert model.level_of(np.array(p, dtype=np.float32)) is level
    never = replace(model, lean_risk=2.0, lean_clear=1.0)
    expected = Level.AMBIGUOUS if level is Level.CLEAR and p[2] < 0.97 else level
    assert never.level_of(np.array(p, dtype=np.float32)) is expected


def test_the_stack_learns_what_the_screen_adds_to_the_head() -> None:
    """Out-of-source predictions where the head cannot tell risk from ordinary talk (the
    same probabilities for both) and the screen can: the stack follows the screen."""
    rng = np.random.default_rng(1)
    levels = np.array([0, 1, 2] * 200)
    head = np.tile(np.array([[0.4, 0.3, 0.3]], dtype=np.float32), (600, 1))
    screen = np.where(levels > 0, rng.uniform(0.6, 0.95, 600), rng.uniform(0.05, 0.4, 600))
    stack = _fit_stack(head, screen, levels)
    p = stack.probabilities(head[:2], np.array([0.1, 0.9], dtype=np.float32))
    assert p[0, Level.NONE] > 0.8
    assert p[1, Level.NONE] < 0.2
    assert np.allclose(p.sum(axis=1), 1.0, atol=1e-5)


def test_the_screen_spares_the_model_most_ordinary_corpus_talk() -> None:
    """The screen's threshold keeps every risky message the net catches out of source; the
    shipped screen then sends 27 % of the ordinary corpus messages on to the model, in
    sample (38 % out of source; 89 % before the fourth session). A guard, not a target."""
    model = SafetyModel.load()
    ordinary = [e.text for e in load_examples(corpus_files()) if e.level is Level.NONE]
    passed = sum(model.screen.passes(text) for text in ordinary)
    assert passed / len(ordinary) <= 0.40
