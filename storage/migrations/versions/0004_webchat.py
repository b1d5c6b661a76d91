"""Web chat: outgoing messages kept until the browser acknowledges them.

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webchat_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("choices", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            ondelete="CASCADE",
            name=op.f("fk_webchat_messages_participant_id_participants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webchat_messages")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_webchat_messages_participant_id"), "webchat_messages", ["participant_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_webchat_messages_participant_id"), table_name="webchat_messages")
    op.drop_table("webchat_messages")
