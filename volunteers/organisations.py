"""Partner organisations and their rules: whom they serve and when they are open.

Opening hours are wall-clock times in the deployment's zone, per weekday; a span whose end
is not after its start runs past midnight ("20:00-02:00"). A date in `closed_on` closes
the whole local day (holidays), whatever the weekly hours say.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

AGE_BANDS = ("under-15", "15-17", "18-24", "25-30", "unsaid")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-4]):([0-5][0-9])$")
_DAY_MINUTES = 24 * 60
_LOOK_AHEAD_DAYS = 400  # enough for a long holiday list; beyond it: "no opening known"


@dataclass(frozen=True)
class Span:
    """Open from `start` to `end`, in minutes after local midnight (end may be 1440)."""

    start: int
    end: int

    @classmethod
    def parse(cls, text: str) -> Span:
        """"09:00-21:00"; raises ValueError naming what is wrong."""
        match = _SPAN.match(text.strip())
        if match is None:
            raise ValueError(f"{text!r} is not a span like 09:00-21:00")
        h1, m1, h2, m2 = (int(part) for part in match.groups())
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if end > _DAY_MINUTES or start == end:
            raise ValueError(f"{text!r} is not a span like 09:00-21:00")
        return cls(start, end)

    @property
    def overnight(self) -> bool:
        return self.end <= self.start

    def covers(self, minute: int) -> bool:
        """Whether this span, begun today, is open at `minute` today."""
        return self.start <= minute < (_DAY_MINUTES if self.overnight else self.end)

    def spills_into(self, minute: int) -> bool:
        """Whether this span, begun yesterday, is still open at `minute` today."""
        return self.overnight and minute < self.end


@dataclass(frozen=True)
class Organisation:
    slug: str
    name: str
    languages: tuple[str, ...] = ("da", "en")
    age_bands: tuple[str, ...] = AGE_BANDS
    always_open: bool = False
    # Spans per weekday, Monday first; ignored when always open.
    hours: tuple[tuple[Span, ...], ...] = field(default=((),) * 7)
    closed_on: frozenset[date] = frozenset()
    max_waiting: int = 20
    capacity: int = 1  # conversations one volunteer has at a time
    # Whether its volunteers may also work through their own Telegram chat with the bot
    # (the browser console is always there); the text then stays in their Telegram history.
    telegram_console: bool = True
    # Whether its volunteers must use a code from an authenticator app to log in to the
    # console (otherwise each volunteer may choose to).
    require_totp: bool = False
    zone: ZoneInfo = field(default=ZoneInfo("Europe/Copenhagen"))

    def serves(self, language: str, age_band: str | None) -> bool:
        return language in self.languages and (age_band or "unsaid") in self.age_bands

    def open_at(self, now: datetime) -> bool:
        local = now.astimezone(self.zone)
        today = local.date()
        if today in self.closed_on:
            return False
        if self.always_open:
            return True
        minute = local.hour * 60 + local.minute
        if any(span.covers(minute) for span in self.hours[today.weekday()]):
            return True
        yesterday = today - timedelta(days=1)
        return yesterday not in self.closed_on and any(
            span.spills_into(minute) for span in self.hours[yesterday.weekday()]
        )

    def next_opening(self, now: datetime) -> datetime | None:
        """`now` when open, else the next moment it opens; None if it never does."""
        if self.open_at(now):
            return now
        today = now.astimezone(self.zone).date()
        for offset in range(_LOOK_AHEAD_DAYS):
            day = today + timedelta(days=offset)
            if day in self.closed_on:
                continue
            starts = [0] if self.always_open else [s.start for s in self.hours[day.weekday()]]
            for start in sorted(starts):
                opening = datetime.combine(day, time(start // 60, start % 60), self.zone)
                if opening > now:
                    return opening
        return None


def next_opening(organisations: tuple[Organisation, ...], now: datetime) -> datetime | None:
    """The soonest moment any of `organisations` opens."""
    times = [t for org in organisations if (t := org.next_opening(now)) is not None]
    return min(times, default=None)
