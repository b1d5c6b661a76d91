"""Keyword patterns for typed answers: case-, accent- and æøå-insensitive, on word
boundaries. A pattern is one or more words; a trailing `*` on a word matches any ending
("stud*" matches "studier"). Both sides are folded with dialogues.text.fold, so a pattern
written once in ordinary Danish matches "skole", "Skøle" and "skoole" alike."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

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

    @classmethod
    def compile(cls, sources: Iterable[str]) -> Keywords:
        return cls(tuple(Pattern.compile(source) for source in sources))

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def match(self, text_words: list[str]) -> bool:
        return any(pattern.found_in(text_words) for pattern in self.patterns)


def words_of(text: str) -> list[str]:
    """The folded words of a message, computed once per message."""
    return folded_words(text)
