"""Facebook Login for Business: the configuration (``config_id``) an app's dialog is opened with.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    # batch_alter_table: SQLite cannot drop columns in place, so the downgrade needs the copy dance.
    with op.batch_alter_table("apps") as batch:
        batch.add_column(sa.Column("config_id", sa.String(length=32), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("apps") as batch:
        batch.drop_column("config_id")
