"""Dashboard: coordinators and their sessions; the organisation on stat events and the
indexes the statistics read by.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("stat_events", sa.Column("org", sa.String(40), nullable=True))
    # The statistics read whole kinds over a range of hours: covering indexes, so the
    # grouping never has to visit the table.
    op.create_index(
        "ix_stat_events_kind_hour_detail_org", "stat_events", ["kind", "hour", "detail", "org"]
    )
    op.create_index(
        "ix_stat_events_kind_hour_channel_language",
        "stat_events",
        ["kind", "hour", "channel", "language", "detail"],
    )
    op.create_index("ix_measurements_participant_id_taken_at", "measurements",
                    ["participant_id", "taken_at"])
    op.create_table(
        "coordinators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("org_slug", sa.String(40), nullable=False),
        sa.Column("admin", sa.Boolean(), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_login_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coordinators")),
        sa.UniqueConstraint("name", name=op.f("uq_coordinators_name")),
    )
    op.create_table(
        "dashboard_sessions",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("coordinator_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["coordinator_id"],
            ["coordinators.id"],
            ondelete="CASCADE",
            name=op.f("fk_dashboard_sessions_coordinator_id_coordinators"),
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_dashboard_sessions")),
    )
    op.create_index(
        op.f("ix_dashboard_sessions_coordinator_id"), "dashboard_sessions", ["coordinator_id"]
    )
    op.create_index(
        op.f("ix_dashboard_sessions_expires_at"), "dashboard_sessions", ["expires_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_dashboard_sessions_expires_at"), table_name="dashboard_sessions")
    op.drop_index(op.f("ix_dashboard_sessions_coordinator_id"), table_name="dashboard_sessions")
    op.drop_table("dashboard_sessions")
    op.drop_table("coordinators")
    op.drop_index("ix_measurements_participant_id_taken_at", table_name="measurements")
    op.drop_index("ix_stat_events_kind_hour_channel_language", table_name="stat_events")
    op.drop_index("ix_stat_events_kind_hour_detail_org", table_name="stat_events")
    with op.batch_alter_table("stat_events") as batch:
        batch.drop_column("org")
