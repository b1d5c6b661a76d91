from __future__ import annotations

import pytest

from dialogues.messages import Choice, Inbound, Kind, Outbound


@pytest.mark.parametrize(
    ("text", "kind", "command", "rest"),
    [
        ("/start", Kind.COMMAND, "start", ""),
        ("/START@snakkes_bot", Kind.COMMAND, "start", ""),
        ("/volunteer ABC-123", Kind.COMMAND, "volunteer", "ABC-123"),
        ("hej /start", Kind.TEXT, "", ""),
        ("/", Kind.TEXT, "", ""),
        ("/ æøå", Kind.TEXT, "", ""),
        ("  ", Kind.TEXT, "", ""),
    ],
)
def test_text_becomes_a_command_only_when_it_starts_with_one(
    text: str, kind: Kind, command: str, rest: str
) -> None:
    inbound = Inbound.from_text(text)
    assert inbound.kind is kind
    assert inbound.command == command
    if kind is Kind.COMMAND:
        assert inbound.text == rest


def test_choice_data_is_limited_to_telegrams_64_bytes() -> None:
    Choice("ok", "x" * 64)
    with pytest.raises(ValueError, match="64 bytes"):
        Choice("ok", "æ" * 33)


def test_outbound_text_must_fit_one_message() -> None:
    Outbound("x" * 4096)
    with pytest.raises(ValueError, match="1 to 4096"):
        Outbound("x" * 4097)
    with pytest.raises(ValueError, match="1 to 4096"):
        Outbound("")
