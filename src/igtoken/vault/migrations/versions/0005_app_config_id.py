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
    op.add_column("apps", sa.Column("config_id", sa.String(length=32), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    # Not batch_alter_table: on SQLite its copy-and-rename would drop ``apps``, and with it (ON DELETE
    # CASCADE) every row that refers to an app. SQLite 3.35+ drops a plain column in place.
    op.drop_column("apps", "config_id")
