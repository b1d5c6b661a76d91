"""What the bot says outside the flows, loaded from dialogues/content/texts/*.yaml (one file
per feature), in Danish and English.

A text is a key with one entry per language. Placeholders are `{name}`; a missing
placeholder value is a programming error and raises at once.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from pathlib import Path
from string import Formatter
from typing import Any

import yaml

TEXTS_DIR = Path(__file__).resolve().parent / "content" / "texts"
LANGUAGES = ("da", "en")


class ContentError(ValueError):
    """A content file is malformed; the message names the file and the key."""


class Texts:
    def __init__(self, texts: Mapping[str, Mapping[str, str]]) -> None:
        self._texts = {key: dict(value) for key, value in texts.items()}

    @classmethod
    def load(cls, *paths: Path) -> Texts:
        merged: dict[str, dict[str, str]] = {}
        for path in paths:
            for key, value in _read(path).items():
                if key in merged:
                    raise ContentError(f"{path.name}: text '{key}' is defined twice")
                merged[key] = value
        return cls(merged)

    @classmethod
    def default(cls) -> Texts:
        return cls.load(*sorted(TEXTS_DIR.glob("*.yaml")))

    def __contains__(self, key: str) -> bool:
        return key in self._texts

    def get(self, key: str, language: str, **values: object) -> str:
        template = self._texts[key][language]
        return template.format_map(values) if values else template

    def placeholders(self, key: str, language: str) -> set[str]:
        return {name for _, name, _, _ in Formatter().parse(self._texts[key][language]) if name}


def _read(path: Path) -> dict[str, dict[str, str]]:
    try:
        data = read_yaml(path)
    except (OSError, yaml.YAMLError) as error:
        raise ContentError(f"{path.name}: cannot be read: {error}") from None
    if not isinstance(data, dict):
        raise ContentError(f"{path.name}: must be a mapping of text keys")
    result: dict[str, dict[str, str]] = {}
    for key, value in data.items():
        if not isinstance(value, dict) or set(value) != set(LANGUAGES):
            raise ContentError(f"{path.name}: text '{key}' needs exactly: {', '.join(LANGUAGES)}")
        for language, text in value.items():
            if not isinstance(text, str) or not text.strip():
                raise ContentError(f"{path.name}: text '{key}' ({language}) is empty")
        result[str(key)] = {lang: text.strip() for lang, text in value.items()}
    return result


# Each content file's data as parsed, pickled, by (path, modification time, size).
_PARSED: dict[tuple[str, int, int], bytes] = {}


def read_yaml(path: Path) -> Any:
    """Parse a content file with libyaml's C loader when available (start-up parses a lot of
    YAML), else the pure-Python safe loader; both load plain data only.

    A file is parsed once per process while it is unchanged (the same modification time and
    size); each later read gets a fresh copy of its data (unpickled: about a thirtieth of
    parsing), so a caller may change what it gets. A service starts once per process; the
    tests start it hundreds of times in one, and parsing was half of each start's CPU."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    parsed = _PARSED.get(key)
    if parsed is not None:
        return pickle.loads(parsed)  # noqa: S301 - our own pickle of plain data, just made
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506 - safe loaders
    _PARSED[key] = pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)
    return data
