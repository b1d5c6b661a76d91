"""The flow engine: moves a person through the nodes of the flow library and says what each
node says. Where a person is lives in their ConversationState row, never in memory."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from string import Formatter
from typing import TYPE_CHECKING

from dialogues.flows import CHOICE_PREFIX, ChoiceSpec, Library, Node
from dialogues.messages import Choice, Outbound, rows

if TYPE_CHECKING:
    from dialogues.conversation import Turn

Action = Callable[["Turn"], Awaitable[None]]
Placeholder = Callable[["Turn"], str]
_MAX_HOPS = 8  # `then` chains longer than this are a content error


class FlowEngine:
    def __init__(
        self,
        library: Library,
        actions: Mapping[str, Action],
        placeholders: Mapping[str, Placeholder],
    ) -> None:
        self.library = library
        self.actions = actions
        self.placeholders = placeholders

    def current(self, turn: Turn) -> Node | None:
        return self.library.nodes.get(f"{turn.state.flow}.{turn.state.node}")

    async def enter(self, turn: Turn, ref: str) -> None:
        """Move to `ref`: say its texts and offer its choices, then run its action (which may
        add replies or move on by itself); follow `then`."""
        for _ in range(_MAX_HOPS):
            node = self.library.node(ref)
            turn.state.flow, turn.state.node = ref.split(".", 1)
            if node.topic:
                await turn.record("topic", node.topic)
            self._say(turn, node)
            if node.action:
                await self.actions[node.action](turn)
                if f"{turn.state.flow}.{turn.state.node}" != ref:
                    return  # the action moved the person on
            if node.then is None:
                return
            ref = node.then
        raise RuntimeError(f"'then' chain through {ref} is too long")

    async def on_choice(self, turn: Turn, data: str) -> bool:
        """A pressed flow button: "f:flow.node.choice". False when it no longer exists."""
        ref, _, choice_id = data.removeprefix(CHOICE_PREFIX).rpartition(".")
        node = self.library.nodes.get(ref)
        choice = next((c for c in node.choices if c.id == choice_id), None) if node else None
        if choice is None:
            return False
        await self._choose(turn, choice)
        return True

    async def _choose(self, turn: Turn, choice: ChoiceSpec) -> None:
        for key, value in choice.sets.items():
            turn.state.answers = {**turn.state.answers, key: value}
            if key == "age_band":
                turn.participant.age_band = str(value)
                await turn.record("age_band", str(value))
        await self.enter(turn, choice.goto)

    def _say(self, turn: Turn, node: Node) -> None:
        buttons = tuple(
            Choice(choice.label[turn.language], node.choice_data(choice))
            for choice in node.choices
        )
        for index, text in enumerate(node.say):
            body = self._fill(turn, text[turn.language])
            last = index == len(node.say) - 1
            turn.replies.append(Outbound(body, rows(*buttons) if last else ()))

    def _fill(self, turn: Turn, template: str) -> str:
        """Fill in only the placeholders the text uses (some cost a lookup)."""
        names = {name for _, name, _, _ in Formatter().parse(template) if name}
        if not names:
            return template
        return template.format_map({name: self.placeholders[name](turn) for name in names})

