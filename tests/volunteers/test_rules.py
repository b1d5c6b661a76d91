"""Opening hours and the next opening, the wait estimate, invite codes, the config of
organisations, and the schema the migration builds."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from bot.config import ConfigError, load_settings
from storage import handover as store
from storage import participants
from storage.crypto import Keyring
from storage.db import Database
from storage.models import Base, Handover
from volunteers import invites, queue
from volunteers.organisations import Organisation, Span

ZONE = ZoneInfo("Europe/Copenhagen")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=ZONE)  # type: ignore[misc]


def weekly(**days: str) -> tuple[tuple[Span, ...], ...]:
    names = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    return tuple(tuple(Span.parse(s) for s in days.get(n, "").split(",") if s) for n in names)


DAYTIME = Organisation(
    "day", "Day", hours=weekly(mon="09:00-17:00", tue="09:00-17:00", fri="18:00-02:00"),
    closed_on=frozenset({date(2026, 12, 22)}), zone=ZONE,
)


@pytest.mark.parametrize(
    ("moment", "is_open"),
    [
        (local(2026, 12, 14, 9, 0), True),  # Monday, opening minute
        (local(2026, 12, 14, 16, 59), True),
        (local(2026, 12, 14, 17, 0), False),  # closing minute is closed
        (local(2026, 12, 16, 12, 0), False),  # Wednesday: no hours
        (local(2026, 12, 18, 23, 30), True),  # Friday night
        (local(2026, 12, 19, 1, 59), True),  # ... past midnight into Saturday
        (local(2026, 12, 19, 2, 0), False),
        (local(2026, 12, 22, 10, 0), False),  # a Tuesday, but closed that day
    ],
)
def test_open_at_follows_weekly_hours_overnight_spans_and_closed_days(
    moment: datetime, is_open: bool
) -> None:
    assert DAYTIME.open_at(moment) is is_open
    assert DAYTIME.open_at(moment.astimezone(UTC)) is is_open  # any zone in, same answer


def test_next_opening_skips_closed_days_and_handles_daylight_saving() -> None:
    assert DAYTIME.next_opening(local(2026, 12, 14, 10)) == local(2026, 12, 14, 10)
    assert DAYTIME.next_opening(local(2026, 12, 14, 18)) == local(2026, 12, 15, 9)
    assert DAYTIME.next_opening(local(2026, 12, 16, 8)) == local(2026, 12, 18, 18)
    # Monday the 21st after closing: Tuesday the 22nd is closed, so Friday evening.
    assert DAYTIME.next_opening(local(2026, 12, 21, 18)) == local(2026, 12, 25, 18)
    # Across the spring change (29 March 2026): 09:00 local on Monday is 07:00 UTC.
    opening = DAYTIME.next_opening(local(2026, 3, 28, 12))
    assert opening == local(2026, 3, 30, 9)
    assert opening is not None
    assert opening.astimezone(UTC).hour == 7
    never = Organisation("x", "X", zone=ZONE)
    assert never.next_opening(local(2026, 1, 1, 12)) is None
    always = Organisation("a", "A", always_open=True, closed_on=frozenset({date(2026, 12, 24)}),
                          zone=ZONE)
    assert always.next_opening(local(2026, 12, 24, 15)) == local(2026, 12, 25, 0)


def test_serves_by_language_and_age_band() -> None:
    org = Organisation("o", "O", languages=("da",), age_bands=("15-17", "18-24"))
    assert org.serves("da", "15-17")
    assert not org.serves("en", "15-17")
    assert not org.serves("da", None)  # unsaid is not among its bands


async def test_the_estimate_is_the_median_of_recent_waits_or_nothing(
    database: Database,
) -> None:
    now = datetime.now(UTC)
    async with database.session() as session:
        assert await queue.estimate(session, now) is None
    waits = [60, 120, 600, 30 * 60]
    async with database.session() as session, session.begin():
        keyring = Keyring(b"k" * 32)
        for index, seconds in enumerate([*waits, 5]):
            arrival = await participants.arrive(
                session, keyring, channel="telegram", channel_user_id=str(index),
                address=str(index), language="da",
            )
            assert arrival is not None
            person = arrival.participant
            claimed = now - timedelta(hours=1) if index < len(waits) else now - timedelta(days=20)
            session.add(Handover(
                participant_id=person.id, status=store.ENDED, young_number=1000, language="da",
                age_band="unsaid", channel="telegram", crisis=False, writing_note=False,
                flagged=False, requested_at=claimed - timedelta(seconds=seconds),
                claimed_at=claimed,
            ))
    async with database.session() as session:
        # 60, 120, 600, 1800 s within 14 days (the 20-day-old one is left out): median 360 s.
        assert await queue.estimate(session, now) == timedelta(seconds=360)


def test_invite_codes_are_random_hashed_and_typed_forgivingly() -> None:
    code = invites.new_code()
    assert len(code) == 14
    assert code.count("-") == 2
    assert code != invites.new_code()
    assert invites.code_hash(code) == invites.code_hash(code.lower().replace("-", " "))
    assert code not in invites.code_hash(code)
    assert invites.parse_duration("7d") == timedelta(days=7)
    assert invites.parse_duration("12h") == timedelta(hours=12)
    with pytest.raises(ValueError, match="duration"):
        invites.parse_duration("soon")


def test_organisations_in_the_config(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        "[[organisations]]\nslug = 'nat'\nname = 'Natlinjen'\nlanguages = ['da']\n"
        "age_bands = ['18-24', '25-30']\nhours = { fri = '20:00-02:00', sat = ['10:00-12:00',"
        " '20:00-02:00'] }\nclosed_on = [2026-12-24, '2026-12-31']\nmax_waiting = 5\n"
        "capacity = 2\n",
        encoding="utf-8",
    )
    [org] = load_settings(path, {"SNAKKES_SERVICE_DATA_DIR": str(tmp_path)}).organisations
    assert (org.languages, org.age_bands, org.max_waiting, org.capacity) == (
        ("da",), ("18-24", "25-30"), 5, 2,
    )
    assert org.closed_on == {date(2026, 12, 24), date(2026, 12, 31)}
    assert org.open_at(local(2026, 12, 19, 11))
    assert not org.open_at(local(2026, 12, 19, 13))
    for bad, message in [
        ("hours = { mon = '9-17' }", "hours.mon"),
        ("hours = { funday = '09:00-17:00' }", "funday"),
        ("always_open = true\ncapacity = 0", "capacity"),
        ("always_open = true\nage_bands = ['kids']", "age_bands"),
        ("", "needs hours"),
    ]:
        path.write_text(f"[[organisations]]\nslug = 'x'\nname = 'X'\n{bad}\n", encoding="utf-8")
        with pytest.raises(ConfigError, match=message):
            load_settings(path, {"SNAKKES_SERVICE_DATA_DIR": str(tmp_path)})


async def test_the_migration_builds_what_the_models_describe(database: Database) -> None:
    mine = ("'handovers'", "'invites'", "'volunteers'", "'relay_messages'", "'value'")

    def differences(connection: Connection) -> list[object]:
        """Differences in this feature's tables (other features' are theirs to check)."""
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        return [
            diff for diff in compare_metadata(context, Base.metadata)
            if any(name in repr(diff) for name in mine)
        ]

    async with database.engine.connect() as connection:
        assert await connection.run_sync(differences) == []
