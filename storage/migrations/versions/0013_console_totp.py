"""Volunteer console: a volunteer's TOTP secret (optional, or required by the
organisation), sealed at rest like message text; and when the safety net last heard
distress (not clear risk) in a conversation, for the console's gentle alert.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0013"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("volunteers") as batch:
        batch.add_column(sa.Column("totp_secret", sa.Text(), nullable=True))
        batch.add_column(sa.Column("totp_step", sa.Integer(), nullable=True))
    with op.batch_alter_table("handovers") as batch:
        batch.add_column(sa.Column("distress_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("handovers") as batch:
        batch.drop_column("distress_at")
    with op.batch_alter_table("volunteers") as batch:
        batch.drop_column("totp_step")
        batch.drop_column("totp_secret")
