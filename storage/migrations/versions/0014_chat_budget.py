"""Telegram's per-chat limits shared by every instance: each send in the shared window
names its chat (a keyed hash, never Telegram's id), so 1 a second per chat and 20 a minute
per group hold across instances like the 30 a second.

Revision ID: 0014
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("telegram_sends") as batch:
        batch.add_column(sa.Column("chat", sa.String(64), nullable=True))
        batch.create_index(op.f("ix_telegram_sends_chat"), ["chat"])


def downgrade() -> None:
    with op.batch_alter_table("telegram_sends") as batch:
        batch.drop_index(op.f("ix_telegram_sends_chat"))
        batch.drop_column("chat")
