"""Where a connect link sends the person after success, and each account's last Meta usage.

``connect_links.redirect_url``: the platform's page the success page redirects to (303), with the
new account's id and the link's external id appended. ``account_usage``: the last usage figures
Meta reported for an account (``X-App-Usage``/``X-Business-Use-Case-Usage``, percent by kind), for
the dashboard; one row per account, overwritten.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("connect_links") as batch:
        batch.add_column(sa.Column("redirect_url", sa.String(length=2048), nullable=True))
    op.create_table(
        "account_usage",
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_account_usage_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_account_usage")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("account_usage")
    with op.batch_alter_table("connect_links") as batch:
        batch.drop_column("redirect_url")
