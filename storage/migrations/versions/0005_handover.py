"""Handover to volunteers: invites, volunteers, handovers, relayed messages; a measured
value on stat events. Also merges the two heads (check-ins and web chat).

Revision ID: 0005
Revises: 0003, 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0005"
down_revision = ("0003", "0004")
branch_labels = None
depends_on = None

_OPEN = sa.text("status IN ('draft', 'waiting', 'active')")


def upgrade() -> None:
    op.add_column("stat_events", sa.Column("value", sa.Integer(), nullable=True))
    op.create_table(
        "invites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("org_slug", sa.String(40), nullable=False),
        sa.Column("role", sa.String(12), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invites")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_invites_code_hash")),
    )
    op.create_table(
        "volunteers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("org_slug", sa.String(40), nullable=False),
        sa.Column("role", sa.String(12), nullable=False),
        sa.Column("alias", sa.String(24), nullable=True),
        sa.Column("accepted_at", UTCDateTime(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("available", sa.Boolean(), nullable=False),
        sa.Column("awaiting", sa.String(32), nullable=False),
        sa.Column("focus_handover_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_active_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            ondelete="CASCADE",
            name=op.f("fk_volunteers_participant_id_participants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_volunteers")),
        sa.UniqueConstraint("participant_id", name=op.f("uq_volunteers_participant_id")),
        sa.UniqueConstraint("org_slug", "alias", name=op.f("uq_volunteers_org_slug_alias")),
    )
    op.create_table(
        "handovers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("volunteer_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("young_number", sa.Integer(), nullable=False),
        sa.Column("org_slug", sa.String(40), nullable=True),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("age_band", sa.String(8), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("crisis", sa.Boolean(), nullable=False),
        sa.Column("writing_note", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("handback_note", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("requested_at", UTCDateTime(), nullable=True),
        sa.Column("waiting_since", UTCDateTime(), nullable=True),
        sa.Column("timeout_noticed_at", UTCDateTime(), nullable=True),
        sa.Column("claimed_at", UTCDateTime(), nullable=True),
        sa.Column("last_message_at", UTCDateTime(), nullable=True),
        sa.Column("idle_asked_at", UTCDateTime(), nullable=True),
        sa.Column("resumed_at", UTCDateTime(), nullable=True),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("ended_by", sa.String(12), nullable=True),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("feedback_rating", sa.Integer(), nullable=True),
        sa.Column("feedback_again", sa.Boolean(), nullable=True),
        sa.Column("debrief_topic", sa.String(16), nullable=True),
        sa.Column("debrief_crisis", sa.Boolean(), nullable=True),
        sa.Column("debrief_follow_up", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            ondelete="CASCADE",
            name=op.f("fk_handovers_participant_id_participants"),
        ),
        sa.ForeignKeyConstraint(
            ["volunteer_id"],
            ["volunteers.id"],
            ondelete="SET NULL",
            name=op.f("fk_handovers_volunteer_id_volunteers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handovers")),
    )
    op.create_index(op.f("ix_handovers_participant_id"), "handovers", ["participant_id"])
    op.create_index(op.f("ix_handovers_volunteer_id"), "handovers", ["volunteer_id"])
    op.create_index(
        "ix_handovers_status_crisis_requested", "handovers", ["status", "crisis", "requested_at"]
    )
    op.create_index(
        "uq_handovers_open_participant",
        "handovers",
        ["participant_id"],
        unique=True,
        sqlite_where=_OPEN,
        postgresql_where=_OPEN,
    )
    op.create_table(
        "relay_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("handover_id", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(10), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["handover_id"],
            ["handovers.id"],
            ondelete="CASCADE",
            name=op.f("fk_relay_messages_handover_id_handovers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relay_messages")),
    )
    op.create_index(op.f("ix_relay_messages_handover_id"), "relay_messages", ["handover_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_relay_messages_handover_id"), table_name="relay_messages")
    op.drop_table("relay_messages")
    op.drop_index("uq_handovers_open_participant", table_name="handovers")
    op.drop_index("ix_handovers_status_crisis_requested", table_name="handovers")
    op.drop_index(op.f("ix_handovers_volunteer_id"), table_name="handovers")
    op.drop_index(op.f("ix_handovers_participant_id"), table_name="handovers")
    op.drop_table("handovers")
    op.drop_table("volunteers")
    op.drop_table("invites")
    with op.batch_alter_table("stat_events") as batch:
        batch.drop_column("value")
