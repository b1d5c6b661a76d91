"""A year's report from the database: the daily figures over the calendar's days."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from insights.calendar import Calendar, Grain
from insights.labels import Language
from insights.report import Report, build
from storage import statistics
from storage.statistics import ALL, Figures, Periods


async def figures(session: AsyncSession, calendar: Calendar, zone: ZoneInfo) -> Figures:
    periods = Periods.of(calendar.first, calendar.last, "day", zone)
    return await statistics.compute(session, periods)


async def report(
    session: AsyncSession,
    year: int,
    zone: ZoneInfo,
    today: date,
    organisations: Sequence[str],
    *,
    grain: Grain = "month",
    scope: str = ALL,
    language: Language = "da",
) -> Report:
    calendar = Calendar.of(year, today)
    found = await figures(session, calendar, zone)
    return build(found, calendar, organisations, grain=grain, scope=scope, language=language)
