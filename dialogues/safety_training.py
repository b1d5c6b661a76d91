"""Training the safety net's screen and head from the labelled corpus, with numpy only.

``snakkes safety train`` runs :func:`train`: it reads ``dialogues/data/safety/corpus_*.yaml``,
embeds every message once, cross-validates (5 folds, fixed seed) to choose the thresholds,
then fits on everything and writes ``head.npz``. The thresholds are chosen on the corpus
alone: never on the held-out set (``tests/data/safety_heldout.yaml``), which only reports.

Threshold rule (out-of-fold predictions, lexicon included, as the service runs):
- the head's pair (P(clear), P(ambiguous)+P(clear)) maximises the sum of clear risk
  answered as clear and ambiguous distress flagged at all, subject to false alarms of at
  most 4 % on ordinary talk and 8 % on idioms (below the issue's 5 % and 10 %, for margin);
- a lexicon hit is overruled when the head is very sure the text is ordinary (an idiom the
  lexicon's guards miss), at the lowest P(none) that loses at most 1 % of the clear risk
  the lexicon caught;
- the screen's threshold lets through every risky message the rest of the net catches,
  with a margin (0.8 times the lowest such score).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import yaml

from dialogues.embedding import Embedder
from dialogues.safety import CrisisNet
from dialogues.safety_model import BUCKETS, Head, Level, SafetyModel, Screen, features

__all__ = ["CORPUS_DIR", "Example", "evaluate", "load_examples", "train"]

CORPUS_DIR: Final = Path(__file__).resolve().parent / "data" / "safety"
SEED: Final = 20261201
FOLDS: Final = 5
ORDINARY_BUDGET: Final = 0.04
IDIOM_BUDGET: Final = 0.08
SCREEN_MARGIN: Final = 0.8
VETO_LOSS: Final = 0.01
LANGS: Final = ("da", "en", "mixed")
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
        return np.concatenate([x.transpose_dot(error) + 1e-4 * w, [error.sum()]])

    theta = _adam(gradient, BUCKETS + 1, 300, 0.05)
    return theta[:BUCKETS], float(theta[BUCKETS])


def _screen_scores(weights: Array, bias: float, texts: Sequence[str]) -> Array:
    return 1 / (1 + np.exp(-(_Sparse.of(texts).dot(weights) + bias)))


HIDDEN: Final = 256


def _fit_head(vectors: Array, levels: npt.NDArray[np.int64], *, steps: int = 300) -> Head:
    """One hidden layer of ReLU units over standardised embeddings; class-balanced
    cross-entropy, L2, full-batch Adam; fixed seed. (A linear head reached only about
    55 % of clear risk at 5 % false alarms out of fold; this one about 73 %.)"""
    rng = np.random.default_rng(SEED)
    mean, scale = vectors.mean(axis=0), vectors.std(axis=0) + 1e-6
    x = (vectors - mean) / scale
    k, d = len(Level), x.shape[1]
    params = [
        rng.normal(0, np.sqrt(2 / d), (d, HIDDEN)),
        np.zeros(HIDDEN),
        rng.normal(0, np.sqrt(1 / HIDDEN), (HIDDEN, k)),
        np.zeros(k),
    ]
    moments = [np.zeros_like(p) for p in params]
    squares = [np.zeros_like(p) for p in params]
    onehot = np.eye(k)[levels]
    counts = np.bincount(levels, minlength=k).astype(np.float64)
    weight = (1 / (k * np.maximum(counts, 1)))[levels][:, None]
    rate, l2 = 0.003, 1e-3
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
    return Head(mean.astype(np.float32), scale.astype(np.float32), *f32)


# -- choosing thresholds ----------------------------------------------------------------------


def _folds(examples: Sequence[Example]) -> npt.NDArray[np.int64]:
    """A fold number per example, stratified by level and language, fixed seed."""
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


def _choose_head_thresholds(
    examples: Sequence[Example], probs: Array, lexicon: npt.NDArray[np.bool_]
) -> tuple[float, float]:
    """`lexicon` here is the lexicon's hits after the veto."""
    levels = np.array([e.level for e in examples])
    idiom = np.array([e.idiom for e in examples])
    ordinary = (levels == Level.NONE) & ~idiom
    clear, ambiguous = levels == Level.CLEAR, levels == Level.AMBIGUOUS
    p_clear, p_risk = probs[:, Level.CLEAR], probs[:, Level.CLEAR] + probs[:, Level.AMBIGUOUS]
    grid = np.unique(np.round(np.quantile(probs[:, 1:].sum(axis=1)[levels == Level.NONE],
                                          np.linspace(0.5, 1.0, 101)), 4))
    # The lexicon is not tuned here: when it alone passes a budget, the model may add 1 %.
    ordinary_budget = max(ORDINARY_BUDGET, _rate(lexicon, ordinary) + 0.01)
    idiom_budget = max(IDIOM_BUDGET, _rate(lexicon, idiom) + 0.01)
    best: tuple[float, float, float, float, float] | None = None
    for t_clear in grid:
        as_clear = lexicon | (p_clear >= t_clear)
        for t_risk in grid:
            flagged = as_clear | (p_risk >= t_risk)
            alarms = _rate(flagged, ordinary), _rate(flagged, idiom)
            if alarms[0] > ordinary_budget or alarms[1] > idiom_budget:
                continue
            recall = _rate(as_clear, clear) + _rate(flagged, ambiguous)
            score = (recall, _rate(as_clear, clear), -sum(alarms), t_clear, t_risk)
            if best is None or score[:3] > best[:3]:
                best = score
    if best is None:
        return 0.99, 0.99
    return best[3], best[4]


