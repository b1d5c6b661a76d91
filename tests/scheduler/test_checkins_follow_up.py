"""/checkins (cancel, move, stop all), the one reminder, the question after three unanswered
check-ins, and a person who blocked the bot: end to end through PTB and the double."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from storage import checkins
from storage.models import Participant
from tests.botapi import BotApiDouble, FakeUser, SentMessage
from tests.e2e.conftest import Snakkes, StartSnakkes
from tests.scheduler.helpers import (
    NEUTRAL_FIRST_LINES,
    local_noon,
    move_clock,
    plan,
    press_and_read,
    rows,
    runner,
    settled,
    upcoming_due,
)


async def started(start_snakkes: StartSnakkes) -> Snakkes:
    snakkes = await start_snakkes()
    await move_clock(snakkes, local_noon(snakkes))
    return snakkes


async def listing(double: BotApiDouble, user: FakeUser) -> SentMessage:
    double.send_command(user, "/checkins")
    [message] = await double.wait_for_messages(user)
    return message


async def nothing_more_is_sent(snakkes: Snakkes, double: BotApiDouble, user: FakeUser) -> None:
    await settled(snakkes)
    before = len(double.messages_to(user))
    await runner(snakkes).run_due()
    await settled(snakkes)
    assert len(double.messages_to(user)) == before


async def test_checkins_lists_them_and_cancels_one(
    double: BotApiDouble, start_snakkes: StartSnakkes
) -> None:
    snakkes = await started(start_snakkes)
    ada = double.user(language_code="da")
    await plan(double, ada, when="tomorrow", slot="morning")
    await plan(double, ada, when="3days", slot="evening")

    shown = await listing(double, ada)
    assert shown.text.splitlines()[1:] == ["1. i morgen kl. 9", f"2. {shown.text.split('2. ')[1]}"]
    assert "kl. 19" in shown.text.splitlines()[2]
    [cancelled] = await press_and_read(double, ada, shown, shown.buttons[0][0][1])
    assert cancelled.text == "Aflyst: i morgen kl. 9."

    [left] = await upcoming_due(snakkes)
    await move_clock(snakkes, left)
    [checkin] = await double.wait_for_messages(ada)
    assert checkin.text.startswith(NEUTRAL_FIRST_LINES[0])
    assert [row.status for row in await rows(snakkes)][:2] == ["cancelled", "sent"]


async def test_checkins_moves_one(double: BotApiDouble, start_snakkes: StartSnakkes) -> None:
    snakkes = await started(start_snakkes)
    ada = double.user(language_code="en")
    await plan(double, ada, when="tomorrow", slot="evening")
    [old_due] = await upcoming_due(snakkes)

    shown = await listing(double, ada)
    [picker] = await press_and_read(double, ada, shown, shown.buttons[0][1][1])
    assert picker.text == "When shall I write instead?"
    move = picker.buttons[2][0][1]  # "in a week", carrying the row to move
    [slots] = await press_and_read(double, ada, picker, move)
    [moved] = await press_and_read(double, ada, slots, slots.buttons[0][0][1])  # morning
    assert moved.text.startswith("Moved. I'll write to you ")
    assert moved.text.endswith(" at 9:00.")

    [new_due] = await upcoming_due(snakkes)
    assert new_due == local_noon(snakkes, days=7).replace(hour=9)
    await move_clock(snakkes, old_due + timedelta(minutes=1))
    await nothing_more_is_sent(snakkes, double, ada)
    await move_clock(snakkes, new_due)
    [checkin] = await double.wait_for_messages(ada)
    assert checkin.text.startswith(NEUTRAL_FIRST_LINES[1])


async def test_stop_all_stops_every_checkin(
    double: BotApiDouble, start_snakkes: StartSnakkes
) -> None:
    snakkes = await started(start_snakkes)
    ada = double.user(language_code="da")
    await plan(double, ada, when="tomorrow", slot="morning")
    await plan(double, ada, when="weekly", slot="evening", weekday=4)

    shown = await listing(double, ada)
    assert "(hver uge)" in shown.text
    assert shown.buttons[-1] == [("Stop alle", "ci:all")]
    [stopped] = await press_and_read(double, ada, shown, "ci:all")
    assert stopped.text.startswith("Jeg stopper med at skrive til dig først.")
    assert await upcoming_due(snakkes) == []

    await move_clock(snakkes, local_noon(snakkes, days=14))
    await nothing_more_is_sent(snakkes, double, ada)
    assert (await listing(double, ada)).text == "Du har ingen planlagte check-ins lige nu."


async def test_an_unanswered_checkin_gets_one_reminder_after_24_hours_and_then_nothing(
    double: BotApiDouble, start_snakkes: StartSnakkes
) -> None:
    snakkes = await started(start_snakkes)
    ada = double.user(language_code="da")
    await plan(double, ada, when="tomorrow", slot="afternoon")
    [due] = await upcoming_due(snakkes)
    await move_clock(snakkes, due)
    await double.wait_for_messages(ada)

    await move_clock(snakkes, due + timedelta(hours=23, minutes=59))
    await nothing_more_is_sent(snakkes, double, ada)
    await move_clock(snakkes, due + timedelta(hours=24, seconds=1))
    [reminder] = await double.wait_for_messages(ada)
    assert reminder.text.splitlines()[0] == "Hej igen 👋 – bare et lille hej."
    assert reminder.labels() == ["💬 Snak", "Stop check-ins"]

    await move_clock(snakkes, due + timedelta(days=10))
    await nothing_more_is_sent(snakkes, double, ada)


async def test_an_answered_checkin_gets_no_reminder(
    double: BotApiDouble, start_snakkes: StartSnakkes
) -> None:
    snakkes = await started(start_snakkes)
    ada = double.user(language_code="da")
    await plan(double, ada, when="tomorrow", slot="afternoon")
    [due] = await upcoming_due(snakkes)
    await move_clock(snakkes, due)
    [checkin] = await double.wait_for_messages(ada)
    [later] = await press_and_read(double, ada, checkin, checkin.buttons[2][0][1])
    assert later.text.startswith("Helt i orden.")

    await move_clock(snakkes, due + timedelta(days=2))
    await nothing_more_is_sent(snakkes, double, ada)


async def test_after_three_unanswered_checkins_the_bot_asks_once_whether_to_go_on(
    double: BotApiDouble, start_snakkes: StartSnakkes
) -> None:
    snakkes = await started(start_snakkes)
    ada = double.user(language_code="da")
    await plan(double, ada, when="weekly", slot="evening", weekday=0)

    for week in range(3):
        [due] = await upcoming_due(snakkes)
        await move_clock(snakkes, due)
        [checkin] = await double.wait_for_messages(ada)
        assert checkin.text.startswith(NEUTRAL_FIRST_LINES[0]), week
        await move_clock(snakkes, due + timedelta(hours=24))
        [follow_up] = await double.wait_for_messages(ada)
        if week < 2:
            assert follow_up.text.startswith("Hej igen 👋"), week

    # The third unanswered one gets the question instead of its reminder, and only once:
    # the weekly check-ins wait for the answer.
    assert follow_up.text.splitlines()[0] == (
        "Hej 👋 – skal jeg blive ved med at skrive til dig en gang imellem?"
    )
    await move_clock(snakkes, snakkes.clock() + timedelta(days=21))
    await nothing_more_is_sent(snakkes, double, ada)
    shown = await listing(double, ada)  # looking answers the question, but resumes nothing
    assert "(hver uge, sat på pause)" in shown.text
    assert ("▶ Fortsæt check-ins", "ci:keep") in shown.buttons[1]

    [keep] = await press_and_read(double, ada, follow_up, follow_up.buttons[0][0][1])
    assert keep.text.startswith("Godt 🙂")
    [due] = await upcoming_due(snakkes)
    assert due > snakkes.clock()
    await move_clock(snakkes, due)
    [checkin] = await double.wait_for_messages(ada)
    assert checkin.text.startswith(NEUTRAL_FIRST_LINES[0])


async def test_a_blocked_bot_stops_all_checkins_and_retries_nothing(
    double: BotApiDouble, start_snakkes: StartSnakkes
) -> None:
    snakkes = await started(start_snakkes)
    ada = double.user(language_code="da")
    await plan(double, ada, when="tomorrow", slot="morning")
    await plan(double, ada, when="weekly", slot="evening", weekday=5)
    double.block(ada)

    first = min(await upcoming_due(snakkes))
    await move_clock(snakkes, first)
    await double.wait_for_call(
        "sendMessage", predicate=lambda call: call.params["chat_id"] == ada.chat_id and not call.ok
    )
    await runner(snakkes).run_due()
    statuses = [row.status for row in await rows(snakkes)]
    assert statuses == [checkins.BLOCKED, checkins.BLOCKED]
    async with snakkes.service.database.session() as session:
        person = await session.scalar(select(Participant))
    assert person is not None
    assert not person.reachable

    await move_clock(snakkes, first + timedelta(days=30))
    await runner(snakkes).run_due()
    attempts = [c for c in double.calls_to("sendMessage") if c.params["chat_id"] == ada.chat_id]
    assert [c.error_code for c in attempts if not c.ok] == [403]
