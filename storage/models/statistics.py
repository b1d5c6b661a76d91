"""The totals the statistics read instead of re-reading the whole event log: daily counts
and measured values folded from `stat_events`, each measurement's score, and how far the
fold has got (storage/totals.py). Nothing here that the event log and the measurements do
not hold already: no text, and a pseudonym only where the measurement has one."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base


class FoldState(Base):
    """The one row saying what is folded, into local days of `zone`: events up to
    `events_to` and measurements up to `measurements_to` (by id), whose `taken_at` is kept
    to notice that SQLite reused the id after the row was erased."""

    __tablename__ = "statistics_folds"

    id: Mapped[int] = mapped_column(primary_key=True)
    zone: Mapped[str] = mapped_column(String(64), default="")
    events_to: Mapped[int] = mapped_column(default=0)
    measurements_to: Mapped[int] = mapped_column(default=0)
    measurements_to_at: Mapped[datetime | None]


class DailyCount(Base):
    """Events per local day and every dimension of the log; `org` is "" for none."""

    __tablename__ = "statistics_daily_counts"

    day: Mapped[date] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    detail: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    language: Mapped[str] = mapped_column(String(2), primary_key=True)
    org: Mapped[str] = mapped_column(String(40), primary_key=True)
    n: Mapped[int]


class DailyValue(Base):
    """How many events of a kind had each measured value (seconds), per local day and
    organisation ("" for none): enough for exact medians and percentiles."""

    __tablename__ = "statistics_daily_values"

    day: Mapped[date] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    org: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(primary_key=True)
    n: Mapped[int]


class MeasurementScore(Base):
    """A complete Three-Item Loneliness Scale measurement's local day, score (3-9) and,
    unless it is the person's first, the change from the first. Erased with the
    measurement."""

    __tablename__ = "measurement_scores"
    __table_args__ = (
        # Covering the two queries of storage/statistics.py: the firsts, and the later ones.
        Index("ix_measurement_scores_firsts", "day", "score", "participant_id",
              sqlite_where=text("change IS NULL"), postgresql_where=text("change IS NULL")),
        Index("ix_measurement_scores_later", "day", "taken_at", "next_at", "change",
              "participant_id", sqlite_where=text("change IS NOT NULL"),
              postgresql_where=text("change IS NOT NULL")),
    )

    measurement_id: Mapped[int] = mapped_column(
        ForeignKey("measurements.id", ondelete="CASCADE"), primary_key=True
    )
    # No foreign key of its own (a check per row costs the fold dearly): erasing the person
    # erases their measurements, and those erase this.
    participant_id: Mapped[int]
    taken_at: Mapped[datetime]
    day: Mapped[date]  # local, in `FoldState.zone`
    score: Mapped[int]
    change: Mapped[int | None]  # None: the person's first complete measurement
    next_at: Mapped[datetime | None]  # when they were measured next; None: not since
