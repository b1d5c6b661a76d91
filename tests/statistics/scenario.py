"""The fortnight the statistics tests assert, played by `World`."""

from __future__ import annotations

from datetime import timedelta

from tests.statistics.world import Person, World

TELEGRAM = [Person("telegram", f"young-{n}") for n in range(1, 7)]
WEB = [Person("web", "web-1"), Person("web", "web-2", "en")]
AGES = ["a18_24", "a18_24", "a18_24", "a18_24", "a15_17", "unsaid"]
FIRST = [(3, 3, 2), (3, 2, 3), (2, 3, 3), (2, 2, 3), (2, 2, 2), (1, 2, 1)]  # 8 8 8 7 6 4
AGAIN = [(2, 2, 2), (2, 2, 2), (1, 2, 2), (2, 2, 3), (3, 3, 3)]  # 6 6 5 7 9
WAITS = [2, 4, 6, 8, 10]  # minutes
LENGTHS = [10, 20, 30, 40, 50]
RATINGS = [5, 4, 5, 5, 3]


async def play(world: World) -> None:
    # Week 10. Monday: six people on Telegram and two on the web chat find snakkes.
    world.clock.at(0, 9)
    for person, age, measure in zip(TELEGRAM, AGES, FIRST, strict=True):
        await world.intake(person, age, measure)
    for person in WEB:
        await world.intake(person, "a25_30", None)
    for person in TELEGRAM[:5]:
        await world.topic(person, "friends")
    await world.topic(TELEGRAM[5], "family")
    await world.text(TELEGRAM[5], "jeg tænker på selvmord hele tiden")
    # Five plan a check-in for tomorrow evening.
    for person in TELEGRAM[:5]:
        await world.plan_checkin(person)
    # Tuesday evening: the check-ins go out. The sixth person plans one for Wednesday,
    # and it is missed: nothing sends it until the following week.
    world.clock.at(1, 19, 30)
    await world.run_checkins()
    await world.plan_checkin(TELEGRAM[5])
    # Week 11. Monday: five come back (answering their check-in), measure again, and ask
    # for a human; two volunteers of two organisations answer.
    world.clock.at(7, 9)
    await world.run_checkins()
    example = await world.volunteer("Sol", "example")
    other = await world.volunteer("Maane", "other")
    for person, measure in zip(TELEGRAM[:5], AGAIN, strict=True):
        await world.text(person, "hej igen")
        await world.measure_again(person, measure)
    for n, person in enumerate(TELEGRAM[:5]):
        volunteer = other if n == 4 else example
        await world.volunteer_conversation(
            person, volunteer, wait=WAITS[n], length=LENGTHS[n], rating=RATINGS[n]
        )
    # Two on the web chat ask too: one leaves the queue, the other waits past the time-out
    # and then leaves.
    web1, web2 = WEB
    await world.ask_for_human(web1)
    await world.press(web1, "vq:leave")
    await world.ask_for_human(web2)
    world.clock.now += timedelta(minutes=11)
    await world.run_handovers()
    await world.command(web2, "end")
