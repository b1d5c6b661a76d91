"""The crisis safety net: runs on every incoming message, before anything else.

The lexicon lives in ``dialogues/content/safety.yaml``; this module is the small,
explainable matcher around it. Pure: standard library and PyYAML only, no I/O at import.

How a message is checked
------------------------
1. The text is normalised and folded word by word (:mod:`dialogues.text`), so
   ``"død"``, ``"doed"``, ``"dod"``, ``"DÖÖÖD"`` and ``"sellvmoord"`` / ``"selvmord"`` meet.
2. *Filler* words (``bare``, ``virkelig``, ``just``, ``literally`` ...) are dropped, so
   ``"jeg vil bare virkelig dø"`` is read as ``"jeg vil dø"``.
3. *Guards* (idioms such as ``"dø af grin"``, ``"hit me up"``) are matched first; the
   words they cover are blanked out for this message only. Guards never suppress the
   whole message: ``"jeg dør af grin, men seriøst jeg vil dø"`` still hits.
4. The patterns are tried category by category in the lexicon's ``priority`` order
   (``danger`` first: what needs help *now*); the first hit wins.

Negation is deliberately *not* a reason to stay quiet: ``"jeg vil ikke leve mere"`` is
a crisis message and the patterns say so explicitly. Erring towards a false alarm is
the intended trade-off: a false alarm costs one caring question, a miss can cost a life.

Pattern syntax (one pattern per string; words are separated by spaces)
----------------------------------------------------------------------
``word``
    The whole word, compared after folding (so write ordinary Danish with æøå).
``word*``
    Any word starting with ``word`` (at least 3 letters): ``selvmord*``.
``~word`` / ``~word*``
    Spelling tolerant: edit distance 1 (insert, delete, replace, swap) on the folded
    key, which must be at least 5 letters long: ``~selvmord*`` matches ``slevmordstanker``.
``#N``
    A number written in digits, at least N: ``taget #8 piller``.
``a|b|@group``
    Alternatives for one position; ``@group`` expands a ``synonyms`` list, whose items
    may be several words (``mig selv``), each then tried as its own sequence.
``...`` / ``...N``
    Up to ``max_gap`` (or N) other words may stand here; without it words are adjacent.
``!word``
    The next word must *not* be this (it consumes nothing): ``dræbe @mig !selv``.

Adjacent words that together form a compound (``"selv mord"``, ``"self harm"``,
``"over dosis"``) are also tried joined, exactly (not spelling tolerant).
"""

from __future__ import annotations

import itertools
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

from dialogues.content import read_yaml
from dialogues.text import fold_word, normalize

__all__ = ["CATEGORIES", "CrisisHit", "CrisisNet"]

CATEGORIES: Final = ("suicide", "self_harm", "abuse", "danger")
DEFAULT_PATH: Final = Path(__file__).resolve().parent / "content" / "safety.yaml"

_TOP_KEYS: Final = frozenset(
    {"version", "max_gap", "priority", "fillers", "synonyms", "guards", "categories"}
)
_MIN_FUZZY: Final = 5
_MIN_PREFIX: Final = 3
_MIN_COMPOUND: Final = 7
_MAX_EXPANSIONS: Final = 256
_MAX_NUMBER_DIGITS: Final = 7
_MAX_GAP: Final = 10
_LANGUAGE_CODE_LENGTH: Final = 2
_CACHE_LIMIT: Final = 50_000
_ALPHABET: Final = string.ascii_lowercase
_GUARD: Final = "guard"


@dataclass(frozen=True)
class CrisisHit:
    """A message that needs the crisis flow. Equality is by category only."""

    category: str
    pattern: str = field(default="", compare=False)  # which lexicon entry fired, for logs


@dataclass(frozen=True)
class _Step:
    atoms: frozenset[int]
    gap: int = 0
    negated: bool = False


@dataclass(frozen=True)
class _Pattern:
    category: str
    source: str
    steps: tuple[_Step, ...]

    @property
    def needs(self) -> tuple[frozenset[int], ...]:
        """The atoms that must all be present somewhere for this pattern to match."""
        return tuple(step.atoms for step in self.steps if not step.negated)


class _LexiconError(ValueError):
    pass


_WordStep = tuple[tuple[str, ...], bool]  # alternatives for one word, negated?
_Option = tuple[_WordStep, ...]  # one way to fill a token: a sequence of words
_Token = int | list[_Option]  # a gap (max words) or the ways to fill a token


