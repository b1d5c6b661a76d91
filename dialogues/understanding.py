"""What one inbound text means, worked out once, before the turn's database transaction.

The safety net in layers (see docs/safety-model.md):

1. the lexicon (:mod:`dialogues.safety`): explicit words, instant, explainable → clear;
2. a cheap screen over hashed n-grams (:mod:`dialogues.safety_model`): most ordinary
   messages stop here, without the model;
3. the head over the sentence embedding (:mod:`dialogues.embedding`): none, ambiguous
   or clear;
4. context: the person's last few texts within ten minutes, judged together as well. Held
   in this process's memory only (bounded, expiring, keyed by pseudonym), never stored.

The result is a :class:`Meaning` carried on the turn: the safety verdict, and the text's
embedding (computed when the net needed it, or on first request), so the conversation's
matching reads the same vector instead of embedding the text again.
"""

from __future__ import annotations

import logging
import threading
import unicodedata
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

import numpy as np

from dialogues.embedding import EmbeddingPool, Vector
from dialogues.safety import CrisisNet
from dialogues.safety_model import Level, SafetyModel
from dialogues.text import normalize
from storage.types import utcnow

__all__ = ["Context", "Level", "Meaning", "SafetyNet", "Verdict"]

log = logging.getLogger(__name__)

_CONTEXT_CHARS: Final = 500  # of each earlier text, joined with the new one
_CHUNK_CHARS: Final = 200
_EDGE_CHUNKS: Final = 3
# A text leaves its question open for the context (its next or last words may change the
# verdict) when it is a fragment (at most _FRAGMENT_WORDS words with letters: "jeg vil
# bare", "i have the pills"), a lexicon hit the head overruled, or the head saw risk in it
# at _OPEN_RISK or more (P(ambiguous)+P(clear)) without flagging it. A joined context in
# which no text is open and none flagged is read by the lexicon only: each part was read
# on its own (by the screen or the model) and found clearly ordinary. Chosen on risky
# corpus messages cut in two halves and sent one after the other: at 0.3 no split the net
# caught before was missed, at 0.5 one was; the model then reads about half as many joined
# texts.
_FRAGMENT_WORDS: Final = 3
_OPEN_RISK: Final = 0.3


def _chunks(text: str) -> list[str]:
    """The model's cost grows faster than the length (500 characters cost 20 times what 100
    do): a long text is read in pieces of about _CHUNK_CHARS at word boundaries, the first
    and last _EDGE_CHUNKS of them (the lexicon reads it all)."""
    if len(text) <= _CHUNK_CHARS:
        return [text]
    pieces: list[str] = []
    current = ""
    words = [
        long_word[i : i + _CHUNK_CHARS]
        for long_word in text.split()
        for i in range(0, len(long_word), _CHUNK_CHARS)
    ]
    for word in words:
        if current and len(current) + 1 + len(word) > _CHUNK_CHARS:
            pieces.append(current)
            current = ""
        current = f"{current} {word}" if current else word
    if current:
        pieces.append(current)
    if len(pieces) > 2 * _EDGE_CHUNKS:
        pieces = pieces[:_EDGE_CHUNKS] + pieces[-_EDGE_CHUNKS:]
    return pieces or [text[:_CHUNK_CHARS]]


def _unit(vector: Vector) -> Vector:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector


def _words(text: str) -> int:
    return sum(any(c.isalpha() for c in word) for word in normalize(text).split())


def _too_little(text: str) -> bool:
    """At most one word with letters and no emoji or symbol ("Maane", "blah 14", "ok 2"):
    too little for the model, which came out sure of risk on such texts; the lexicon
    ("kms") and the context (the person's next or last words) still read them. In the
    corpus only "kms" and "💊💊💊 tonight" are risky and this short."""
    symbols = any(unicodedata.category(c) == "So" for c in text)
    return _words(text) <= 1 and not symbols


@dataclass(frozen=True)
class Verdict:
    """The net's answer for one text. `layer` says which layer decided (for events and
    figures, never the text): "lexicon", "model", "screen", "context-…" or "" for none."""

    level: Level
    layer: str = ""
    category: str = ""  # the lexicon's category when it decided; else the level's name

    @property
    def risky(self) -> bool:
        return self.level is not Level.NONE


NONE: Final = Verdict(Level.NONE)


@dataclass
class Meaning:
    """One inbound text, understood. Build it with :meth:`SafetyNet.understand`."""

    text: str
    verdict: Verdict = NONE
    vector: Vector | None = None  # present when the net used the model for this text
    _pool: EmbeddingPool | None = field(default=None, repr=False)

    async def embedding(self) -> Vector | None:
        """The text's embedding, computed now if the net did not need it (None when the
        model is switched off). Never call it inside a database transaction if you can
        avoid it: it waits for the model."""
        if self.vector is None and self._pool is not None and self.text.strip():
            self.vector = (await self._pool.embed([self.text]))[0]
        return self.vector


@dataclass
class _Said:
    at: datetime
    text: str
    level: Level
    open: bool = True  # see _OPEN_RISK: the context may change its verdict


