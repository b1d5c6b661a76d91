"""What helps, from a constructed world played through the real domain code: people who
went to a community after the bot's follow-up, and people who only talked with the bot,
measured before and after; the table shows the change by path, suppressed."""

from __future__ import annotations

from datetime import date, timedelta

from insights import compute, report
from insights.calendar import Calendar
from tests.conftest import SettingsFactory
from tests.statistics.world import Person, World

CALENDAR = Calendar.of(2026, date(2026, 4, 1))
WENT = [Person("telegram", f"went-{n}") for n in range(11)]
BOT_ONLY = [Person("telegram", f"bot-{n}") for n in range(5)]


async def go_via_follow_up(world: World, person: Person) -> None:
    await world.command(person, "menu")
    await world.press(person, "f:menu.start.communities")
    await world.press(person, "f:communities.start.sport")
    await world.press(person, "f:communities.region.hovedstaden")
    await world.press(person, "f:communities.list.ask_later")
    await world.press(person, "br:plan:7")


async def test_the_change_in_loneliness_by_path(
    database_url: str, make_settings: SettingsFactory
) -> None:
    world = World(make_settings(database_url=database_url))
    await world.open()
    try:
        world.clock.at(0, 9)  # Monday 2 March
        for person in [*WENT, *BOT_ONLY]:
            await world.intake(person, "a18_24", (3, 3, 3) if person in WENT else (2, 2, 2))
        for person in WENT:
            await go_via_follow_up(world, person)
        # A week later, 15:00 in Copenhagen: the follow-ups go out; everyone went.
        world.clock.at(7, 14)
        await world.run_checkins()
        for person in WENT:
            follow_up = world.telegram.sent[person.key][-1:]
            await world.press(person, "br:went", follow_up)
        world.clock.now += timedelta(hours=1)
        # Measured again: six of those who went feel less lonely, five the same; those
        # who only talked with the bot the same as before.
        for n, person in enumerate(WENT):
            await world.measure_again(person, (2, 2, 2) if n < 6 else (3, 3, 3))
        for person in BOT_ONLY:
            await world.measure_again(person, (2, 2, 2))
        async with world.service.database.session() as session:
            figures = await compute.figures(session, CALENDAR, world.service.settings.service.zone)
    finally:
        await world.close()

    assert sum(figures.count("bridge_answer", "went")) == 11
    built = report.build(figures, CALENDAR, [], grain="quarter")
    helps = built.table("what_helps")
    cells = {row.key: row.cells[0] for row in helps.rows}
    assert cells["path/community"] == "11"
    assert cells["path/community/better"] == "6"
    # None lonelier (0, so "<5"): "the same" is withheld too, or 11 - 6 - 5 would show it.
    assert cells["path/community/worse"] == "<5"
    assert cells["path/community/same"] == "x"
    assert cells["path/community/mean"] == "-1.64"  # 6 x (6 - 9) / 11
    assert cells["path/bot"] == "5"
    assert cells["path/bot/same"] == "x"
    assert cells["path/bot/better"] == "<5"
    assert cells["path/bot/mean"] == "+0.00"
    assert cells["path/volunteer"] == "<5"
    assert cells["path/checkins"] == "<5"
    assert "ingen kontrolgruppe" in helps.note
    bridging = {row.key: row.cells[0] for row in built.table("bridging").rows}
    assert bridging["bridge_planned"] == "11"
    assert bridging["bridge_sent"] == "11"
    assert bridging["bridge_answer"] == "11"
    # All eleven went: "went" equal to the answers would say nobody answered otherwise.
    assert bridging["bridge_answer/went"] == "x"
    assert bridging["bridge_answer/not_yet"] == "<5"
