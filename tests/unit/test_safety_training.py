"""How the safety head is trained: validation that leaves one author (one corpus file) out,
the variants it also learns from, and the decision rule. No model is loaded here."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from dialogues.embedding import DIM
from dialogues.safety import CrisisNet
from dialogues.safety_model import Head, Level, SafetyModel
from dialogues.safety_training import (
    Example,
    _choose_head_thresholds,
    _fit_stack,
    _folds,
    augment,
    corpus_files,
    load_examples,
    train,
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
    shipped screen then sends 51 % of the ordinary corpus messages on to the model, in
    sample (55 % out of source; the fourth session's, nine files: 27 % and 38 %; 89 % before
    it): with sixteen files the lowest-scoring caught risky message scores lower, and its
    threshold fell from 0.148 to 0.060. A guard, not a target."""
    model = SafetyModel.load()
    ordinary = [e.text for e in load_examples(corpus_files()) if e.level is Level.NONE]
    passed = sum(model.screen.passes(text) for text in ordinary)
    assert passed / len(ordinary) <= 0.55


class _Hashed:
    """A stand-in embedder: a fixed random unit vector per word, summed (no model)."""

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        rows = []
        for text in texts:
            v = np.zeros(DIM)
            for word in text.lower().split():
                v += np.random.default_rng(zlib.crc32(word.encode())).normal(size=DIM)
            rows.append(v / (np.linalg.norm(v) or 1.0))
        return np.array(rows, dtype=np.float32).reshape(len(texts), DIM)


def _small_corpus() -> list[Example]:
    words = {Level.NONE: "skole film fodbold mor kage",
             Level.AMBIGUOUS: "træt tom alene orker ikke",
             Level.CLEAR: "piller bro farvel kniv slut"}
    examples = []
    for author in range(3):
        for level, vocabulary in words.items():
            for i in range(8):
                picked = [*vocabulary.split()[i % 5 :], f"ord{author}{i}"]
                kind = "idiom" if level is Level.NONE and i == 0 else "x"
                source = f"corpus_{author}.yaml"
                examples.append(Example(" ".join(picked), "da", level, kind, source))
    return examples


def test_training_writes_an_ensemble_that_loads_as_it_was_trained(tmp_path: Path) -> None:
    """The head is one network per seed, their probabilities averaged; the report gives each
    member alone beside the ensemble, and how ambiguous distress is answered."""
    examples = _small_corpus()
    trained = train(examples, _Hashed(), CrisisNet.default(), log=lambda _: None, seeds=(1, 2))
    head = trained.model.head
    assert head.members == 2
    vectors = _Hashed().embed([e.text for e in examples[:6]])
    both = head.probabilities(vectors)
    alone = [head.member(m).probabilities(vectors) for m in range(2)]
    assert np.allclose(both, (alone[0] + alone[1]) / 2, atol=1e-5)
    assert "the head of seed 2 alone" in trained.report
    assert "the direct question" in trained.report
    assert "risky messages caught" in trained.report  # the screen's trade-off
    path = tmp_path / "head.npz"
    trained.model.save(path)
    loaded = SafetyModel.load(path)
    assert loaded.head.members == 2
    assert np.allclose(loaded.head.probabilities(vectors), both, atol=2e-3)  # float16 weights


def test_a_head_of_one_network_saved_before_the_ensemble_still_loads() -> None:
    """Heads written before the fifth session have no member axis: one member."""
    rng = np.random.default_rng(3)
    arrays = [rng.normal(size=shape).astype(np.float32)
              for shape in ((DIM,), (DIM,), (DIM, 4), (4,), (4, 3), (3,))]
    arrays[1] = np.abs(arrays[1]) + 1
    head = Head.of(*arrays)
    assert head.members == 1
    x = rng.normal(size=(2, DIM)).astype(np.float32)
    hidden = np.maximum((x - arrays[0]) / arrays[1] @ arrays[2] + arrays[3], 0)
    logits = hidden @ arrays[4] + arrays[5]
    expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert np.allclose(head.probabilities(x), expected, atol=1e-5)


def test_among_equal_rules_the_search_asks_distress_directly() -> None:
    """Two rules catch the same clear risk and flag the same distress; the one that gives
    the distress the direct question rather than the crisis answer is chosen."""
    examples = ([_example(f"c{i}", "a", Level.CLEAR) for i in range(10)]
                + [_example(f"a{i}", "a", Level.AMBIGUOUS) for i in range(10)]
                + [_example(f"n{i}", "a") for i in range(100)])
    probs = np.array([[0.0, 0.1, 0.9]] * 10 + [[0.0, 0.95, 0.05]] * 10
                     + [[0.5 + i // 4 / 50, 0.49 - i // 4 / 50, 0.01] for i in range(100)])
    rule = _choose_head_thresholds(examples, probs, np.zeros(120, dtype=np.bool_))
    model = replace(SafetyModel.load(), clear_threshold=rule.clear, risk_threshold=rule.risk,
                    lean_risk=rule.lean_risk, lean_clear=rule.lean_clear)
    levels = [model.level_of(p.astype(np.float32)) for p in probs]
    assert levels[:10] == [Level.CLEAR] * 10
    assert levels[10:20] == [Level.AMBIGUOUS] * 10
    assert sum(level is not Level.NONE for level in levels[20:]) <= 4
