"""The planning rules as pure functions: the choices, quiet hours (across midnight and
summer time), and a due time said in words."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from dialogues.content import Texts
from scheduler.planning import Rules, describe, parse_clock

CPH = ZoneInfo("Europe/Copenhagen")
RULES = Rules()
TEXTS = Texts.default()


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=CPH)


@pytest.mark.parametrize(
    ("when", "slot", "expected"),
    [
        ("tomorrow", "evening", local(2026, 11, 28, 19)),
        ("3days", "morning", local(2026, 11, 30, 9)),
        ("week", "afternoon", local(2026, 12, 4, 15)),
    ],
)
def test_the_choices_give_their_day_and_time(when: str, slot: str, expected: datetime) -> None:
    now = local(2026, 11, 27, 12)  # a Friday
    assert RULES.first_due(when, slot, now) == expected


def test_weekly_is_the_next_such_weekday_and_never_today_after_the_time() -> None:
    friday_noon = local(2026, 11, 27, 12)
    assert RULES.first_due("weekly", "evening", friday_noon, weekday=4) == local(2026, 11, 27, 19)
    assert RULES.first_due("weekly", "morning", friday_noon, weekday=4) == local(2026, 12, 4, 9)
    assert RULES.first_due("weekly", "morning", friday_noon, weekday=0) == local(2026, 11, 30, 9)


def test_weekly_keeps_the_wall_clock_time_across_summer_time() -> None:
    before = local(2026, 3, 27, 19)  # Friday before the clocks go forward (29 March)
    after = RULES.next_weekly(4, "evening", after=before)
    assert after == local(2026, 4, 3, 19)
    assert after - before == timedelta(days=7) - timedelta(hours=1)


@pytest.mark.parametrize(
    ("moment", "quiet"),
    [
        (local(2026, 11, 27, 21, 59), False),
        (local(2026, 11, 27, 22, 0), True),
        (local(2026, 11, 28, 3, 0), True),
        (local(2026, 11, 28, 7, 59), True),
        (local(2026, 11, 28, 8, 0), False),
    ],
)
def test_quiet_hours_span_midnight(moment: datetime, quiet: bool) -> None:
    assert RULES.is_quiet(moment) is quiet


def test_a_time_in_quiet_hours_moves_to_their_end() -> None:
    assert RULES.outside_quiet(local(2026, 11, 27, 23)) == local(2026, 11, 28, 8)
    assert RULES.outside_quiet(local(2026, 11, 28, 2)) == local(2026, 11, 28, 8)
    daytime = Rules(quiet_start=time(13), quiet_end=time(14))
    assert daytime.outside_quiet(local(2026, 11, 28, 13, 30)) == local(2026, 11, 28, 14)
    assert not Rules(quiet_start=time(8), quiet_end=time(8)).is_quiet(local(2026, 11, 28, 3))


def test_the_reminder_is_a_day_later_outside_quiet_hours() -> None:
    assert RULES.reminder_due(local(2026, 11, 27, 19)) == local(2026, 11, 28, 19)
    assert RULES.reminder_due(local(2026, 11, 27, 23, 30)) == local(2026, 11, 29, 8)


def test_configured_slots_and_quiet_hours_apply() -> None:
    rules = Rules(slots={"morning": time(7), "afternoon": time(15), "evening": time(23)})
    assert rules.first_due("tomorrow", "evening", local(2026, 11, 27, 12)) == local(
        2026, 11, 29, 8
    )
    with pytest.raises(ValueError, match="time of day"):
        rules.first_due("tomorrow", "night", local(2026, 11, 27, 12))
    assert parse_clock("08:30") == time(8, 30)
    with pytest.raises(ValueError, match="HH:MM"):
        parse_clock("8")


@pytest.mark.parametrize(
    ("moment", "language", "words"),
    [
        (local(2026, 11, 27, 19), "da", "i dag kl. 19"),
        (local(2026, 11, 28, 9), "da", "i morgen kl. 9"),
        (local(2026, 11, 28, 8, 30), "en", "tomorrow at 8:30"),
        (local(2026, 11, 29, 15), "da", "søndag kl. 15"),
        (local(2026, 12, 3, 19), "en", "Thursday at 19:00"),
        (local(2026, 12, 4, 9), "da", "fredag d. 4/12 kl. 9"),
    ],
)
def test_a_due_time_is_said_in_words(moment: datetime, language: str, words: str) -> None:
    now = local(2026, 11, 27, 12).astimezone(UTC)
    assert describe(moment.astimezone(UTC), now, CPH, TEXTS, language) == words
