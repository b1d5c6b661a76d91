"""Check-ins end to end: planned with the buttons, sent by the runner through the real PTB
stack to the Bot API double at their time, across restarts and downtime."""

from __future__ import annotations

from datetime import timedelta

from storage import checkins
from tests.botapi import BotApiDouble
from tests.e2e.conftest import StartSnakkes
from tests.scheduler.helpers import (
    NEUTRAL_FIRST_LINES,
    local_noon,
    move_clock,
    plan,
    press_and_read,
    rows,
    runner,
    upcoming_due,
)


async def test_a_checkin_planned_with_buttons_arrives_at_its_time_with_neutral_text(
    double: BotApiDouble, start_snakkes: StartSnakkes
) -> None:
    snakkes = await start_snakkes()
    await move_clock(snakkes, local_noon(snakkes))
    ada = double.user(language_code="da")

    confirmation = await plan(double, ada, when="tomorrow", slot="evening")
    assert "i morgen kl. 19" in confirmation.text
    [due] = await upcoming_due(snakkes)
    assert due == local_noon(snakkes, days=1).replace(hour=19)

    await move_clock(snakkes, due - timedelta(minutes=1))
    await runner(snakkes).run_due()
    assert len(double.messages_to(ada)) == 4  # nothing yet: listing, offer, picker, confirmation

    await move_clock(snakkes, due)
    [checkin] = await double.wait_for_messages(ada)
    first_line = checkin.text.splitlines()[0]
    assert first_line == NEUTRAL_FIRST_LINES[0]
    assert "ensom" not in checkin.text.lower()
    assert checkin.labels() == ["1", "2", "3", "4", "5", "💬 Snak", "Ikke nu", "Stop check-ins"]

    # An answer leads on: to a topic, the measure or a human.
    mood = next(d for _, d in checkin.buttons[0] if d.endswith(":2"))
    said, offer = await press_and_read(double, ada, checkin, mood, count=2)
    assert "hård dag" in said.text
    targets = [d for row in offer.buttons for _, d in row]
    assert "f:checkin.next.talk" in targets
    assert "f:checkin.next.measure" in targets
    assert "f:checkin.next.human" in targets
    [sent] = [row for row in await rows(snakkes) if row.kind == checkins.CHECKIN]
    assert sent.status == checkins.ANSWERED


async def test_a_planned_checkin_survives_a_restart(
    double: BotApiDouble, start_snakkes: StartSnakkes
) -> None:
    snakkes = await start_snakkes()
    await move_clock(snakkes, local_noon(snakkes))
    ada = double.user(language_code="en")
    confirmation = await plan(double, ada, when="3days", slot="morning")
    assert "at 9:00" in confirmation.text

    await snakkes.restart()
    [due] = await upcoming_due(snakkes)
    await move_clock(snakkes, due + timedelta(seconds=5))
    [checkin] = await double.wait_for_messages(ada)
    assert checkin.text.splitlines()[0] == NEUTRAL_FIRST_LINES[1]


async def test_a_checkin_missed_while_down_is_sent_on_start_within_the_grace_period(
    double: BotApiDouble, start_snakkes: StartSnakkes
) -> None:
    snakkes = await start_snakkes()
    await move_clock(snakkes, local_noon(snakkes))
    ada = double.user(language_code="da")
    await plan(double, ada, when="tomorrow", slot="afternoon")
    [due] = await upcoming_due(snakkes)

    await snakkes.stop()
    snakkes.clock.advance(seconds=(due + timedelta(hours=2) - snakkes.clock()).total_seconds())
    await snakkes.start()  # no wake-up: the first round on start finds it
    [checkin] = await double.wait_for_messages(ada)
    assert checkin.text.splitlines()[0] == NEUTRAL_FIRST_LINES[0]


async def test_a_checkin_later_than_the_grace_period_is_missed_and_the_next_one_planned(
    double: BotApiDouble, start_snakkes: StartSnakkes
) -> None:
    snakkes = await start_snakkes()
    await move_clock(snakkes, local_noon(snakkes))
    ada = double.user(language_code="da")
    confirmation = await plan(double, ada, when="weekly", slot="morning", weekday=2)
    assert "hver onsdag" in confirmation.text
    [due] = await upcoming_due(snakkes)

    await snakkes.stop()
    snakkes.clock.advance(seconds=(due + timedelta(hours=7) - snakkes.clock()).total_seconds())
    await snakkes.start()
    await runner(snakkes).run_due()  # a second round changes nothing: settled once
    first, second = await rows(snakkes)
    assert (first.status, second.status) == (checkins.MISSED, checkins.PLANNED)
    assert second.due_at == due + timedelta(days=7)
    assert len(double.messages_to(ada)) == 5  # the planning dialogue only


async def test_quiet_hours_move_a_checkin_to_their_end(
    double: BotApiDouble, start_snakkes: StartSnakkes
) -> None:
    snakkes = await start_snakkes(checkins_quiet_start="18:00", checkins_quiet_end="08:30")
    await move_clock(snakkes, local_noon(snakkes))
    ada = double.user(language_code="da")

    # Planned inside quiet hours: moved to their end at once, and said so.
    evening = await plan(double, ada, when="tomorrow", slot="evening")
    assert "kl. 8.30" in evening.text
    # Due before them, but the runner only looks at 18:10: it waits until their end.
    await plan(double, ada, when="tomorrow", slot="afternoon")
    afternoon, moved = sorted(await upcoming_due(snakkes))
    assert moved == local_noon(snakkes, days=2).replace(hour=8, minute=30)

    await move_clock(snakkes, afternoon + timedelta(hours=3, minutes=10))
    await runner(snakkes).run_due()
    assert len(double.messages_to(ada)) == 8  # two planning dialogues, nothing else
    assert sorted(await upcoming_due(snakkes)) == [moved, moved]

    await move_clock(snakkes, moved)
    first, second = await double.wait_for_messages(ada, 2)
    assert second.at - first.at >= 0.9  # one chat: at most one message a second
