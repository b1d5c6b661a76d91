"""Dialogues: conversation state, measurements, anonymised events, age band.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _participant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["participant_id"],
        ["participants.id"],
        ondelete="CASCADE",
        name=op.f(f"fk_{table}_participant_id_participants"),
    )


def upgrade() -> None:
    with op.batch_alter_table("participants") as batch:
        batch.add_column(sa.Column("age_band", sa.String(8), nullable=True))
    op.create_table(
        "conversation_states",
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("flow", sa.String(32), nullable=False),
        sa.Column("node", sa.String(32), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("last_fallback", sa.String(32), nullable=True),
        sa.Column("flood_window_start", UTCDateTime(), nullable=True),
        sa.Column("flood_count", sa.Integer(), nullable=False),
        sa.Column("flood_noticed", sa.Boolean(), nullable=False),
        sa.Column("crisis_at", UTCDateTime(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        _participant_fk("conversation_states"),
        sa.PrimaryKeyConstraint("participant_id", name=op.f("pk_conversation_states")),
    )
    op.create_table(
        "measurements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("taken_at", UTCDateTime(), nullable=False),
        sa.Column("context", sa.String(16), nullable=False),
        sa.Column("companionship", sa.Integer(), nullable=True),
        sa.Column("left_out", sa.Integer(), nullable=True),
        sa.Column("isolated", sa.Integer(), nullable=True),
        sa.Column("lonely", sa.Integer(), nullable=True),
        _participant_fk("measurements"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_measurements")),
    )
    op.create_index(
        op.f("ix_measurements_participant_id"), "measurements", ["participant_id"]
    )
    op.create_table(
        "stat_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("detail", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("hour", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stat_events")),
    )
    op.create_index("ix_stat_events_kind_hour", "stat_events", ["kind", "hour"])


def downgrade() -> None:
    op.drop_index("ix_stat_events_kind_hour", table_name="stat_events")
    op.drop_table("stat_events")
    op.drop_index(op.f("ix_measurements_participant_id"), table_name="measurements")
    op.drop_table("measurements")
    op.drop_table("conversation_states")
    with op.batch_alter_table("participants") as batch:
        batch.drop_column("age_band")
