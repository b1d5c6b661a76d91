"""The durable outbox: every message to a person waits here until its channel has it
(storage/models/outbox.py, bot/delivery.py); and the inbox of updates fetched by polling.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0008"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=True),
        sa.Column("chat", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("sealed_address", sa.LargeBinary(), nullable=False),
        sa.Column("sealed_body", sa.LargeBinary(), nullable=False),
        sa.Column("lane", sa.SmallInteger(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("claimed_by", sa.String(32), nullable=True),
        sa.Column("claimed_until", UTCDateTime(), nullable=True),
        sa.Column("failed_reason", sa.String(200), nullable=True),
        sa.ForeignKeyConstraint(
            ["participant_id"], ["participants.id"], ondelete="CASCADE",
            name=op.f("fk_outbox_participant_id_participants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_outbox_chat_id", "outbox", ["chat", "id"])
    op.create_index("ix_outbox_due_at", "outbox", ["due_at"])
    op.create_index(op.f("ix_outbox_participant_id"), "outbox", ["participant_id"])
    op.create_table(
        "telegram_inbox",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("sealed_update", sa.LargeBinary(), nullable=True),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("set_aside_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_telegram_inbox")),
    )


    op.create_table(
        "telegram_sends",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("answered_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telegram_sends")),
    )
    op.create_index(op.f("ix_telegram_sends_answered_at"), "telegram_sends", ["answered_at"])
    budget = op.create_table(
        "telegram_budget",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telegram_budget")),
    )
    op.bulk_insert(budget, [{"id": 1}])


def downgrade() -> None:
    op.drop_table("telegram_budget")
    op.drop_index(op.f("ix_telegram_sends_answered_at"), table_name="telegram_sends")
    op.drop_table("telegram_sends")
    op.drop_table("telegram_inbox")
    op.drop_index(op.f("ix_outbox_participant_id"), table_name="outbox")
    op.drop_index("ix_outbox_due_at", table_name="outbox")
    op.drop_index("ix_outbox_chat_id", table_name="outbox")
    op.drop_table("outbox")