def _variants(word: str) -> set[str]:
    """Every string within edit distance 1 of *word* (adjacent swaps included)."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    result = {left + right[1:] for left, right in splits if right}
    result |= {left + right[1] + right[0] + right[2:] for left, right in splits if len(right) > 1}
    result |= {left + c + right[1:] for left, right in splits if right for c in _ALPHABET}
    result |= {left + c + right for left, right in splits for c in _ALPHABET}
    return result


class _Compiler:
    """Turns the validated YAML data into atoms, indices and patterns."""

    def __init__(
        self, max_gap: int, fillers: frozenset[str], synonyms: Mapping[str, Sequence[str]]
    ) -> None:
        self.max_gap = max_gap
        self.fillers = fillers
        self.synonyms = synonyms
        self.atom_ids: dict[tuple[str, str, int], int] = {}
        self.strict_exact: dict[str, set[int]] = {}
        self.strict_prefix: dict[str, set[int]] = {}
        self.loose_exact: dict[str, set[int]] = {}
        self.loose_prefix: dict[str, set[int]] = {}
        self.numbers: list[tuple[int, int]] = []

    def atom(self, spec: str) -> int:
        if not spec:
            raise _LexiconError("empty alternative (check for '||' or a trailing '|')")
        if spec.startswith("#"):
            if not spec[1:].isdigit():
                raise _LexiconError(f"'{spec}': '#' must be followed by a whole number")
            return self._register(("number", "", int(spec[1:])))
        fuzzy = spec.startswith("~")
        body = spec[1:] if fuzzy else spec
        prefix = body.endswith("*")
        body = body[:-1] if prefix else body
        normal = normalize(body)
        if not normal or " " in normal or any(char in body for char in "*~#!@|."):
            raise _LexiconError(f"'{spec}' is not a single plain word")
        key = fold_word(normal)
        if key in self.fillers:
            raise _LexiconError(f"'{spec}' is a filler word and is never seen by patterns")
        if fuzzy and len(key) < _MIN_FUZZY:
            raise _LexiconError(
                f"'{spec}': spelling-tolerant words need at least {_MIN_FUZZY} letters"
            )
        if prefix and len(key) < _MIN_PREFIX:
            raise _LexiconError(f"'{spec}': prefixes need at least {_MIN_PREFIX} letters")
        kind = ("fuzzy_" if fuzzy else "") + ("prefix" if prefix else "exact")
        return self._register((kind, key, 0))

    def _register(self, atom: tuple[str, str, int]) -> int:
        if atom in self.atom_ids:
            return self.atom_ids[atom]
        ident = len(self.atom_ids)
        self.atom_ids[atom] = ident
        kind, key, minimum = atom
        if kind == "number":
            self.numbers.append((ident, minimum))
            return ident
        is_prefix = kind.endswith("prefix")
        strict = self.strict_prefix if is_prefix else self.strict_exact
        loose = self.loose_prefix if is_prefix else self.loose_exact
        strict.setdefault(key, set()).add(ident)
        if kind.startswith("fuzzy"):
            for variant in _variants(key):
                if len(variant) >= _MIN_PREFIX:
                    loose.setdefault(variant, set()).add(ident)
        return ident

    def pattern(self, category: str, source: str, text: str) -> list[_Pattern]:
        """Compile one lexicon string into one pattern per expansion of its groups."""
        tokens = [self._token(token) for token in text.split()]
        _check_shape(tokens)
        expansions: list[list[int | _Option]] = [[]]
        for token in tokens:
            if isinstance(token, int):
                expansions = [[*done, token] for done in expansions]
            else:
                expansions = [[*done, option] for done in expansions for option in token]
            if len(expansions) > _MAX_EXPANSIONS:
                raise _LexiconError(f"expands to more than {_MAX_EXPANSIONS} patterns")
        return [_Pattern(category, source, self._steps(expansion)) for expansion in expansions]

    def _token(self, token: str) -> _Token:
        if token.startswith("..."):
            rest = token[3:]
            if rest and not rest.isdigit():
                raise _LexiconError(f"'{token}': a gap is '...' or '...N' with a whole number N")
            return int(rest) if rest else self.max_gap
        negated = token.startswith("!")
        body = token[1:] if negated else token
        single: list[str] = []
        multi: list[list[str]] = []
        for alternative in body.split("|"):
            if not alternative.startswith("@"):
                single.append(alternative)
                continue
            name = alternative[1:]
            if name not in self.synonyms:
                raise _LexiconError(f"unknown synonym group '@{name}'")
            for item in self.synonyms[name]:
                parts = item.split()
                if len(parts) == 1:
                    single.append(parts[0])
                else:
                    multi.append(parts)
        if negated and multi:
            raise _LexiconError(f"'{token}': a negated word cannot use multi-word synonyms")
        options: list[_Option] = []
        if single:
            options.append(((tuple(single), negated),))
        options.extend(tuple(((part,), False) for part in parts) for parts in multi)
        return options

    def _steps(self, expansion: Sequence[int | _Option]) -> tuple[_Step, ...]:
        steps: list[_Step] = []
        gap = 0
        for entry in expansion:
            if isinstance(entry, int):
                gap = entry
                continue
            for position, (alternatives, negated) in enumerate(entry):
                atoms = frozenset(self.atom(alternative) for alternative in alternatives)
                steps.append(_Step(atoms, gap if position == 0 else 0, negated))
            gap = 0
        return tuple(steps)


def _check_shape(tokens: Sequence[_Token]) -> None:
    def negated(token: _Token) -> bool:
        return not isinstance(token, int) and token[0][0][1]

    if not tokens:
        raise _LexiconError("empty pattern")
    if isinstance(tokens[0], int) or isinstance(tokens[-1], int):
        raise _LexiconError("a pattern cannot start or end with '...'")
    if negated(tokens[0]):
        raise _LexiconError("a pattern cannot start with '!word'")
    for before, after in itertools.pairwise(tokens):
        if isinstance(before, int) and isinstance(after, int):
            raise _LexiconError("two gaps '...' in a row")
        if isinstance(before, int) and negated(after):
            raise _LexiconError("'!word' must directly follow a word, not a gap")


class CrisisNet:
    """Precompiled crisis detector; build it once with :meth:`default` or :meth:`from_file`."""

    def __init__(self, data: Mapping[str, Any], *, source: str = "<lexicon>") -> None:
        """Compile lexicon *data* (the parsed YAML); ValueError names *source* and the entry."""
        try:
            self._build(data)
        except _LexiconError as error:
            raise ValueError(f"{source}: {error}") from None

    @classmethod
    def from_file(cls, path: Path) -> CrisisNet:
        try:
            data = read_yaml(Path(path))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
            raise ValueError(f"{path}: cannot be read as YAML: {error}") from None
        return cls(data, source=str(path))

    @classmethod
    def default(cls) -> CrisisNet:
        """The shipped lexicon, dialogues/content/safety.yaml."""
        return cls.from_file(DEFAULT_PATH)

    # -- building ---------------------------------------------------------------------------

    def _build(self, data: Mapping[str, Any]) -> None:
        if not isinstance(data, Mapping):
            raise _LexiconError("the file must be a mapping with a 'categories' key")
        unknown = sorted(map(str, set(data) - _TOP_KEYS))
        if unknown:
            raise _LexiconError(f"unknown top-level key(s): {', '.join(unknown)}")
        if data.get("version", 1) != 1:
            raise _LexiconError("unsupported version (this code reads version 1)")
        max_gap = data.get("max_gap", 3)
        if (
            not isinstance(max_gap, int)
            or isinstance(max_gap, bool)
            or not (0 < max_gap <= _MAX_GAP)
        ):
            raise _LexiconError(f"max_gap must be a whole number from 1 to {_MAX_GAP}")
        priority = data.get("priority", list(CATEGORIES))
        if not isinstance(priority, list) or sorted(map(str, priority)) != sorted(CATEGORIES):
            raise _LexiconError(f"priority must list each of {', '.join(CATEGORIES)} once")
        fillers = frozenset(fold_word(normalize(word)) for word in _words_list(data, "fillers"))
        compiler = _Compiler(max_gap, fillers, _synonyms(data.get("synonyms", {})))
        categories = data.get("categories")
        if not isinstance(categories, Mapping) or set(categories) != set(CATEGORIES):
            raise _LexiconError(f"categories must have exactly: {', '.join(CATEGORIES)}")

        self._guards = _Table(_compile_section(compiler, _GUARD, "guards", data.get("guards", {})))
        patterns: list[_Pattern] = []  # in priority order, then file order
        for name in priority:
            where = f"categories.{name}"
            section = _compile_section(compiler, name, where, categories[name])
            if not section:
                raise _LexiconError(f"{where} has no patterns")
            patterns.extend(section)
        self._patterns = _Table(patterns)
        self._fillers = fillers
        self._strict_exact = _freeze(compiler.strict_exact)
        self._strict_prefix = _freeze(compiler.strict_prefix)
        self._exact = _freeze(_merge(compiler.strict_exact, compiler.loose_exact))
        self._prefix = _freeze(_merge(compiler.strict_prefix, compiler.loose_prefix))
        self._prefix_lengths = sorted({len(key) for key in self._prefix})
        self._numbers = tuple(compiler.numbers)
        self._cache: dict[tuple[str, bool], frozenset[int]] = {}
        self._words: dict[str, tuple[str, frozenset[int]] | None] = {}
        self._joined: dict[str, frozenset[int]] = {}

    # -- checking ---------------------------------------------------------------------------

    def check(self, text: str) -> CrisisHit | None:
        """The crisis category of *text*, or None. Pure apart from an internal word cache."""
        seen = [self._word(raw) for raw in normalize(text).split()]
        found = [entry for entry in seen if entry is not None]
        if not found:
            return None
        keys = [key for key, _ in found]
        atoms = [word_atoms for _, word_atoms in found]
        own = list(atoms)  # each word's atoms without those of a compound with the word before
        for index in range(len(keys) - 1):
            joined = keys[index] + keys[index + 1]
            if len(joined) >= _MIN_COMPOUND:
                extra = self._joined.get(joined)
                if extra is None:
                    extra = self._atoms(fold_word(joined), loose=False)
                    if len(self._joined) < _CACHE_LIMIT:
                        self._joined[joined] = extra
                if extra:
                    atoms[index + 1] = atoms[index + 1] | extra
        present = frozenset().union(*atoms)
        for guard in self._guards.candidates(present):
            for start, end in list(_spans(guard.steps, atoms)):
                for position in range(start, end + 1):
                    atoms[position] = frozenset()
                # a blanked word makes no compound with the next ("socialt selvmord hvis")
                if end + 1 < len(atoms) and atoms[end + 1]:
                    atoms[end + 1] = own[end + 1]
            present = frozenset().union(*atoms)
        for pattern in self._patterns.candidates(present):
            if _matches(pattern.steps, atoms):
                return CrisisHit(pattern.category, pattern.source)
        return None

    def _word(self, raw: str) -> tuple[str, frozenset[int]] | None:
        """The folded key and atoms of one normalised word; None for a filler word."""
        if raw in self._words:
            return self._words[raw]
        key = fold_word(raw)
        result = None if key in self._fillers else (key, self._atoms(key, loose=True))
        if len(self._words) < _CACHE_LIMIT:
            self._words[raw] = result
        return result

    def _atoms(self, key: str, *, loose: bool) -> frozenset[int]:
        cached = self._cache.get((key, loose))
        if cached is not None:
            return cached
        exact, prefix = (
            (self._exact, self._prefix) if loose else (self._strict_exact, self._strict_prefix)
        )
        found: set[int] = set(exact.get(key, ()))
        for length in self._prefix_lengths:
            if length > len(key):
                break
            found.update(prefix.get(key[:length], ()))
        if key.isdigit() and len(key) <= _MAX_NUMBER_DIGITS:
            value = int(key)
            found.update(ident for ident, minimum in self._numbers if value >= minimum)
        result = frozenset(found)
        if len(self._cache) < _CACHE_LIMIT:
            self._cache[(key, loose)] = result
        return result


# -- helpers -----------------------------------------------------------------------------------


def _words_list(data: Mapping[str, Any], key: str) -> list[str]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(w, str) and w.strip() for w in value):
        raise _LexiconError(f"{key} must be a list of non-empty strings")
    for word in value:
        if len(normalize(word).split()) != 1:
            raise _LexiconError(f"{key}: {word!r} must be a single word")
    return value


def _synonyms(value: object) -> dict[str, list[str]]:
    if not isinstance(value, Mapping):
        raise _LexiconError("synonyms must map a group name to a list of words")
    result: dict[str, list[str]] = {}
    for name, items in value.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise _LexiconError(f"synonyms: {name!r} is not a valid group name")
        if not isinstance(items, list) or not items:
            raise _LexiconError(f"synonyms.{name} must be a non-empty list")
        for index, item in enumerate(items):
            if not isinstance(item, str) or not item.split():
                raise _LexiconError(f"synonyms.{name}[{index}] must be a non-empty string")
            if any(c in item for c in "@|.!"):
                raise _LexiconError(
                    f"synonyms.{name}[{index}] {item!r}: no '@', '|', '...' or '!' in groups"
                )
        result[name] = [" ".join(item.split()) for item in items]
    return result


def _by_language(value: object, where: str) -> dict[str, list[str]]:
    if not isinstance(value, Mapping):
        raise _LexiconError(f"{where} must map a language code (da, en) to a list of patterns")
    result: dict[str, list[str]] = {}
    for language, entries in value.items():
        if not (
            isinstance(language, str)
            and len(language) == _LANGUAGE_CODE_LENGTH
            and language.isalpha()
        ):
            raise _LexiconError(f"{where}: {language!r} is not a two-letter language code")
        if not isinstance(entries, list):
            raise _LexiconError(f"{where}.{language} must be a list of patterns")
        for index, entry in enumerate(entries):
            if not isinstance(entry, str) or not entry.strip():
                raise _LexiconError(
                    f"{where}.{language}[{index}] {entry!r}: a pattern must be a non-empty string"
                )
        result[language] = [" ".join(entry.split()) for entry in entries]
    return result


def _compile_section(compiler: _Compiler, name: str, where: str, value: object) -> list[_Pattern]:
    compiled: list[_Pattern] = []
    seen: set[str] = set()
    for language, entries in _by_language(value, where).items():
        for number, text in enumerate(entries):
            source = f"{where}.{language}[{number}] {text!r}"
            if text in seen:
                raise _LexiconError(f"{source}: duplicate pattern")
            seen.add(text)
            try:
                compiled.extend(compiler.pattern(name, f"{name}/{language}: {text}", text))
            except _LexiconError as error:
                raise _LexiconError(f"{source}: {error}") from None
    return compiled


class _Table:
    """Patterns in order, each indexed by the atoms of its least common required word.

    Any required word is a valid key (all of them must be present for a match); the one
    whose atoms occur in the fewest patterns keeps "jeg", "ikke", "i", "my" out of the index.
    """

    def __init__(self, patterns: Sequence[_Pattern]) -> None:
        self._patterns = tuple(patterns)
        self._needs = tuple(pattern.needs for pattern in self._patterns)
        usage: dict[int, int] = {}
        for needs in self._needs:
            for atom in set().union(*needs):
                usage[atom] = usage.get(atom, 0) + 1
        index: dict[int, list[int]] = {}
        for number, needs in enumerate(self._needs):
            key = min(needs, key=lambda atoms: sum(usage[atom] for atom in atoms))
            for atom in key:
                index.setdefault(atom, []).append(number)
        self._index = {atom: tuple(numbers) for atom, numbers in index.items()}

    def candidates(self, present: frozenset[int]) -> list[_Pattern]:
        """Patterns, in order, whose every word has a matching atom somewhere in *present*."""
        numbers: set[int] = set()
        for atom in present:
            numbers.update(self._index.get(atom, ()))
        return [
            self._patterns[number]
            for number in sorted(numbers)
            if all(not needed.isdisjoint(present) for needed in self._needs[number])
        ]


def _matches(steps: Sequence[_Step], atoms: Sequence[frozenset[int]]) -> bool:
    return next(iter(_spans(steps, atoms)), None) is not None


def _spans(steps: Sequence[_Step], atoms: Sequence[frozenset[int]]) -> Iterable[tuple[int, int]]:
    """Every (start, end) where *steps* match, one per start position."""
    first = steps[0].atoms
    for start, here in enumerate(atoms):
        if not here.isdisjoint(first):
            end = _extend(steps, atoms, 1, start)
            if end >= 0:
                yield start, end


def _extend(steps: Sequence[_Step], atoms: Sequence[frozenset[int]], k: int, at: int) -> int:
    if k == len(steps):
        return at
    step = steps[k]
    if step.negated:
        after = at + 1
        if after < len(atoms) and not atoms[after].isdisjoint(step.atoms):
            return -1
        return _extend(steps, atoms, k + 1, at)
    for position in range(at + 1, min(len(atoms), at + 2 + step.gap)):
        if not atoms[position].isdisjoint(step.atoms):
            end = _extend(steps, atoms, k + 1, position)
            if end >= 0:
                return end
    return -1


def _merge(first: Mapping[str, set[int]], second: Mapping[str, set[int]]) -> dict[str, set[int]]:
    merged = {key: set(value) for key, value in first.items()}
    for key, value in second.items():
        merged.setdefault(key, set()).update(value)
    return merged


def _freeze(table: Mapping[str, set[int]]) -> dict[str, frozenset[int]]:
    return {key: frozenset(value) for key, value in table.items()}
