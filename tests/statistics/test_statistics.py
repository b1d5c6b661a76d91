"""Every statistic over a fortnight played through the real domain code, on SQLite and on
PostgreSQL: the raw figures the SQL computes, and the report's cells after suppression."""

from __future__ import annotations

from datetime import date

from insights import compute, exports, report
from insights.calendar import Calendar
from storage import statistics
from storage.statistics import ALL, Percentiles, Periods
from tests.conftest import SettingsFactory
from tests.statistics.scenario import play
from tests.statistics.world import World, two_organisations

ORGS = ["example", "other"]
CALENDAR = Calendar.of(2026, date(2026, 4, 1))


def cells(built: report.Report, table: str, row: str) -> tuple[str, ...]:
    return built.table(table).row(row).cells


async def test_every_statistic(database_url: str, make_settings: SettingsFactory) -> None:
    settings = two_organisations(make_settings(database_url=database_url))
    world = World(settings)
    await world.open()
    try:
        await play(world)
        zone = settings.service.zone
        async with world.service.database.session() as session:
            month = await statistics.compute(
                session, Periods.of(date(2026, 3, 1), date(2026, 3, 31), "month", zone)
            )
            weeks = await statistics.compute(
                session, Periods.of(date(2026, 3, 2), date(2026, 3, 15), "week", zone)
            )
            figures = await compute.figures(session, CALENDAR, zone)
    finally:
        await world.close()

    # -- the figures, unsuppressed, as the SQL computes them ------------------------------
    count = month.count
    assert month.periods.labels() == ["2026-03"]
    assert count("topic", "friends") == [5]
    assert count("topic", "family") == [1]
    assert count("crisis", "suicide") == [1]
    assert {d: count("age_band", d)[0] for d in month.details("age_band")} == {
        "15-17": 1, "18-24": 4, "25-30": 2, "unsaid": 1,
    }
    assert count("checkin_planned") == [6]
    assert count("checkin_sent", "checkin") == [5]
    assert count("checkin_answered") == [5]
    # The sixth person's check-in, and the five follow-up reminders nobody needed (the
    # person had answered), were not sent in time.
    assert count("checkin_missed", "checkin") == [1]
    assert count("checkin_missed", "reminder") == [5]
    assert count("handover_requested") == [7]
    assert count("handover_timed_out") == [1]
    assert count("handover_left", "withdrawn") == [1]
    assert count("handover_left", "timed_out") == [1]
    assert count("handover_claimed", org="example") == [4]
    assert count("handover_claimed", org="other") == [1]
    assert count("feedback_rating", "5", org="example") == [3]
    assert count("feedback_rating", "4", org="example") == [1]
    assert count("feedback_rating", "3", org="other") == [1]
    people = month.people
    assert people[("new_person", "", "telegram", "da")] == [6]
    assert people[("new_person", "", "web", "da")] == [1]
    assert people[("new_person", "", "web", "en")] == [1]
    # First contacts: six young people and two volunteers on Telegram, two on the web.
    assert people[("bot_conversation", "first", "telegram", "da")] == [8]
    # Back after a day or more: five in week 11 and the sixth planning on Tuesday (34 hours
    # after Monday), and both web chat people in week 11.
    assert people[("bot_conversation", "again", "telegram", "da")] == [6]
    assert people[("bot_conversation", "again", "web", "da")] == [1]
    assert people[("bot_conversation", "again", "web", "en")] == [1]
    # Waits 2, 4, 6, 8, 10 minutes; lengths 10 ... 50 minutes (nearest rank).
    assert month.waits[ALL] == [Percentiles(5, 360, 600)] * 2
    assert month.waits["example"][0] == Percentiles(4, 240, 480)
    assert month.waits["other"][0] == Percentiles(1, 600, 600)
    assert month.lengths[ALL] == [Percentiles(5, 1800, 3000)] * 2
    assert month.first_scores == {8: [3], 7: [1], 6: [1], 4: [1]}
    assert month.changes == {"better": [3], "same": [1], "worse": [1]}
    assert month.change_sums == [-4]  # 6-8, 6-8, 5-8, 7-7, 9-6
    # What helps: all five measured again had answered a check-in first (their volunteer
    # conversations came after the measurement).
    assert month.paths == {("checkins", "better"): [3], ("checkins", "same"): [1],
                           ("checkins", "worse"): [1]}
    assert month.path_sums == {"checkins": [-4]}

    # Per week: everything of week 10 and 11 lands in its week.
    assert weeks.periods.labels() == ["2026-W10", "2026-W11"]
    assert weeks.people[("new_person", "", "telegram", "da")] == [6, 0]
    assert weeks.count("handover_requested") == [0, 7]
    assert weeks.count("checkin_sent") == [5, 0]
    assert weeks.first_scores == {8: [3, 0], 7: [1, 0], 6: [1, 0], 4: [1, 0]}
    assert weeks.changes == {"better": [0, 3], "same": [0, 1], "worse": [0, 1]}

    # -- the report, suppressed, over the fixed periods of 2026 as of 1 April --------------
    built = report.build(figures, CALENDAR, ORGS, grain="quarter")
    assert built.columns == ("1. kvt. 2026",)  # the year has not ended: no year column
    assert cells(built, "people", "new") == ("8",)
    # One language below 5: the other is withheld too, or 8 - Danish would give it away.
    assert cells(built, "people", "new/language/en") == ("<5",)
    assert cells(built, "people", "new/language/da") == ("x",)
    assert cells(built, "people", "new/channel/web") == ("<5",)
    assert cells(built, "people", "new/channel/telegram") == ("x",)
    assert cells(built, "people", "returning") == ("8",)
    assert cells(built, "conversations", "bot") == ("18",)
    assert cells(built, "age_bands", "age_bands") == ("8",)
    assert all(cells(built, "age_bands", f"age_bands/{b}") == ("<5",)
               for b in report.AGE_BANDS)
    assert cells(built, "topics", "topics") == ("6",)
    assert cells(built, "topics", "topics/family") == ("<5",)
    assert cells(built, "topics", "topics/friends") == ("x",)
    assert cells(built, "crisis", "crisis") == ("<5",)
    assert cells(built, "checkins", "checkin_planned") == ("6",)
    assert cells(built, "checkins", "checkin_sent") == ("5",)
    assert cells(built, "checkins", "checkin_answered") == ("5",)
    assert cells(built, "checkins", "checkin_missed") == ("6",)
    assert cells(built, "checkins", "checkin_missed/checkin") == ("<5",)
    assert cells(built, "checkins", "checkin_missed/reminder") == ("x",)
    assert cells(built, "queue", "requests") == ("7",)
    assert cells(built, "queue", "timeouts") == ("<5",)
    assert cells(built, "loneliness_first", "first") == ("6",)
    # Six measured: scores 8 8 8 7 6 4 (one in 3-5, five in 6-9: both withheld, the one
    # being small); the mean over the six is shown.
    assert cells(built, "loneliness_first", "first/low") == ("<5",)
    assert cells(built, "loneliness_first", "first/high") == ("x",)
    assert cells(built, "loneliness_first", "first/mean") == ("6.8",)
    assert cells(built, "loneliness_change", "change") == ("5",)
    assert cells(built, "loneliness_change", "change/better") == ("<5",)
    assert cells(built, "loneliness_change", "change/mean") == ("-0.80",)
    assert cells(built, "what_helps", "path/checkins") == ("5",)
    assert cells(built, "what_helps", "path/checkins/better") == ("<5",)
    assert cells(built, "what_helps", "path/checkins/mean") == ("-0.80",)
    assert cells(built, "what_helps", "path/bot") == ("<5",)
    assert cells(built, "what_helps", "path/volunteer") == ("<5",)
    assert "ingen kontrolgruppe" in built.table("what_helps").note
    assert cells(built, "volunteer_conversations", "claimed") == ("5",)
    assert cells(built, "volunteer_conversations", "claimed/example") == ("<5",)
    assert cells(built, "feedback", "feedback") == ("5",)
    assert cells(built, "feedback", "feedback/mean") == ("x",)
    assert cells(built, "feedback", "feedback@example/mean") == ("n<5",)
    assert cells(built, "waiting", f"{ALL}/median") == ("6",)
    assert cells(built, "waiting", f"{ALL}/p90") == ("10",)
    assert cells(built, "waiting", "example/median") == ("n<5",)
    assert cells(built, "length", f"{ALL}/median") == ("30",)
    assert cells(built, "length", f"{ALL}/p90") == ("50",)
    # Labels are human, in Danish by default.
    assert built.table("topics").row("topics/friends").label == "Venner, eller at stå udenfor"
    assert built.table("age_bands").row("age_bands/unsaid").label == "Ville ikke sige"

    # Per month: all of it happened in March, so March equals the quarter, and showing
    # both would say January and February had none: March is withheld, the quarter stays.
    by_month = report.build(figures, CALENDAR, ORGS, grain="month")
    assert by_month.columns == ("jan 2026", "feb 2026", "mar 2026")
    assert cells(by_month, "people", "new") == ("<5", "<5", "x")
    assert cells(by_month, "queue", "requests") == ("<5", "<5", "x")
    # Per week (in English): weeks 1 to 13, and nothing shown that the quarter would give
    # away.
    by_week = report.build(figures, CALENDAR, ORGS, grain="week", language="en")
    assert by_week.columns[0] == "Week 1"
    assert by_week.columns[-1] == "Week 13"
    assert set(cells(by_week, "people", "new")) <= {"<5", "x"}
    assert by_week.table("people").title == "People"

    # A coordinator sees exactly their rows of the organisations' tables, nothing of the
    # other organisation and no all-organisations total that would give it away.
    scoped = report.build(figures, CALENDAR, ORGS, grain="quarter", scope="example")
    assert [r.key for r in scoped.table("volunteer_conversations").rows] == ["claimed/example"]
    assert {r.org for r in scoped.table("feedback").rows} == {"example"}
    assert [r.key for r in scoped.table("waiting").rows] == ["example/median", "example/p90"]
    assert cells(scoped, "people", "new") == ("8",)  # the shared bot is everyone's

    # No output has a row per person, and every output says the same.
    text, csv_text, json_text = (exports.to_text(built), exports.to_csv(built),
                                 exports.to_json(built))
    assert "Ung #" not in text + csv_text + json_text
    assert "Personer;Nye personer (har sagt ja til, hvad snakkes er);8" in csv_text
    assert "Personer;  Engelsk;<5" in csv_text
    assert '"x"' in json_text
    assert '"<5"' in json_text
