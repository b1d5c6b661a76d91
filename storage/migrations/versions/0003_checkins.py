"""Check-ins: planned messages the bot sends first, claimed in the database.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "checkins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("slot", sa.String(16), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=True),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("follows_id", sa.Integer(), nullable=True),
        sa.Column("claimed_by", sa.String(32), nullable=True),
        sa.Column("claimed_at", UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("answered_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            ondelete="CASCADE",
            name=op.f("fk_checkins_participant_id_participants"),
        ),
        sa.ForeignKeyConstraint(
            ["follows_id"],
            ["checkins.id"],
            ondelete="CASCADE",
            name=op.f("fk_checkins_follows_id_checkins"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkins")),
    )
    op.create_index(op.f("ix_checkins_participant_id"), "checkins", ["participant_id"])
    op.create_index("ix_checkins_status_due_at", "checkins", ["status", "due_at"])


def downgrade() -> None:
    op.drop_index("ix_checkins_status_due_at", table_name="checkins")
    op.drop_index(op.f("ix_checkins_participant_id"), table_name="checkins")
    op.drop_table("checkins")
