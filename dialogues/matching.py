"""Keyword patterns for typed answers: case-, accent- and æøå-insensitive, on word
boundaries. A pattern is one or more words; a trailing `*` on a word matches any ending
("stud*" matches "studier"). Both sides are folded with dialogues.text.fold, so a pattern
written once in ordinary Danish matches "skole", "Skøle" and "skoole" alike."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from dialogues.text import fold_word, folded_words, normalize


@dataclass(frozen=True)
class Pattern:
    source: str
    words: tuple[str, ...]
    prefix_last: bool

    @classmethod
    def compile(cls, source: str) -> Pattern:
        prefix = source.rstrip().endswith("*")
        words = tuple(fold_word(word) for word in normalize(source.rstrip("* ")).split())
        if not words:
            raise ValueError(f"empty keyword pattern: {source!r}")
        return cls(source, words, prefix)

    def found_in(self, text_words: list[str]) -> bool:
        size = len(self.words)
        if size > 1 and self.words[0] not in text_words:
            return False
        for start in range(len(text_words) - size + 1):
            window = text_words[start : start + size]
            if window[:-1] != list(self.words[:-1]):
                continue
            last, wanted = window[-1], self.words[-1]
            if last == wanted or (self.prefix_last and last.startswith(wanted)):
                return True
        return False


@dataclass(frozen=True)
class Keywords:
    """Patterns per language; a message is checked against all languages (people mix)."""

    patterns: tuple[Pattern, ...] = ()
    # Checked for every message against every pattern in view, so one-word patterns (most
    # of them) are looked up in a set or by one startswith rather than one by one.
    _words: frozenset[str] = field(init=False, repr=False, compare=False)
    _prefixes: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _phrases: tuple[Pattern, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        single = [p for p in self.patterns if len(p.words) == 1]
        object.__setattr__(self, "_words", frozenset(p.words[0] for p in single))
        prefixes = tuple(p.words[0] for p in single if p.prefix_last)
        object.__setattr__(self, "_prefixes", prefixes)
        object.__setattr__(self, "_phrases", tuple(p for p in self.patterns if p not in single))

    @classmethod
    def compile(cls, sources: Iterable[str]) -> Keywords:
        return cls(tuple(Pattern.compile(source) for source in sources))

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def match(self, text_words: list[str]) -> bool:
        if not self._words.isdisjoint(text_words):
            return True
        if self._prefixes and any(word.startswith(self._prefixes) for word in text_words):
            return True
        return any(pattern.found_in(text_words) for pattern in self._phrases)

    def longest(self, text_words: list[str]) -> int:
        """The number of words of the longest pattern found (0: none), so that "næsten
        aldrig" can win over "aldrig"."""
        if not self.match(text_words):
            return 0
        return max(
            (len(p.words) for p in self.patterns if p.found_in(text_words)), default=0
        )


def words_of(text: str) -> list[str]:
    """The folded words of a message, computed once per message."""
    return folded_words(text)
