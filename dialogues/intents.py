"""What the bot understands wherever a person is, loaded from dialogues/content/listening.yaml:
global intents, typed words for buttons that code makes, feelings and themes to reflect,
and example phrases of things to listen to. Plain data, validated at load time."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dialogues.content import LANGUAGES, ContentError, read_yaml
from dialogues.matching import Keywords

LISTENING_FILE = Path(__file__).resolve().parent / "content" / "listening.yaml"
Text = Mapping[str, str]  # one text per language


@dataclass(frozen=True)
class GlobalIntent:
    name: str
    keywords: Keywords
    examples: tuple[str, ...]
    answer: Text | None
    goto: str | None
    buttons: tuple[str, ...]  # intent names or flow choices ("menu.start.checkin")
    label: Text | None  # when offered as a button
    before: bool  # checked before the keywords of the buttons in view
    short: int  # keywords count only in messages of at most this many words (0: any)
    reported: str  # the name it is counted and tested under (`as:`, else its own)
    prefer: tuple[str, ...] = ()  # buttons (by id) pressed instead, when one is in view

    def fits(self, words: list[str]) -> bool:
        return (not self.short or len(words) <= self.short) and self.keywords.match(words)


@dataclass(frozen=True)
class ButtonWords:
    """Typed words for a button that code makes, by the shape of its data."""

    id: str
    pattern: re.Pattern[str]
    keywords: Keywords
    examples: tuple[str, ...]


@dataclass(frozen=True)
class Feeling:
    name: str
    keywords: Keywords
    examples: tuple[str, ...]
    say: tuple[Text, ...]


@dataclass(frozen=True)
class Listening:
    intents: tuple[GlobalIntent, ...]
    buttons: tuple[ButtonWords, ...]
    feelings: tuple[Feeling, ...]
    themes: Mapping[str, tuple[Text, ...]]
    plain: tuple[Text, ...]
    listen_examples: tuple[str, ...]
    waiting_examples: tuple[str, ...]
    clarify: Text
    talk_about_it: Text

    def intent(self, name: str) -> GlobalIntent | None:
        return next((intent for intent in self.intents if intent.name == name), None)

    def button_words(self, data: str) -> ButtonWords | None:
        return next((b for b in self.buttons if b.pattern.fullmatch(data)), None)


def load(path: Path = LISTENING_FILE) -> Listening:
    data = read_yaml(path)
    where = path.name
    if not isinstance(data, dict):
        raise ContentError(f"{where}: must be a mapping")
    try:
        intents = tuple(_intent(name, spec) for name, spec in data["intents"].items())
        buttons = tuple(_button(spec) for spec in data["buttons"])
        feelings = tuple(_feeling(name, spec) for name, spec in data["feelings"].items())
        themes = {name: tuple(map(_text, says)) for name, says in data["themes"].items()}
        return Listening(
            intents=intents,
            buttons=buttons,
            feelings=feelings,
            themes=themes,
            plain=tuple(map(_text, data["plain"])),
            listen_examples=_phrases(data["listen_examples"]),
            waiting_examples=_phrases(data["waiting_examples"]),
            clarify=_text(data["clarify"]),
            talk_about_it=_text(data["talk_about_it"]),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ContentError(f"{where}: {type(error).__name__}: {error}") from None


def _intent(name: str, spec: dict[str, Any]) -> GlobalIntent:
    answer = _text(spec["answer"]) if "answer" in spec else None
    goto = spec.get("goto")
    if (answer is None) == (goto is None):
        raise ValueError(f"intent {name!r} needs exactly one of answer and goto")
    return GlobalIntent(
        name=name,
        keywords=_keywords(spec["match"]),
        examples=_phrases(spec.get("examples")),
        answer=answer,
        goto=goto,
        buttons=tuple(spec.get("buttons") or ()),
        label=_text(spec["label"]) if "label" in spec else None,
        before=bool(spec.get("before", False)),
        short=int(spec.get("short", 0)),
        reported=str(spec.get("as", name)),
        prefer=tuple(str(b) for b in spec.get("prefer") or ()),
    )


def _button(spec: dict[str, Any]) -> ButtonWords:
    shape = "[^:]+".join(re.escape(part) for part in str(spec["data"]).split("*"))
    return ButtonWords(
        id=str(spec["id"]),
        pattern=re.compile(f"{shape}(:[^:]+)?"),  # an optional ":<id>" (move a check-in)
        keywords=_keywords(spec["match"]),
        examples=_phrases(spec.get("examples")),
    )


def _feeling(name: str, spec: dict[str, Any]) -> Feeling:
    return Feeling(
        name=name,
        keywords=_keywords(spec["match"]),
        examples=_phrases(spec.get("examples")),
        say=tuple(map(_text, spec["say"])),
    )


def _keywords(spec: Mapping[str, list[str]]) -> Keywords:
    if not set(spec) <= set(LANGUAGES):
        raise ValueError(f"keywords must be per language: {sorted(spec)}")
    return Keywords.compile(str(word) for words in spec.values() for word in words)


def _phrases(spec: Mapping[str, list[str]] | None) -> tuple[str, ...]:
    if not spec:
        return ()
    return tuple(str(phrase) for phrases in spec.values() for phrase in phrases)


def _text(spec: Mapping[str, str]) -> Text:
    if set(spec) != set(LANGUAGES) or not all(str(v).strip() for v in spec.values()):
        raise ValueError(f"a text needs {', '.join(LANGUAGES)}: {spec!r}")
    return {language: str(text).strip() for language, text in spec.items()}
