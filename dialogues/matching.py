"""Keyword patterns for typed answers: case-, accent- and æøå-insensitive, on word
boundaries. A pattern is one or more words; a trailing `*` on a word matches any ending
("stud*" matches "studier"). Both sides are folded with dialogues.text.fold, so a pattern
written once in ordinary Danish matches "skole", "Skøle" and "skoole" alike."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from dialogues.text import fold_word, folded_words, normalize


@dataclass(frozen=True)
class Pattern:
    source: str
    words: tuple[str, ...]
    prefix_last: bool

    @classmethod
    def compile(cls, source: str) -> Pattern:
        return _compiled(source)

    def found_in(self, text_words: list[str]) -> bool:
        return next(self.starts(text_words), None) is not None

    def starts(self, text_words: list[str]) -> Iterator[int]:
        """Where the pattern begins in the words, each place it is found."""
        size = len(self.words)
        if size > 1 and self.words[0] not in text_words:
            return
        for start in range(len(text_words) - size + 1):
            window = text_words[start : start + size]
            if window[:-1] != list(self.words[:-1]):
                continue
            last, wanted = window[-1], self.words[-1]
            if last == wanted or (self.prefix_last and last.startswith(wanted)):
                yield start

    def affirmed_in(self, text_words: list[str]) -> bool:
        """Found somewhere not just after a "not" ("ikke om morgenen" is no morning)."""
        if self.words[0] in _NEGATIONS:
            return self.found_in(text_words)
        return any(
            _NEGATIONS.isdisjoint(text_words[max(0, start - _NEGATION_REACH) : start])
            for start in self.starts(text_words)
        )


@dataclass(frozen=True)
class Keywords:
    """Patterns per language; a message is checked against all languages (people mix)."""

    patterns: tuple[Pattern, ...] = ()
    # Checked for every message against every pattern in view, so one-word patterns (most
    # of them) are looked up in a set or by one startswith rather than one by one.
    _words: frozenset[str] = field(init=False, repr=False, compare=False)
    _prefixes: tuple[str, ...] = field(init=False, repr=False, compare=False)
    # Phrases (two words or more) by their first word: a phrase can only be found where
    # its first word is, so a message is checked against the few whose first word it has.
    _phrases: dict[str, tuple[Pattern, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        single = [p for p in self.patterns if len(p.words) == 1]
        object.__setattr__(self, "_words", frozenset(p.words[0] for p in single))
        prefixes = tuple(p.words[0] for p in single if p.prefix_last)
        object.__setattr__(self, "_prefixes", prefixes)
        phrases: dict[str, list[Pattern]] = {}
        for pattern in self.patterns:
            if len(pattern.words) > 1:
                phrases.setdefault(pattern.words[0], []).append(pattern)
        object.__setattr__(
            self, "_phrases", {first: tuple(found) for first, found in phrases.items()}
        )

    @classmethod
    def compile(cls, sources: Iterable[str]) -> Keywords:
        return cls(tuple(Pattern.compile(source) for source in sources))

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def match(self, text_words: list[str]) -> bool:
        if self._match(text_words):
            return True
        core = without_fillers(text_words)
        return len(core) < len(text_words) and self._match(core)

    def _match(self, text_words: list[str]) -> bool:
        if not self._words.isdisjoint(text_words):
            return True
        if self._prefixes and any(word.startswith(self._prefixes) for word in text_words):
            return True
        phrases = self._phrases
        return any(
            pattern.found_in(text_words)
            for word in phrases.keys() & text_words
            for pattern in phrases[word]
        )

    def longest_affirmed(self, text_words: list[str]) -> int:
        """As `longest`, counting only what is not negated right before it."""
        if not self.match(text_words):
            return 0
        return max((len(p.words) for p in self.patterns if p.affirmed_in(text_words)), default=0)

    def longest(self, text_words: list[str]) -> int:
        """The number of words of the longest pattern found (0: none), so that "næsten
        aldrig" can win over "aldrig"."""
        if not self.match(text_words):
            return 0
        core = without_fillers(text_words)
        return max(
            (
                len(p.words)
                for p in self.patterns
                if p.found_in(text_words) or (len(core) < len(text_words) and p.found_in(core))
            ),
            default=0,
        )


