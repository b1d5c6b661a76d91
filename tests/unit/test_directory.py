"""The community directory: matching a person's interest, region, age band and language;
the dashboard form's validation; when the follow-up is due."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from multidict import MultiDict

from dialogues.resources import Community, Directory, validate
from scheduler.bridging import _Bridging
from scheduler.planning import Rules


def community(name: str, ages: tuple[int, int], languages: tuple[str, ...],
              regions: tuple[str, ...] = ("syddanmark",)) -> Community:
    return Community(name, {"da": "…", "en": "…"}, "https://x.example.org", regions, "",
                     ("peer",), ages[0], ages[1], languages)


DIRECTORY = Directory((
    community("Voksne unge", (25, 30), ("da",)),
    community("Teenagere", (13, 17), ("da",)),
    community("International", (18, 30), ("en",)),
    community("For alle", (13, 30), ("da", "en"), ("online",)),
), example_data=False)


def names(found: object) -> list[str]:
    return [c.name for c in found]  # type: ignore[attr-defined]


def test_suggestions_fit_the_age_band_told_and_the_language_comes_first() -> None:
    assert names(DIRECTORY.find("peer", "syddanmark", age_band="15-17")) == [
        "Teenagere", "For alle"]
    assert names(DIRECTORY.find("peer", "syddanmark", age_band="under-15")) == [
        "Teenagere", "For alle"]
    assert names(DIRECTORY.find("peer", "syddanmark", age_band="25-30", language="en")) == [
        "International", "For alle", "Voksne unge"]
    # Not told: every age.
    assert len(DIRECTORY.find("peer", "syddanmark", age_band="unsaid")) == 4
    assert len(DIRECTORY.find("peer", "syddanmark")) == 4


GOOD = {"name": "Gåklubben", "kind": "peer", "regions": "online", "min_age": "15",
        "max_age": "25", "link": "https://gaa.example.org", "languages": "da",
        "description_da": "Vi går.", "description_en": "We walk."}


def test_validation_names_every_wrong_field() -> None:
    values, errors = validate(MultiDict(GOOD))
    assert errors == []
    assert values["regions"] == "online"
    for wrong, key in (({"name": " "}, "name"), ({"name": "x" * 81}, "name"),
                       ({"link": "gaa.example.org"}, "link"),
                       ({"link": "javascript:alert(1)"}, "link"),
                       ({"link": "https://localhost"}, "link"),
                       ({"kind": "party"}, "kind"), ({"regions": "mars"}, "regions"),
                       ({"min_age": "12"}, "ages"), ({"min_age": "20", "max_age": "18"}, "ages"),
                       ({"max_age": "tredive"}, "ages"), ({"languages": "de"}, "languages"),
                       ({"description_en": ""}, "description_en")):
        _, errors = validate(MultiDict({**GOOD, **wrong}))
        assert errors == [key], (wrong, errors)
    form = MultiDict(GOOD)
    form.add("regions", "syddanmark")
    values, errors = validate(form)
    assert (values["regions"], errors) == ("online,syddanmark", [])


def test_the_follow_up_is_due_in_the_afternoon_after_quiet_hours() -> None:
    zone = ZoneInfo("Europe/Copenhagen")
    now = datetime(2026, 3, 2, 20, 30, tzinfo=UTC)  # Monday evening
    plain = _Bridging(Rules(zone=zone), None)
    assert plain.due(now, 7) == datetime(2026, 3, 9, 15, tzinfo=zone)
    # Two weeks on, across the change to summer time (29 March), still 15:00 there.
    later = plain.due(datetime(2026, 3, 20, 10, tzinfo=UTC), 14)
    assert later == datetime(2026, 4, 3, 13, tzinfo=UTC)
    assert later.astimezone(zone).time() == time(15)
    quiet = _Bridging(Rules(zone=zone, quiet_start=time(14), quiet_end=time(16)), None)
    assert quiet.due(now, 7) == datetime(2026, 3, 9, 16, tzinfo=zone)
