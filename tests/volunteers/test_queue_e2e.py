"""The queue end to end: who is served first, out of hours, the time-out, leaving it, and a
volunteer handing someone back."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from storage import handover as store
from storage.models import Checkin
from tests.botapi import BotApiDouble
from tests.e2e.conftest import Snakkes
from tests.e2e.helpers import reply_to, to_menu
from tests.volunteers.conftest import StartWith
from tests.volunteers.helpers import (
    ask_for_human,
    handovers,
    onboard,
    runner,
    say,
    stat_events,
    tap,
)
from volunteers.organisations import Organisation, Span

ZONE = ZoneInfo("Europe/Copenhagen")


def move_to(snakkes: Snakkes, moment: datetime) -> None:
    snakkes.clock.advance(seconds=(moment - snakkes.clock()).total_seconds())


async def test_a_crisis_flagged_person_is_served_before_people_who_waited_longer(
    double: BotApiDouble, snakkes: Snakkes
) -> None:
    maria = await onboard(double, snakkes, "Maria", available=False)
    first, second, third = (double.user(n, language_code="da") for n in ("A", "B", "C"))
    await ask_for_human(double, first)
    snakkes.clock.advance(minutes=2)
    await ask_for_human(double, second)
    snakkes.clock.advance(minutes=2)

    # The third had a crisis answer before asking: flagged at once, first in the queue.
    menu = await to_menu(double, third)
    assert menu.text
    crisis = await reply_to(double, third, "jeg vil ikke leve mere")
    assert "112" in crisis.text
    [preview] = await tap(double, third, crisis, "f:safety.crisis.human")
    assert "70 201 201" in preview.text  # the crisis lines stay in view
    [queued] = await tap(double, third, preview, "vq:join")
    assert "nummer 1" in queued.text

    # The second is flagged while waiting: the crisis answer, then ahead of the first.
    crisis = await reply_to(double, second, "jeg har lyst til at dø")
    assert "112" in crisis.text

    double.send_command(maria, "/available")
    [available] = await double.wait_for_messages(maria)
    assert "Der venter 3" in available.text
    served = []
    for _ in range(3):
        double.send_command(maria, "/next")
        [taken] = await double.wait_for_messages(maria)
        served.append(taken.text.split("Du snakker nu med ")[1].split(" · ")[0])
        assert "⚠️" in taken.text or len(served) == 3
        double.send_command(maria, "/end")
        await double.wait_for_messages(maria, 2)
    # Both flagged people before the first, who waited longest; among them, the longer wait.
    rows = await handovers(snakkes)  # in the order they asked: first, second, third
    assert served == [f"Ung #{rows[i].young_number}" for i in (1, 2, 0)]


async def test_out_of_hours_tells_when_the_next_opens_and_offers_a_checkin_then(
    double: BotApiDouble, start_with: StartWith
) -> None:
    weekdays = (Span.parse("09:00-17:00"),)
    org = Organisation(
        "dagtimer", "Dagforeningen", hours=(weekdays,) * 5 + ((), ()), zone=ZONE,
    )
    snakkes = await start_with(org)
    today = snakkes.clock().astimezone(ZONE).date()
    monday = today + timedelta(days=(7 - today.weekday()) % 7 or 7)
    move_to(snakkes, datetime(monday.year, monday.month, monday.day, 22, tzinfo=ZONE))
    await onboard(double, snakkes, "Vera", org="dagtimer", available=False)

    ada = double.user("Ada", language_code="da")
    menu = await to_menu(double, ada)
    [closed] = await tap(double, ada, menu, "f:menu.start.human")
    assert "Den næste åbner i morgen kl. 9:00" in closed.text
    assert "70 201 201" in closed.text
    [planned] = await tap(double, ada, closed, "vq:later")
    assert "i morgen kl. 9:00" in planned.text
    async with snakkes.service.database.session() as session:
        [checkin] = (await session.scalars(select(Checkin))).all()
    tuesday_nine = datetime(monday.year, monday.month, monday.day, 9, tzinfo=ZONE) + timedelta(
        days=1
    )
    assert checkin.due_at == tuesday_nine
    assert await handovers(snakkes) == []  # nobody was put in a queue that nobody serves


async def test_a_long_wait_is_told_honestly_with_a_checkin_and_the_crisis_lines(
    double: BotApiDouble, snakkes: Snakkes
) -> None:
    await onboard(double, snakkes, "Vera", available=False)  # registered, not on duty
    ada, bo = double.user("Ada", language_code="da"), double.user("Bo", language_code="da")
    queued = await ask_for_human(double, ada)
    await to_menu(double, bo)
    crisis = await reply_to(double, bo, "jeg vil ikke leve mere")
    [preview] = await tap(double, bo, crisis, "f:safety.crisis.human")
    await tap(double, bo, preview, "vq:join")

    snakkes.clock.advance(minutes=9)
    await runner(snakkes).run_once()
    assert all(row.timeout_noticed_at is None for row in await handovers(snakkes))
    snakkes.clock.advance(minutes=2)
    await runner(snakkes).run_once()
    [timeout] = await double.wait_for_messages(ada)
    assert "Ingen frivillige har været ledige endnu" in timeout.text
    assert [label for row in timeout.buttons for label, _ in row] == [
        "Jeg bliver i køen", "Skriv til mig en anden dag", "Forlad køen",
    ]
    urgent, _ = await double.wait_for_messages(bo, 2)
    assert "70 201 201" in urgent.text  # flagged: the crisis lines again

    [kept] = await tap(double, ada, timeout, "vq:keep")
    assert "beholder din plads" in kept.text
    told = len(double.messages_to(ada))
    snakkes.clock.advance(minutes=20)
    await runner(snakkes).run_once()
    assert len(double.messages_to(ada)) == told  # told once, not again and again
    [left] = await tap(double, ada, queued, "vq:leave")
    assert "forladt køen" in left.text
    rows = await handovers(snakkes)
    assert rows[0].status == store.TIMED_OUT
    timed_out = await stat_events(snakkes, "handover_timed_out")
    assert len(timed_out) == 2  # once each, however many rounds ran


async def test_leaving_the_queue_with_one_tap(double: BotApiDouble, snakkes: Snakkes) -> None:
    maria = await onboard(double, snakkes, "Maria")
    ada = double.user("Ada", language_code="da")
    queued = await ask_for_human(double, ada, note="bare en snak")
    [notice] = await double.wait_for_messages(maria)
    [left] = await tap(double, ada, queued, "vq:leave")
    assert "forladt køen" in left.text
    [row] = await handovers(snakkes)
    assert (row.status, row.note) == (store.WITHDRAWN, None)
    [gone] = await tap(double, maria, notice, "vt:take:")
    assert "forladt køen" in gone.text or "allerede taget" in gone.text
    [left_event] = await stat_events(snakkes, "handover_left")
    assert left_event.detail == store.WITHDRAWN


async def test_a_volunteer_hands_someone_back_with_a_note_for_the_next(
    double: BotApiDouble, snakkes: Snakkes
) -> None:
    maria = await onboard(double, snakkes, "Maria")
    ada = double.user("Ada", language_code="da")
    await ask_for_human(double, ada)
    [notice] = await double.wait_for_messages(maria)
    [taken] = await tap(double, maria, notice, "vt:take:")
    await double.wait_for_messages(ada)
    jonas = await onboard(double, snakkes, "Jonas")

    [prompt] = await tap(double, maria, taken, "vc:back:")
    assert "note til den næste frivillige" in prompt.text
    [done] = await say(double, maria, "Vil gerne tale om sin nye skole")
    assert "tilbage i køen" in done.text
    [told] = await double.wait_for_messages(ada)
    assert "Maria har sendt dig tilbage i køen" in told.text
    [notice] = await double.wait_for_messages(jonas)
    assert double.messages_to(maria)[-1] == done  # no notice to the one who handed back

    [taken] = await tap(double, jonas, notice, "vt:take:")
    assert "Note fra den forrige frivillige: »Vil gerne tale om sin nye skole«" in taken.text
    [connected] = await double.wait_for_messages(ada)
    assert "Jonas fra Eksempelforeningen" in connected.text
    double.send_text(ada, "hej Jonas")
    [relayed] = await double.wait_for_messages(jonas)
    assert relayed.text.endswith(": hej Jonas")
