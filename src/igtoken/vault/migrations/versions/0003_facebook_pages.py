"""Facebook Login accounts: the Page, the Facebook user and the data-access expiry on each account.

Revision ID: 0003
Revises: 0002_links_uses_replays
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002_links_uses_replays"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    # batch_alter_table: SQLite cannot drop columns in place, so the downgrade needs the copy dance.
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("page_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("page_name", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("fb_user_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("data_access_expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index(batch.f("ix_accounts_fb_user_id"), ["fb_user_id"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("accounts") as batch:
        batch.drop_index(batch.f("ix_accounts_fb_user_id"))
        batch.drop_column("data_access_expires_at")
        batch.drop_column("fb_user_id")
        batch.drop_column("page_name")
        batch.drop_column("page_id")
