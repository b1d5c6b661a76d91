"""Dialogue flows as data: loaded from dialogues/flows/*.yaml and validated as a whole.

A flow file holds nodes; a node says one or more texts (Danish and English side by side)
and offers choices (buttons, which typed answers can also pick), keyword intents, and where
free text leads. `global.yaml` holds the intents that work everywhere and the fallback
answers. FLOWS.md beside this file describes the format for content writers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from string import Formatter
from typing import Any

import yaml

from dialogues.content import LANGUAGES, read_yaml
from dialogues.matching import Keywords
from dialogues.messages import MAX_TEXT
from dialogues.resources import INTERESTS, REGIONS
from dialogues.text import fold

FLOWS_DIR = Path(__file__).resolve().parent / "flows"
GLOBAL_FILE = "global.yaml"
CHOICE_PREFIX = "f:"
# Answer keys a choice may set, and what values they take.
ANSWER_KEYS: Mapping[str, frozenset[str | int]] = {
    "age_band": frozenset({"under-15", "15-17", "18-24", "25-30", "unsaid"}),
    "companionship": frozenset({1, 2, 3, 0}),  # 0: skipped
    "left_out": frozenset({1, 2, 3, 0}),
    "isolated": frozenset({1, 2, 3, 0}),
    "lonely": frozenset({1, 2, 3, 4, 5, 0}),
    "measure_context": frozenset({"intake", "menu", "checkin"}),
    "interest": frozenset(INTERESTS),
    "region": frozenset(REGIONS),
}
_ID = re.compile(r"^[a-z][a-z0-9_]{0,23}$")
_NODE_KEYS = {"say", "choices", "intents", "free_text", "then", "action", "topic", "understand"}
_UNDERSTAND = {"answer", "topics", "buttons"}
_CHOICE_KEYS = {"id", "label", "goto", "match", "set", "examples"}


class FlowError(ValueError):
    """The flow files are invalid; `problems` lists every problem found, each naming its
    file and node."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Intent:
    keywords: Keywords
    goto: str


@dataclass(frozen=True)
class ChoiceSpec:
    id: str
    label: Mapping[str, str]
    goto: str
    keywords: Keywords
    sets: Mapping[str, str | int]
    # Phrases with the same meaning, for understanding by meaning (dialogues/listening.py).
    examples: tuple[str, ...] = ()
    # The labels folded once (see dialogues.text.fold), for choices typed by their label.
    folded_labels: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "folded_labels", frozenset(map(fold, self.label.values())))


@dataclass(frozen=True)
class Node:
    ref: str  # "flow.node"
    say: tuple[Mapping[str, str], ...]
    choices: tuple[ChoiceSpec, ...]
    intents: tuple[Intent, ...]
    free_text: str | None
    then: str | None
    action: str | None
    topic: str | None  # counted in the statistics when the node is entered
    # How typed text is heard here: "answer" (an open question: free text is an answer to
    # acknowledge; topics only on a wish to change subject), "topics" (topics before the
    # buttons' keywords), "buttons" (free text is only a nudge back to the buttons: when
    # roughly close, ask which was meant), or None.
    understand: str | None = None

    def choice_data(self, choice: ChoiceSpec) -> str:
        return f"{CHOICE_PREFIX}{self.ref}.{choice.id}"

    def targets(self) -> Iterable[str]:
        yield from (choice.goto for choice in self.choices)
        yield from (intent.goto for intent in self.intents)
        if self.free_text:
            yield self.free_text
        if self.then:
            yield self.then


@dataclass(frozen=True)
class Library:
    nodes: Mapping[str, Node]
    intents: tuple[Intent, ...]
    fallbacks: tuple[Mapping[str, str], ...]

    def node(self, ref: str) -> Node:
        return self.nodes[ref]


def load(
    directory: Path = FLOWS_DIR,
    *,
    entry_points: Iterable[str],
    placeholders: Iterable[str],
    actions: Iterable[str],
) -> Library:
    """Load every flow and validate the whole: raises FlowError listing all problems."""
    loader = _Loader(set(placeholders), set(actions))
    for path in sorted(directory.glob("*.yaml")):
        if path.name != GLOBAL_FILE:
            loader.flow_file(path)
    loader.global_file(directory / GLOBAL_FILE)
    loader.check_graph(set(entry_points))
    if loader.problems:
        raise FlowError(loader.problems)
    return Library(loader.nodes, tuple(loader.intents), tuple(loader.fallbacks))


