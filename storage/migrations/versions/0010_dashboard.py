"""The paths of help people took, for "what helps" on the dashboard.

Revision ID: 0010
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0010"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "participant_paths",
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(16), nullable=False),
        sa.Column("first_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"], ["participants.id"], ondelete="CASCADE",
            name=op.f("fk_participant_paths_participant_id_participants"),
        ),
        sa.PrimaryKeyConstraint("participant_id", "path", name=op.f("pk_participant_paths")),
    )


def downgrade() -> None:
    op.drop_table("participant_paths")
