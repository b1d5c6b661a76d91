"""Statistics totals: daily counts and values folded from the event log, each complete
measurement's score, and the fold's watermark (storage/totals.py).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    folds = op.create_table(
        "statistics_folds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("zone", sa.String(64), nullable=False),
        sa.Column("events_to", sa.Integer(), nullable=False),
        sa.Column("measurements_to", sa.Integer(), nullable=False),
        sa.Column("measurements_to_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statistics_folds")),
    )
    # The one row, there from the start: two instances folding lock it, never race to add it.
    op.bulk_insert(folds, [{"id": 1, "zone": "", "events_to": 0, "measurements_to": 0}])
    op.create_table(
        "statistics_daily_counts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("detail", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("org", sa.String(40), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "day", "kind", "detail", "channel", "language", "org",
            name=op.f("pk_statistics_daily_counts"),
        ),
    )
    op.create_table(
        "statistics_daily_values",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("org", sa.String(40), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "kind", "org", "value",
                                name=op.f("pk_statistics_daily_values")),
    )
    op.create_table(
        "measurement_scores",
        sa.Column("measurement_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("taken_at", UTCDateTime(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("change", sa.Integer(), nullable=True),
        sa.Column("next_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["measurement_id"], ["measurements.id"], ondelete="CASCADE",
            name=op.f("fk_measurement_scores_measurement_id_measurements"),
        ),
        sa.PrimaryKeyConstraint("measurement_id", name=op.f("pk_measurement_scores")),
    )
    firsts, later = sa.text("change IS NULL"), sa.text("change IS NOT NULL")
    op.create_index("ix_measurement_scores_firsts", "measurement_scores",
                    ["day", "score", "participant_id"], sqlite_where=firsts,
                    postgresql_where=firsts)
    op.create_index("ix_measurement_scores_later", "measurement_scores",
                    ["day", "taken_at", "next_at", "change", "participant_id"],
                    sqlite_where=later, postgresql_where=later)


def downgrade() -> None:
    op.drop_index("ix_measurement_scores_later", table_name="measurement_scores")
    op.drop_index("ix_measurement_scores_firsts", table_name="measurement_scores")
    op.drop_table("measurement_scores")
    op.drop_table("statistics_daily_values")
    op.drop_table("statistics_daily_counts")
    op.drop_table("statistics_folds")