class Context:
    """The last few texts of each person, in memory only: at most `keep` per person, none
    older than `window`, at most `people` people (the least recent forgotten first)."""

    def __init__(
        self, *, window: timedelta = timedelta(minutes=10), keep: int = 3, people: int = 20_000
    ) -> None:
        self.window = window
        self.keep = keep
        self.people = people
        self._recent: OrderedDict[str, deque[_Said]] = OrderedDict()
        self._lock = threading.Lock()

    def recent(self, key: str, now: datetime) -> list[_Said]:
        with self._lock:
            said = self._recent.get(key)
            if said is None:
                return []
            while said and now - said[0].at > self.window:
                said.popleft()
            if not said:
                del self._recent[key]
            return list(said)

    def add(
        self, key: str, text: str, level: Level, now: datetime, *, open_: bool = True
    ) -> None:
        with self._lock:
            said = self._recent.pop(key, None) or deque(maxlen=self.keep)
            said.append(_Said(now, text[:_CONTEXT_CHARS], level, open_))
            self._recent[key] = said
            while len(self._recent) > self.people:
                self._recent.popitem(last=False)

    def forget(self, key: str) -> None:
        with self._lock:
            self._recent.pop(key, None)

    def __len__(self) -> int:
        return len(self._recent)


class SafetyNet:
    """All layers together. `model` and `pool` are None when `[safety] classifier = "off"`:
    then the lexicon alone decides (and context still joins texts for it)."""

    def __init__(
        self,
        lexicon: CrisisNet,
        model: SafetyModel | None = None,
        pool: EmbeddingPool | None = None,
        *,
        context: Context | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.lexicon = lexicon
        self.model = model if pool is not None else None
        self.pool = pool
        self.context = context or Context()
        self.clock = clock

    @property
    def classifier_on(self) -> bool:
        return self.model is not None

    def judge(self, text: str) -> tuple[Verdict, Vector | None]:
        """One text on its own, blocking (the model runs in the calling thread)."""
        verdict, vector, _ = self._alone(text)
        return verdict, vector

    def _alone(self, text: str) -> tuple[Verdict, Vector | None, bool]:
        """The verdict, the vector when the model was asked, and whether the text leaves
        its question open for the context (see _OPEN_RISK)."""
        hit = self.lexicon.check(text)
        fragment = _words(text) <= _FRAGMENT_WORDS
        if self.model is None or self.pool is None:
            return (Verdict(Level.CLEAR, "lexicon", hit.category) if hit else NONE), None, True
        score = self.model.screen.score(text)
        if hit is not None and score >= self.model.lexicon_sure:
            return Verdict(Level.CLEAR, "lexicon", hit.category), None, True
        if hit is None and score < self.model.screen.threshold:
            return NONE, None, fragment
        vectors = self.pool.embedder.embed(_chunks(text))
        every = self.model.probabilities(vectors, score)
        p = every[int(np.argmax(every[:, Level.AMBIGUOUS] + every[:, Level.CLEAR]))]
        vector = vectors[0] if len(vectors) == 1 else _unit(vectors.mean(axis=0))
        # A lexicon hit the head overrules is open too: read alone, its words are an idiom;
        # the lexicon alone would read the same words in the joined text as risk.
        open_ = (fragment or hit is not None
                 or float(p[Level.AMBIGUOUS] + p[Level.CLEAR]) >= _OPEN_RISK)
        if hit is not None and p[Level.NONE] < self.model.veto_threshold:
            return Verdict(Level.CLEAR, "lexicon", hit.category), vector, open_
        level = self.model.level_of(p)
        if level and _too_little(text):
            level = Level.NONE
        elif level is Level.CLEAR and fragment and p[Level.CLEAR] < self.model.clear_threshold:
            # A fragment the head only leans on towards clear ("jeg vil bare": P(clear) 0.25
            # with the fifth session's head) is asked about, not answered with the crisis
            # lines; its next words are judged together with it by the context.
            level = Level.AMBIGUOUS
        return (Verdict(level, "model", level.label) if level else NONE), vector, open_

    async def understand(self, key: str, text: str) -> Meaning:
        """The meaning of `text` from the person known as `key` (a pseudonym), judged alone
        and together with their last texts. Runs the layers off the event loop."""
        if not text.strip():
            return Meaning(text, _pool=self.pool)
        now = self.clock()
        verdict, vector, open_ = await self._judge(text)
        meaning = Meaning(text, verdict, vector, self.pool)
        earlier = self.context.recent(key, now)
        before = max([verdict.level, *(said.level for said in earlier)])
        # Judged together only when that can change the answer: nothing said is clear yet.
        if earlier and before is not Level.CLEAR:
            joined = " ".join([*(said.text for said in earlier), text])
            # A new text too short for the model adds too little for it to judge the whole
            # again ("blah 24" after "blah 23"): the lexicon reads the whole ("jeg vil bare"
            # + "dø"). So does it when every part was read by the model and found clearly
            # ordinary, none a fragment: the model is asked again only when a part is open.
            opened = open_ or before is not Level.NONE or any(s.open for s in earlier)
            if _too_little(text) or not opened:
                together = self.plain(joined).verdict
            else:
                together, _, _ = await self._judge(joined)
            if together.level > before:
                meaning.verdict = Verdict(
                    together.level, f"context-{together.layer}", together.category
                )
        if meaning.verdict.level > verdict.level:
            self.context.forget(key)  # answered as a whole: do not answer it again
        else:
            self.context.add(key, text, verdict.level, now, open_=open_)
        return meaning

    async def _judge(self, text: str) -> tuple[Verdict, Vector | None, bool]:
        """`_alone` off the event loop, on the embedding pool's threads."""
        if self.pool is None:
            return self._alone(text)
        result: tuple[Verdict, Vector | None, bool] = await self.pool.run(self._alone, text)
        return result

    def plain(self, text: str) -> Meaning:
        """The lexicon alone, at once: for callers that could not understand the text first
        (a turn made outside the core, e.g. in a test of the conversation alone)."""
        hit = self.lexicon.check(text) if text.strip() else None
        verdict = Verdict(Level.CLEAR, "lexicon", hit.category) if hit else NONE
        return Meaning(text, verdict, None, self.pool)
