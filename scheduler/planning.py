"""The rules of when a check-in is due, as pure functions of "now" and the deployment's
settings: the choices offered, quiet hours, the reminder, and saying a time in words.

Everything here works in the deployment's zone, because "tomorrow evening" and "22:00" mean
what the young person's wall clock says, across summer time too; the database keeps UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dialogues.content import Texts

SLOTS = ("morning", "afternoon", "evening")
# What a person can choose: the day (in days from today) or weekly on a day.
WHEN_DAYS: Mapping[str, int] = {"tomorrow": 1, "3days": 3, "week": 7}
WEEKLY = "weekly"
WHENS = (*WHEN_DAYS, WEEKLY)


def parse_clock(value: str) -> time:
    """ "22:00" -> time(22, 0); raises ValueError on anything else."""
    hours, sep, minutes = value.partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit() or len(minutes) != 2:
        raise ValueError(f"not a time of day (HH:MM): {value!r}")
    return time(int(hours), int(minutes))


@dataclass(frozen=True)
class Rules:
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Copenhagen"))
    slots: Mapping[str, time] = field(
        default_factory=lambda: {"morning": time(9), "afternoon": time(15), "evening": time(19)}
    )
    quiet_start: time = time(22)
    quiet_end: time = time(8)
    grace: timedelta = timedelta(hours=6)
    reminder_after: timedelta = timedelta(hours=24)
    stale_after: timedelta = timedelta(minutes=5)

    # -- quiet hours ---------------------------------------------------------------------
    def is_quiet(self, moment: datetime) -> bool:
        clock = moment.astimezone(self.zone).time()
        start, end = self.quiet_start, self.quiet_end
        if start == end:
            return False
        if start < end:
            return start <= clock < end
        return clock >= start or clock < end

    def outside_quiet(self, moment: datetime) -> datetime:
        """`moment`, or the end of the quiet hours it falls in."""
        if not self.is_quiet(moment):
            return moment
        local = moment.astimezone(self.zone)
        day = local.date()
        if self.quiet_start > self.quiet_end and local.time() >= self.quiet_start:
            day += timedelta(days=1)
        return self._at(day, self.quiet_end)

    # -- planning ------------------------------------------------------------------------
    def first_due(
        self, when: str, slot: str, now: datetime, weekday: int | None = None
    ) -> datetime:
        """The first time a check-in chosen as (`when`, `slot`) is due, after quiet hours."""
        today = now.astimezone(self.zone).date()
        if when == WEEKLY:
            if weekday is None or not 0 <= weekday <= 6:
                raise ValueError("a weekly check-in needs a weekday 0-6")
            return self.next_weekly(weekday, slot, after=now)
        if when not in WHEN_DAYS:
            raise ValueError(f"unknown choice of day: {when!r}")
        day = today + timedelta(days=WHEN_DAYS[when])
        return self.outside_quiet(self._at(day, self.slot(slot)))

    def next_weekly(self, weekday: int, slot: str, after: datetime) -> datetime:
        """The first `weekday` at `slot` strictly after `after`, after quiet hours."""
        day = after.astimezone(self.zone).date()
        day += timedelta(days=(weekday - day.weekday()) % 7)
        due = self._at(day, self.slot(slot))
        if due <= after:
            due = self._at(day + timedelta(days=7), self.slot(slot))
        return self.outside_quiet(due)

    def reminder_due(self, sent_at: datetime) -> datetime:
        return self.outside_quiet(sent_at + self.reminder_after)

    def slot(self, name: str) -> time:
        if name not in self.slots:
            raise ValueError(f"unknown time of day: {name!r}")
        return self.slots[name]

    def _at(self, day: date, clock: time) -> datetime:
        """A wall-clock time in the zone, as UTC (a time skipped by summer time moves on)."""
        local = datetime.combine(day, clock, tzinfo=self.zone)
        return local.astimezone(UTC)


# -- saying a time in words -------------------------------------------------------------
def clock_words(clock: time, language: str) -> str:
    """19:00 -> "19" in Danish ("kl. 19"), "19:00" in English; 8:30 -> "8.30" / "8:30"."""
    if language == "da":
        return f"{clock.hour}" if clock.minute == 0 else f"{clock.hour}.{clock.minute:02d}"
    return f"{clock.hour}:{clock.minute:02d}"


def weekday_name(texts: Texts, weekday: int, language: str) -> str:
    return texts.get("checkin_weekdays", language).split(",")[weekday].strip()


def describe(moment: datetime, now: datetime, zone: ZoneInfo, texts: Texts, language: str) -> str:
    """A due time as a person says it: "i morgen kl. 9", "lørdag kl. 19", and with the
    date when it is a week or more away, so a weekday is never ambiguous."""
    local, today = moment.astimezone(zone), now.astimezone(zone).date()
    days = (local.date() - today).days
    name = weekday_name(texts, local.weekday(), language)
    if days == 0:
        day = texts.get("checkin_today", language)
    elif days == 1:
        day = texts.get("checkin_tomorrow", language)
    elif 1 < days < 7:
        day = name
    else:
        day = texts.get("checkin_date", language, weekday=name, day=local.day, month=local.month)
    return texts.get("checkin_at", language, day=day, time=clock_words(local.time(), language))
