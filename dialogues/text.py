"""Text normalisation shared by the dialogue layer (pure functions, no I/O).

Two levels, both deterministic and safe to call on any user input:

``normalize(text)``
    A readable canonical form for word-boundary matching:

    * casefold (``"Jeg"`` -> ``"jeg"``, ``"ß"`` -> ``"ss"``);
    * a run of 3+ identical characters becomes 2 (``"nooooo"`` -> ``"noo"``,
      ``"dööööö"`` -> ``"doo"``), done before and after the other steps;
    * Danish letters become their standard ASCII spellings: æ -> ae, ø -> oe, å -> aa;
    * every other accent is stripped via NFKD (``"ö"`` -> ``"o"``, ``"é"`` -> ``"e"``);
    * apostrophes *inside* a word are dropped, so contractions stay one word
      (``"don't"`` -> ``"dont"``, ``"i'm"`` -> ``"im"``);
    * all other punctuation, symbols and emoji become spaces; whitespace is collapsed.

``fold(text)`` / ``fold_word(word)``
    A lossy *matching key* on top of :func:`normalize`, for spelling-tolerant
    lookups. It makes the ways young people write Danish without æøå equal:

    * ``aa`` -> ``a``, then ``ae`` -> ``a``, then ``oe`` -> ``o`` (so å/aa/a, æ/ae/a and
      ø/oe/o/ö all meet: ``"død"``, ``"doed"``, ``"dod"``, ``"död"`` -> ``"dod"``);
    * in words that mix letters and digits, common leetspeak digits become letters
      (``"su1c1de"`` -> ``"suicide"``; plain numbers such as ``"20"`` are kept);
    * every double letter becomes single (``"sellvmoord"`` -> ``"selvmord"``,
      ``"ikke"`` -> ``"ike"``); a plain number is kept as it is (``"11"``).

    Fold *both* sides (patterns and messages) and compare whole words: a pattern
    written once in ordinary Danish then matches every spelling above. The key is
    not meant to be shown to anyone.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["fold", "fold_word", "folded_words", "normalize", "words"]

_DANISH = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa"})
_RUN_OF_THREE = re.compile(r"(.)\1{2,}")
_INNER_APOSTROPHE = re.compile("(?<=\\w)['`\u2018\u2019\u00b4\u02bc](?=\\w)")
_NOT_WORD = re.compile(r"[\W_]+")
_DOUBLE = re.compile(r"(.)\1+")
_LEET = str.maketrans("013457", "oieast")
# Combining marks left by NFKD (Latin and general diacritics); removing them strips accents.
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def normalize(text: str) -> str:
    """Return the canonical, readable form of *text* (see the module docstring)."""
    result = _RUN_OF_THREE.sub(r"\1\1", text.casefold())
    if not result.isascii():
        result = unicodedata.normalize("NFKD", result.translate(_DANISH))
        result = _RUN_OF_THREE.sub(r"\1\1", _COMBINING.sub("", result))
    if "'" in result or not result.isascii() or "`" in result:
        result = _INNER_APOSTROPHE.sub("", result)
    return _NOT_WORD.sub(" ", result).strip()


def words(text: str) -> list[str]:
    """The words of ``normalize(text)``, in order."""
    return normalize(text).split()


def fold_word(word: str) -> str:
    """The matching key of one word that is already normalised (see the module docstring)."""
    if word.isdigit():
        return word  # a number keeps its digits: "11" is not "1"
    if not word.isalpha() and not word.isdigit() and any(char.isdigit() for char in word):
        word = word.translate(_LEET)
    word = word.replace("aa", "a").replace("ae", "a").replace("oe", "o")
    return _DOUBLE.sub(r"\1", word)


def folded_words(text: str) -> list[str]:
    """The matching keys of the words of *text*, in order."""
    return [fold_word(word) for word in normalize(text).split()]


def fold(text: str) -> str:
    """The matching key of *text*: its folded words joined by single spaces."""
    return " ".join(folded_words(text))
