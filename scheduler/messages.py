"""What the bot sends by itself. The first line never names loneliness: it may show on the
lock screen of a phone others see. Buttons carry the row id, so an answer is tied to the
check-in it answers."""

from __future__ import annotations

from dialogues.content import Texts
from dialogues.messages import Choice, Outbound

NAMESPACE = "ci"
MOODS = range(1, 6)


def checkin(texts: Texts, language: str, checkin_id: int) -> Outbound:
    """The check-in: a neutral hello, mood buttons 1-5, talk, not now, stop."""
    moods = tuple(Choice(str(mood), f"{NAMESPACE}:mood:{checkin_id}:{mood}") for mood in MOODS)
    return Outbound(
        texts.get("checkin_message", language),
        (moods, *_rows(texts, language, checkin_id, "talk", "later", "stop")),
    )


def reminder(texts: Texts, language: str, checkin_id: int) -> Outbound:
    """The one gentle reminder: no question to answer, a way to talk and a way to stop."""
    return Outbound(
        texts.get("checkin_reminder", language),
        _rows(texts, language, checkin_id, "talk", "stop"),
    )


def ask(texts: Texts, language: str, checkin_id: int) -> Outbound:
    """After three unanswered check-ins: shall I keep going?"""
    return Outbound(
        texts.get("checkin_ask", language), _rows(texts, language, checkin_id, "keep", "quit")
    )


BRIDGE_NAMESPACE = "br"
BRIDGE_ANSWERS = ("went", "notyet", "no")


def bridge(texts: Texts, language: str, checkin_id: int) -> Outbound:
    """The community follow-up: did you go? Went, not yet, not for me."""
    return Outbound(
        texts.get("bridge_message", language),
        tuple(
            (Choice(texts.get(f"bridge_{answer}_button", language),
                    f"{BRIDGE_NAMESPACE}:{answer}:{checkin_id}"),)
            for answer in BRIDGE_ANSWERS
        ),
    )


def _rows(
    texts: Texts, language: str, checkin_id: int, *actions: str
) -> tuple[tuple[Choice, ...], ...]:
    return tuple(
        (
            Choice(
                texts.get(f"checkin_{action}_button", language),
                f"{NAMESPACE}:{action}:{checkin_id}",
            ),
        )
        for action in actions
    )