def words_of(text: str) -> list[str]:
    """The folded words of a message, computed once per message, with the shorthand of
    chat spelled out ("ikk" → "ikke", "u" → "you", "ppl" → "people")."""
    return _spelled_out(folded_words(text))


def without_fillers(words: list[str]) -> list[str]:
    """The words without fillers that sit inside phrases people type ("how does this
    *even* work", "er det *egentlig* en bot"): a keyword phrase also matches across them."""
    return [word for word in words if word not in _FILLERS]


@functools.cache
def _compiled(source: str) -> Pattern:
    """A pattern is immutable: compiled once per process for each source (a service start
    compiles about 5,000, nearly all the same ones again after a restart in one process)."""
    prefix = source.rstrip().endswith("*")
    words = tuple(_spelled_out(fold_word(w) for w in normalize(source.rstrip("* ")).split()))
    if not words:
        raise ValueError(f"empty keyword pattern: {source!r}")
    return Pattern(source, words, prefix)


def _spelled_out(words: Iterable[str]) -> list[str]:
    found: list[str] = []
    for word in words:
        found.extend(_SHORTHAND.get(word, (word,)))
    return found


def _folded(words: str) -> tuple[str, ...]:
    return tuple(fold_word(word) for word in normalize(words).split())


# Chat shorthand, in both languages (people mix), as folded words → the words they stand
# for. Applied to messages and keyword patterns alike, so a pattern may use either.
_SHORTHAND: dict[str, tuple[str, ...]] = {
    fold_word(short): _folded(long)
    for short, long in {
        # Danish
        "ik": "ikke", "ikk": "ikke", "ikek": "ikke", "ike": "ikke", "mer": "mere",
        "hva": "hvad", "hvd": "hvad", "ka": "kan", "sku": "skulle", "osse": "også",
        "ogs": "også", "jg": "jeg", "dt": "det", "nogn": "nogen", "noe": "noget",
        "nogt": "noget", "hvorn": "hvornår", "mega": "meget", "mget": "meget",
        "vidst": "vist",
        # English
        "u": "you", "r": "are", "ur": "you are", "ppl": "people",
        "pls": "please", "plz": "please", "rly": "really", "abt": "about",
        "smth": "something", "sth": "something", "msg": "message", "msgs": "messages",
        "txt": "text", "txts": "texts", "convo": "conversation", "bc": "because", "cuz": "because",
        "coz": "because", "w": "with", "wanna": "want to", "gonna": "going to",
        "gotta": "got to", "tho": "though", "thx": "thanks", "ty": "thank you",
        "k": "okay", "kk": "okay", "ok": "okay", "im": "i am", "dont": "do not",
        "cant": "can not", "cannot": "can not", "wont": "will not", "didnt": "did not",
        "doesnt": "does not", "isnt": "is not", "arent": "are not", "youre": "you are",
        "ive": "i have", "whats": "what is", "thats": "that is", "its": "it is",
        "rn": "right now", "idrk": "i do not really know",
    }.items()
}
_NEGATION_REACH = 3  # words before a keyword: "not in the morning"
_NEGATIONS = frozenset(fold_word(w) for w in ("ikke", "not", "no", "never", "aldrig", "ej"))
# Words that say little inside a phrase.
_FILLERS = frozenset(
    fold_word(word)
    for word in (
        "even", "just", "really", "actually", "literally", "like", "kinda", "sorta", "lol",
        "haha", "tbh", "honestly", "so", "um", "uh", "hmm", "please", "again", "still",
        "egentlig", "egentligt", "lige", "bare", "sgu", "altså", "liksom", "lissom",
        "vel", "nok", "mon", "dog", "faktisk", "også", "igen", "stadig", "damn", "fucking",
        "freaking", "bloody", "fandme", "fanme", "pisse", "ngl", "lowkey", "basically",
    )
)
