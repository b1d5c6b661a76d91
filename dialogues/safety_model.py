"""The trained parts of the safety net: a cheap screen and a classifier head.

- The *screen* is a logistic regression over hashed character n-grams and words of the
  folded text (tens of microseconds a message). It only decides whether a message is
  clearly ordinary; everything it is unsure about goes to the embedding model.
- The *head* is a small network over the message's sentence embedding
  (:mod:`dialogues.embedding`) into none / ambiguous / clear.
- The *stack* combines the two: a softmax regression over the head's log-probabilities and
  the screen's logit, fitted on their out-of-source predictions.

All three live in one small file, ``dialogues/data/safety/head.npz``, written by
``snakkes safety train`` (:mod:`dialogues.safety_training`) from the corpus files beside it;
its thresholds were chosen by cross-validation on that corpus alone.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from dialogues.text import fold_word, normalize

__all__ = ["HEAD_PATH", "Level", "SafetyModel", "Screen", "Stack", "features", "stack_inputs"]

HEAD_PATH: Final = Path(__file__).resolve().parent / "data" / "safety" / "head.npz"
BUCKETS: Final = 1 << 15
_CHAR_NGRAMS: Final = (3, 4, 5)
_MAX_CHARS: Final = 1000  # longer texts are screened on their first part; the model sees all
FloatArray = npt.NDArray[np.float32]


class Level(IntEnum):
    """How much risk a text carries; ordered, so `max` of two levels is the graver one."""

    NONE = 0
    AMBIGUOUS = 1
    CLEAR = 2

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def of(cls, label: str) -> Level:
        return cls[label.upper()]


def features(text: str) -> npt.NDArray[np.int64]:
    """Hashed feature indices of *text* (with repeats): folded words, word pairs and the
    character 3-5-grams of each word with its boundaries, so "doe", "dø" and "dod" share
    most of their features and misspellings land near the right spelling."""
    words = [fold_word(word) for word in normalize(text[:_MAX_CHARS]).split()]
    grams: list[str] = [f"w:{word}" for word in words]
    grams += [f"p:{a}_{b}" for a, b in itertools.pairwise(words)]
    for word in words:
        padded = f" {word} "
        for n in _CHAR_NGRAMS:
            grams += [padded[i : i + n] for i in range(max(len(padded) - n + 1, 0))]
    if not grams:
        return np.zeros(0, dtype=np.int64)
    return np.fromiter(
        (zlib.crc32(gram.encode()) % BUCKETS for gram in grams), dtype=np.int64, count=len(grams)
    )


@dataclass(frozen=True)
class Screen:
    """P(risk) from hashed n-grams; `passes` is True when the model must look."""

    weights: FloatArray  # (BUCKETS,)
    bias: float
    threshold: float  # below it a text is ordinary without asking the model

    def score(self, text: str) -> float:
        index = features(text)
        if index.size == 0:
            return 0.0
        z = float(self.weights[index].sum()) / np.sqrt(index.size) + self.bias
        return float(1.0 / (1.0 + np.exp(-z)))

    def passes(self, text: str) -> bool:
        return self.score(text) >= self.threshold


@dataclass(frozen=True)
class Head:
    """Small neural networks over the standardised embedding: one hidden layer of ReLU
    units, then softmax into none / ambiguous / clear. The first axis of the weights is the
    member: networks fitted alike from different seeds, their probabilities averaged (an
    ensemble; one member until the fifth session)."""

    mean: FloatArray  # (384,)
    scale: FloatArray  # (384,)
    hidden_weights: FloatArray  # (M, 384, H)
    hidden_bias: FloatArray  # (M, H)
    out_weights: FloatArray  # (M, H, 3)
    out_bias: FloatArray  # (M, 3)

    @classmethod
    def of(cls, *arrays: FloatArray) -> Head:
        """From the fields in order; weights without the member axis are one member."""
        mean, scale, w1, b1, w2, b2 = arrays
        if w1.ndim == 2:
            w1, b1, w2, b2 = w1[None], b1[None], w2[None], b2[None]
        return cls(mean, scale, w1, b1, w2, b2)

    @classmethod
    def join(cls, heads: Sequence[Head]) -> Head:
        """One ensemble of heads fitted on the same vectors (so the same standardisation)."""
        first = heads[0]
        return cls(first.mean, first.scale,
                   *(np.concatenate([getattr(h, name) for h in heads])
                     for name in _HEAD_FIELDS[2:]))

    @property
    def members(self) -> int:
        return int(self.hidden_weights.shape[0])

    def member(self, index: int) -> Head:
        """One network of the ensemble, alone."""
        part = slice(index, index + 1)
        return Head(self.mean, self.scale, self.hidden_weights[part], self.hidden_bias[part],
                    self.out_weights[part], self.out_bias[part])

    def probabilities(self, vectors: FloatArray) -> FloatArray:
        x = (vectors - self.mean) / self.scale
        hidden = np.maximum(x @ self.hidden_weights + self.hidden_bias[:, None, :], 0)
        logits = hidden @ self.out_weights + self.out_bias[:, None, :]
        logits -= logits.max(axis=-1, keepdims=True)
        exp = np.exp(logits)
        result: FloatArray = (exp / exp.sum(axis=-1, keepdims=True)).mean(axis=0).astype(
            np.float32
        )
        return result

    def arrays(self) -> dict[str, FloatArray]:
        return {f"head_{name}": getattr(self, name) for name in _HEAD_FIELDS}


_HEAD_FIELDS: Final = (
    "mean", "scale", "hidden_weights", "hidden_bias", "out_weights", "out_bias"
)


def stack_inputs(p: FloatArray, score: FloatArray) -> FloatArray:
    """The stack's inputs per text: the head's log-probabilities and the screen's logit."""
    eps = 1e-6
    logp = np.log(np.clip(p, eps, 1.0))
    s = np.clip(score, eps, 1.0 - eps)
    result: FloatArray = np.column_stack([logp, np.log(s / (1.0 - s))]).astype(np.float32)
    return result


