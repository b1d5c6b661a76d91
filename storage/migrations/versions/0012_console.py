"""Volunteer console: volunteers' passwords, console sessions, the coordinators' inbox,
canned responses and the read-along audit log.

Revision ID: 0012
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("volunteers") as batch:
        batch.add_column(sa.Column("password_hash", sa.String(255), nullable=True))
    op.create_table(
        "console_sessions",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("volunteer_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["volunteer_id"], ["volunteers.id"], ondelete="CASCADE",
            name=op.f("fk_console_sessions_volunteer_id_volunteers"),
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_console_sessions")),
    )
    op.create_index(op.f("ix_console_sessions_volunteer_id"), "console_sessions",
                    ["volunteer_id"])
    op.create_index(op.f("ix_console_sessions_expires_at"), "console_sessions", ["expires_at"])
    op.create_table(
        "inbox_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_slug", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("handover_id", sa.Integer(), nullable=True),
        sa.Column("young_number", sa.Integer(), nullable=False),
        sa.Column("volunteer_alias", sa.String(24), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("handled_by", sa.String(64), nullable=True),
        sa.Column("handled_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["handover_id"], ["handovers.id"], ondelete="SET NULL",
            name=op.f("fk_inbox_items_handover_id_handovers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_items")),
    )
    op.create_index(op.f("ix_inbox_items_org_slug"), "inbox_items", ["org_slug"])
    op.create_table(
        "canned_responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_slug", sa.String(40), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("title", sa.String(60), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canned_responses")),
    )
    op.create_index(op.f("ix_canned_responses_org_slug"), "canned_responses", ["org_slug"])
    op.create_table(
        "read_alongs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_slug", sa.String(40), nullable=False),
        sa.Column("coordinator_name", sa.String(64), nullable=False),
        sa.Column("handover_id", sa.Integer(), nullable=True),
        sa.Column("young_number", sa.Integer(), nullable=False),
        sa.Column("volunteer_alias", sa.String(24), nullable=False),
        sa.Column("viewed_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["handover_id"], ["handovers.id"], ondelete="SET NULL",
            name=op.f("fk_read_alongs_handover_id_handovers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_read_alongs")),
    )
    op.create_index(op.f("ix_read_alongs_org_slug"), "read_alongs", ["org_slug"])


def downgrade() -> None:
    op.drop_index(op.f("ix_read_alongs_org_slug"), table_name="read_alongs")
    op.drop_table("read_alongs")
    op.drop_index(op.f("ix_canned_responses_org_slug"), table_name="canned_responses")
    op.drop_table("canned_responses")
    op.drop_index(op.f("ix_inbox_items_org_slug"), table_name="inbox_items")
    op.drop_table("inbox_items")
    op.drop_index(op.f("ix_console_sessions_expires_at"), table_name="console_sessions")
    op.drop_index(op.f("ix_console_sessions_volunteer_id"), table_name="console_sessions")
    op.drop_table("console_sessions")
    with op.batch_alter_table("volunteers") as batch:
        batch.drop_column("password_hash")