def _rate(hit: npt.NDArray[np.bool_], among: npt.NDArray[np.bool_]) -> float:
    return float(hit[among].mean()) if among.any() else 0.0


@dataclass(frozen=True)
class Trained:
    model: SafetyModel
    report: str


def train(
    examples: Sequence[Example], embedder: Embedder, lexicon: CrisisNet,
    *, log: Callable[[str], None] = print,
) -> Trained:
    """Cross-validate to pick thresholds, then fit on everything."""
    texts = [e.text for e in examples]
    log(f"{len(examples)} messages; embedding them ...")
    vectors = np.concatenate(
        [embedder.embed(texts[i : i + 64]) for i in range(0, len(texts), 64)]
    ).astype(np.float64)
    levels = np.array([int(e.level) for e in examples], dtype=np.int64)
    risky = levels != Level.NONE
    lexicon_hits = np.array([lexicon.check(t) is not None for t in texts])
    fold = _folds(examples)
    oof_probs = np.zeros((len(examples), len(Level)))
    oof_screen = np.zeros(len(examples))
    for k in range(FOLDS):
        train_, test = fold != k, fold == k
        oof_probs[test] = _fit_head(vectors[train_], levels[train_]).probabilities(vectors[test])
        sw, sb = _fit_screen(_pick(texts, train_), risky[train_])
        oof_screen[test] = _screen_scores(sw, sb, _pick(texts, test))
        log(f"fold {k + 1}/{FOLDS} done")
    veto = _choose_veto(levels, oof_probs, lexicon_hits)
    kept = lexicon_hits & (oof_probs[:, Level.NONE] < veto)
    t_clear, t_risk = _choose_head_thresholds(examples, oof_probs, kept)
    caught = risky & ~kept & (
        (oof_probs[:, Level.CLEAR] >= t_clear)
        | (oof_probs[:, Level.CLEAR] + oof_probs[:, Level.AMBIGUOUS] >= t_risk)
    )
    screen_threshold = float(SCREEN_MARGIN * oof_screen[caught].min()) if caught.any() else 0.0
    passed = float((oof_screen >= screen_threshold)[~risky].mean()) if (~risky).any() else 0.0
    sw, sb = _fit_screen(texts, risky)
    model = SafetyModel(
        Screen(sw.astype(np.float32), sb, screen_threshold),
        _fit_head(vectors, levels), t_clear, t_risk, veto,
    )
    oof_levels = _levels_from(oof_probs, oof_screen, kept, model)
    lines = [
        f"thresholds (cross-validated): P(clear) >= {t_clear:.2f}; "
        f"P(ambiguous)+P(clear) >= {t_risk:.2f}; screen >= {screen_threshold:.4f}; "
        f"lexicon overruled at P(none) >= {veto:.3f} "
        f"({int((lexicon_hits & ~kept).sum())} of {int(lexicon_hits.sum())} corpus hits)",
        f"screen: {passed:.0%} of ordinary corpus messages go on to the model (out of fold)",
        "out-of-fold figures on the training corpus (lexicon, screen and head together):",
        evaluate(examples, oof_levels),
    ]
    return Trained(model, "\n".join(lines))


def _pick(texts: Sequence[str], mask: npt.NDArray[np.bool_]) -> list[str]:
    return [text for text, keep in zip(texts, mask, strict=True) if keep]


def _levels_from(
    probs: Array, screen: Array, lexicon: npt.NDArray[np.bool_], model: SafetyModel
) -> list[Level]:
    result: list[Level] = []
    for p, s, lex in zip(probs, screen, lexicon, strict=True):
        if lex:
            result.append(Level.CLEAR)
        elif s < model.screen.threshold:
            result.append(Level.NONE)
        elif p[Level.CLEAR] >= model.clear_threshold:
            result.append(Level.CLEAR)
        elif p[Level.CLEAR] + p[Level.AMBIGUOUS] >= model.risk_threshold:
            result.append(Level.AMBIGUOUS)
        else:
            result.append(Level.NONE)
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