class _Loader:
    def __init__(self, placeholders: set[str], actions: set[str]) -> None:
        self.placeholders = placeholders
        self.actions = actions
        self.nodes: dict[str, Node] = {}
        self.intents: list[Intent] = []
        self.fallbacks: list[Mapping[str, str]] = []
        self.problems: list[str] = []
        self._where: dict[str, str] = {}  # node ref -> "file: node"

    def flow_file(self, path: Path) -> None:
        data = self._read(path)
        flow = path.stem
        if data is None:
            return
        if not _ID.match(flow) or len(flow) > 16:
            self.problems.append(f"{path.name}: a flow name must be a short lower-case id")
            return
        nodes = data.get("nodes")
        if set(data) != {"nodes"} or not isinstance(nodes, dict) or not nodes:
            self.problems.append(f"{path.name}: must hold exactly one key, 'nodes', a mapping")
            return
        for name, spec in nodes.items():
            where = f"{path.name}: node '{name}'"
            if not isinstance(name, str) or not _ID.match(name):
                self.problems.append(f"{where}: a node id must be a short lower-case id")
                continue
            node = self._node(f"{flow}.{name}", flow, spec, where)
            if node is not None:
                self.nodes[node.ref] = node
                self._where[node.ref] = where

    def global_file(self, path: Path) -> None:
        data = self._read(path)
        if data is None:
            return
        for index, spec in enumerate(data.get("intents") or []):
            intent = self._intent(spec, "global", f"{path.name}: intent #{index + 1}")
            if intent is not None:
                self.intents.append(intent)
        for index, text in enumerate(data.get("fallbacks") or []):
            checked = self._text(text, f"{path.name}: fallback #{index + 1}")
            if checked is not None:
                self.fallbacks.append(checked)
        if len(self.fallbacks) < 2:
            self.problems.append(f"{path.name}: needs at least two fallbacks to vary them")

    def check_graph(self, entry_points: set[str]) -> None:
        for ref in sorted(entry_points):
            if ref not in self.nodes:
                self.problems.append(f"entry point '{ref}' is not a node")
        for ref, node in self.nodes.items():
            for target in node.targets():
                if target not in self.nodes:
                    self.problems.append(f"{self._where[ref]}: leads to missing node '{target}'")
        reachable: set[str] = set()
        todo = [ref for ref in entry_points if ref in self.nodes]
        todo += [i.goto for i in self.intents if i.goto in self.nodes]
        while todo:
            ref = todo.pop()
            if ref not in reachable:
                reachable.add(ref)
                todo.extend(t for t in self.nodes[ref].targets() if t in self.nodes)
        for ref in sorted(set(self.nodes) - reachable):
            self.problems.append(f"{self._where[ref]}: nobody can reach it")

    def _read(self, path: Path) -> dict[str, Any] | None:
        try:
            data = read_yaml(path)
        except (OSError, yaml.YAMLError) as error:
            self.problems.append(f"{path.name}: cannot be read: {error}")
            return None
        if not isinstance(data, dict):
            self.problems.append(f"{path.name}: must be a mapping")
            return None
        return data

    def _node(self, ref: str, flow: str, spec: Any, where: str) -> Node | None:
        if not isinstance(spec, dict):
            self.problems.append(f"{where}: must be a mapping")
            return None
        for key in set(spec) - _NODE_KEYS:
            self.problems.append(f"{where}: unknown key '{key}'")
        say = spec.get("say") or []
        if isinstance(say, dict):
            say = [say]
        texts = [self._text(text, f"{where} say #{i + 1}") for i, text in enumerate(say)]
        if not texts:
            self.problems.append(f"{where}: says nothing")
        choices = [
            self._choice(choice, flow, f"{where} choice #{i + 1}")
            for i, choice in enumerate(spec.get("choices") or [])
        ]
        ids = [choice.id for choice in choices if choice is not None]
        if len(set(ids)) != len(ids):
            self.problems.append(f"{where}: choice ids must be unique")
        intents = [
            self._intent(intent, flow, f"{where} intent #{i + 1}")
            for i, intent in enumerate(spec.get("intents") or [])
        ]
        action = spec.get("action")
        if action is not None and action not in self.actions:
            self.problems.append(f"{where}: unknown action '{action}'")
        node = Node(
            ref=ref,
            say=tuple(text for text in texts if text is not None),
            choices=tuple(choice for choice in choices if choice is not None),
            intents=tuple(intent for intent in intents if intent is not None),
            free_text=_ref(spec.get("free_text"), flow),
            then=_ref(spec.get("then"), flow),
            action=action,
            topic=spec.get("topic"),
            understand=spec.get("understand"),
        )
        if node.understand is not None and node.understand not in _UNDERSTAND:
            self.problems.append(f"{where}: understand must be one of {sorted(_UNDERSTAND)}")
        if node.then and node.choices:
            self.problems.append(f"{where}: 'then' and choices exclude each other")
        for choice in node.choices:
            if len(node.choice_data(choice).encode()) > 64:
                self.problems.append(f"{where}: choice {choice.id!r}: button data over 64 bytes")
        return node

    def _choice(self, spec: Any, flow: str, where: str) -> ChoiceSpec | None:
        if not isinstance(spec, dict) or not {"id", "label", "goto"} <= set(spec):
            self.problems.append(f"{where}: needs id, label and goto")
            return None
        for key in set(spec) - _CHOICE_KEYS:
            self.problems.append(f"{where}: unknown key '{key}'")
        if not isinstance(spec["id"], str) or not _ID.match(spec["id"]):
            self.problems.append(f"{where}: a choice id must be a short lower-case id")
            return None
        label = self._text(spec["label"], f"{where} label", limit=64)
        sets = spec.get("set") or {}
        for key, value in sets.items():
            if value not in ANSWER_KEYS.get(key, ()):
                self.problems.append(f"{where}: cannot set {key} to {value!r}")
        keywords = self._keywords(spec.get("match"), where)
        examples = self._examples(spec.get("examples"), where)
        goto = _ref(spec["goto"], flow)
        if label is None or keywords is None or goto is None or examples is None:
            return None
        return ChoiceSpec(spec["id"], label, goto, keywords, dict(sets), examples)

    def _examples(self, spec: Any, where: str) -> tuple[str, ...] | None:
        if spec is None:
            return ()
        if not isinstance(spec, dict) or not set(spec) <= set(LANGUAGES):
            self.problems.append(f"{where}: examples must map languages to lists of phrases")
            return None
        return tuple(str(phrase) for phrases in spec.values() for phrase in phrases)

    def _intent(self, spec: Any, flow: str, where: str) -> Intent | None:
        if not isinstance(spec, dict) or set(spec) - {"id"} != {"match", "goto"}:
            self.problems.append(f"{where}: an intent needs exactly match and goto")
            return None
        keywords = self._keywords(spec["match"], where)
        goto = _ref(spec["goto"], flow)
        if keywords is None or goto is None or not keywords:
            self.problems.append(f"{where}: an intent needs keywords and a target")
            return None
        return Intent(keywords, goto)

    def _keywords(self, spec: Any, where: str) -> Keywords | None:
        if spec is None:
            return Keywords()
        if not isinstance(spec, dict) or not set(spec) <= set(LANGUAGES):
            self.problems.append(f"{where}: match must map languages to lists of words")
            return None
        try:
            return Keywords.compile(str(word) for words in spec.values() for word in words)
        except (TypeError, ValueError) as error:
            self.problems.append(f"{where}: {error}")
            return None

    def _text(self, spec: Any, where: str, limit: int = MAX_TEXT) -> dict[str, str] | None:
        if not isinstance(spec, dict) or set(spec) != set(LANGUAGES):
            missing = set(LANGUAGES) - set(spec) if isinstance(spec, dict) else set(LANGUAGES)
            self.problems.append(f"{where}: text missing in {', '.join(sorted(missing)) or '?'}")
            return None
        result: dict[str, str] = {}
        for language, text in spec.items():
            if not isinstance(text, str) or not text.strip():
                self.problems.append(f"{where}: empty text in {language}")
                continue
            if len(text.strip()) > limit:
                self.problems.append(f"{where}: text in {language} is over {limit} characters")
            try:
                names = {name for _, name, _, _ in Formatter().parse(text) if name is not None}
            except ValueError as error:
                self.problems.append(f"{where}: broken placeholder in {language}: {error}")
                continue
            for name in names - self.placeholders:
                self.problems.append(f"{where}: undefined placeholder {{{name}}} in {language}")
            result[language] = text.strip()
        return result if len(result) == len(LANGUAGES) else None


def _ref(value: Any, flow: str) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if "." in text else f"{flow}.{text}"
