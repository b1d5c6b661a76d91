"""The paths of help people took, for "what helps" on the dashboard; the community
directory, managed on the dashboard.

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
    op.create_table(
        "communities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_slug", sa.String(40), nullable=True),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("regions", sa.String(120), nullable=False),
        sa.Column("municipality", sa.String(60), nullable=False),
        sa.Column("min_age", sa.Integer(), nullable=False),
        sa.Column("max_age", sa.Integer(), nullable=False),
        sa.Column("link", sa.String(200), nullable=False),
        sa.Column("languages", sa.String(20), nullable=False),
        sa.Column("description_da", sa.String(300), nullable=False),
        sa.Column("description_en", sa.String(300), nullable=False),
        sa.Column("example", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_communities")),
    )
    op.create_index(op.f("ix_communities_org_slug"), "communities", ["org_slug"])


def downgrade() -> None:
    op.drop_index(op.f("ix_communities_org_slug"), table_name="communities")
    op.drop_table("communities")
    op.drop_table("participant_paths")
