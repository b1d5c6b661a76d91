"""Understanding by meaning: the second pass after the keywords.

Typed text that no keyword explains is compared, by sentence embedding, with example
phrases of what could be meant here (the buttons in view, the global intents, the topics)
and with examples of things people say about themselves ("listen": nothing to pick, just
to hear). The closest label wins when it is close enough and clearly ahead; when it is
only roughly close, the conversation asks one clarifying question with the likely labels.

The embedding model is behind a small Protocol, so the matcher can be tested with any
embedder and the service can hand in the one vector it computes per message. The example
phrases are embedded once: their vectors are kept in a small file in the repository
(`snakkes dialogues embed` rebuilds it), and any phrase missing from it is embedded at
start-up.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dialogues.embedding import Embedder, Vector

LISTEN = "listen"  # the label of "something to hear, not to pick"
CACHE_FILE = Path(__file__).resolve().parent / "content" / "listening_vectors.npz"


@dataclass(frozen=True)
class Thresholds:
    """Cosine similarities (multilingual-e5 puts unrelated sentences near 0.8)."""

    accept: float = 0.905  # the best label at least this close...
    margin: float = 0.02  # ...and this far ahead of the next label and of "listen"
    clarify: float = 0.89  # roughly close and ahead of "listen": ask which one
    clarify_margin: float = 0.005  # ...by at least this much
    # At a question with buttons and no free text, where the alternative is a vague
    # answer: ask which button was meant from this close.
    relaxed_clarify: float = 0.86
    # Before the generic answer, the last reading: an intent, topic or button this close is
    # offered (or, when it cannot be a button, answered) rather than nothing.
    last_chance: float = 0.865
    spread: float = 0.02  # the likely ones offered: within this much of the best


@dataclass(frozen=True)
class Reading:
    """What the second pass made of a message: `label` when sure, `likely` when it should
    ask (best first), neither when the message is something to listen to."""

    label: str | None = None
    likely: tuple[str, ...] = ()
    score: float = 0.0


class Prototypes:
    """Example phrases per label, embedded once, compared with a message in one product."""

    def __init__(self, examples: Mapping[str, Iterable[str]], vectors: Mapping[str, Vector]):
        # Rows grouped by label, so each label's best is one reduce over its slice.
        self._names = sorted(examples)
        rows: list[Vector] = []
        starts: list[int] = []
        for name in self._names:
            phrases = list(examples[name])
            if not phrases:
                continue
            starts.append(len(rows))
            rows.extend(vectors[phrase] for phrase in phrases)
        self._names = [name for name in self._names if list(examples[name])]
        self._starts = np.array(starts, dtype=np.int64)
        self._matrix = (
            np.vstack(rows).astype(np.float32) if rows else np.zeros((0, 384), np.float32)
        )

    def __contains__(self, label: str) -> bool:
        return label in self._names

    def scores(self, vector: Vector) -> dict[str, float]:
        """The best similarity of each label's phrases to `vector`."""
        if not self._names:
            return {}
        # Multiply and sum rather than a BLAS product: for one vector this is as fast, and
        # a multithreaded BLAS waking its threads on two busy cores costs tens of ms.
        similarity = np.einsum("ij,j->i", self._matrix, vector.astype(np.float32))
        best = np.maximum.reduceat(similarity, self._starts)
        return dict(zip(self._names, best.tolist(), strict=True))


def read(
    scores: Mapping[str, float], allowed: Iterable[str], thresholds: Thresholds
) -> Reading:
    """Decide among `allowed` labels (LISTEN always takes part)."""
    ranked = sorted(
        ((scores[label], label) for label in set(allowed) if label in scores), reverse=True
    )
    listen = scores.get(LISTEN, -1.0)
    if not ranked:
        return Reading()
    best, label = ranked[0]
    runner_up = ranked[1][0] if len(ranked) > 1 else -1.0
    if best < listen + thresholds.clarify_margin:
        return Reading(score=best)
    if best >= thresholds.accept and best - max(runner_up, listen) >= thresholds.margin:
        return Reading(label=label, score=best)
    if best >= thresholds.clarify:
        close = tuple(name for score, name in ranked[:3] if score >= max(listen, best - 0.02))
        return Reading(likely=close, score=best)
    return Reading(score=best)


class VectorCache:
    """Vectors of example phrases by phrase: loaded from the repository's file, with any
    phrase not in it embedded once (and reported, so the file can be rebuilt)."""

    def __init__(self, path: Path = CACHE_FILE) -> None:
        self.path = path
        self._vectors: dict[str, Vector] = {}
        if path.exists():
            with np.load(path, allow_pickle=False) as data:
                texts, vectors = data["texts"], data["vectors"].astype(np.float32)
            self._vectors = {str(text): vectors[i] for i, text in enumerate(texts)}

    def vectors(self, phrases: Iterable[str], embedder: Embedder) -> tuple[dict[str, Vector], int]:
        """Every phrase's vector, and how many had to be embedded now."""
        wanted = list(dict.fromkeys(phrases))
        missing = [phrase for phrase in wanted if phrase not in self._vectors]
        for phrase in missing:  # one by one: the model pads a batch to its longest text
            self._vectors[phrase] = embedder.embed([phrase])[0].astype(np.float32)
        return {phrase: self._vectors[phrase] for phrase in wanted}, len(missing)

    def save(self, phrases: Iterable[str]) -> None:
        wanted = sorted(set(phrases))
        np.savez_compressed(
            self.path,
            texts=np.array(wanted),
            vectors=np.vstack([self._vectors[p] for p in wanted]).astype(np.float16),
        )