@dataclass(frozen=True)
class Stack:
    """A softmax regression over the head's log-probabilities and the screen's logit, fitted
    on out-of-source predictions (`snakkes safety train`): the screen reads the words, the
    head the meaning, and together they separate risk from ordinary talk better than the
    head alone (docs/safety-model.md, fourth session)."""

    mean: FloatArray  # (4,)
    scale: FloatArray  # (4,)
    weights: FloatArray  # (4, 3)
    bias: FloatArray  # (3,)

    def probabilities(self, p: FloatArray, score: FloatArray) -> FloatArray:
        x = (stack_inputs(p, score) - self.mean) / self.scale
        logits = x @ self.weights + self.bias
        logits -= logits.max(axis=-1, keepdims=True)
        exp = np.exp(logits)
        result: FloatArray = (exp / exp.sum(axis=-1, keepdims=True)).astype(np.float32)
        return result


_STACK_FIELDS: Final = ("mean", "scale", "weights", "bias")


@dataclass(frozen=True)
class SafetyModel:
    """The screen, the head over embeddings, and the thresholds chosen by cross-validation."""

    screen: Screen
    head: Head
    clear_threshold: float  # P(clear) at or above: clear
    risk_threshold: float  # P(ambiguous) + P(clear) at or above: at least ambiguous
    # A lexicon hit on a text the head finds ordinary with P(none) at or above this is an
    # idiom the lexicon's guards missed ("this waiting is killing me"); 1.0 never overrules.
    veto_threshold: float = 1.0
    # Clear also when the head sees risk (P(ambiguous)+P(clear) at or above lean_risk) and
    # leans towards clear (P(clear) at or above lean_clear): a message at clear risk that the
    # head half calls ambiguous would otherwise only get the question. Above 1: never.
    lean_risk: float = 2.0
    lean_clear: float = 1.0
    # A lexicon hit whose screen score is at or above this is clear without asking the model
    # (which could only overrule it as an idiom): no corpus hit the head overruled scored
    # that high, out of source. Above 1: the model always looks.
    lexicon_sure: float = 2.0
    # The head's probabilities and the screen's score combined (see `Stack`); None: the
    # head's probabilities as they are (a head trained before the fourth session).
    stack: Stack | None = None

    def probabilities(self, vectors: FloatArray, score: float | None = None) -> FloatArray:
        """P(none, ambiguous, clear) per row of `vectors`: the head's, combined with the
        screen's `score` of the text when the model has a stack (`score` None: the head's
        alone)."""
        p = self.head.probabilities(vectors)
        if self.stack is None or score is None:
            return p
        return self.stack.probabilities(p, np.full(len(p), score, dtype=np.float32))

    def level_of(self, p: FloatArray) -> Level:
        risk = p[Level.CLEAR] + p[Level.AMBIGUOUS]
        if p[Level.CLEAR] >= self.clear_threshold or (
            risk >= self.lean_risk and p[Level.CLEAR] >= self.lean_clear
        ):
            return Level.CLEAR
        if risk >= self.risk_threshold:
            return Level.AMBIGUOUS
        return Level.NONE

    def level(self, vector: FloatArray, score: float | None = None) -> Level:
        return self.level_of(self.probabilities(vector.reshape(1, -1), score)[0])

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, Any] = {
            name: value.astype(np.float16) for name, value in self.head.arrays().items()
        }
        if self.stack is not None:
            arrays |= {
                f"stack_{name}": getattr(self.stack, name).astype(np.float32)
                for name in _STACK_FIELDS
            }
        with path.open("wb") as file:
            np.savez_compressed(
                file,
                screen_weights=self.screen.weights.astype(np.float16),
                screen_bias=np.float32(self.screen.bias),
                screen_threshold=np.float32(self.screen.threshold),
                clear_threshold=np.float32(self.clear_threshold),
                risk_threshold=np.float32(self.risk_threshold),
                veto_threshold=np.float32(self.veto_threshold),
                lean_risk=np.float32(self.lean_risk),
                lean_clear=np.float32(self.lean_clear),
                lexicon_sure=np.float32(self.lexicon_sure),
                **arrays,
            )

    @classmethod
    def load(cls, path: Path = HEAD_PATH) -> SafetyModel:
        """Raises ValueError naming the file when it is missing or malformed."""
        try:
            with np.load(path, allow_pickle=False) as data:
                screen = Screen(
                    data["screen_weights"].astype(np.float32),
                    float(data["screen_bias"]),
                    float(data["screen_threshold"]),
                )
                head = Head.of(
                    *(data[f"head_{name}"].astype(np.float32) for name in _HEAD_FIELDS)
                )
                stack = (
                    Stack(*(data[f"stack_{name}"].astype(np.float32) for name in _STACK_FIELDS))
                    if "stack_weights" in data else None
                )
                model = cls(
                    screen,
                    head,
                    float(data["clear_threshold"]),
                    float(data["risk_threshold"]),
                    float(data["veto_threshold"]),
                    float(data["lean_risk"]) if "lean_risk" in data else 2.0,
                    float(data["lean_clear"]) if "lean_clear" in data else 1.0,
                    float(data["lexicon_sure"]) if "lexicon_sure" in data else 2.0,
                    stack,
                )
        except (OSError, KeyError, ValueError, TypeError) as error:
            problem = f"{type(error).__name__}: {error}"
            raise ValueError(f"{path}: not a safety head ({problem})") from None
        if screen.weights.shape != (BUCKETS,) or head.out_weights.shape[-1] != len(Level):
            raise ValueError(f"{path}: the safety head has the wrong shape; retrain it")
        return model
