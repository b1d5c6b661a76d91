"""Volunteer console: a volunteer's TOTP secret (optional, or required by the
organisation), sealed at rest like message text.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("volunteers") as batch:
        batch.add_column(sa.Column("totp_secret", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("volunteers") as batch:
        batch.drop_column("totp_secret")
