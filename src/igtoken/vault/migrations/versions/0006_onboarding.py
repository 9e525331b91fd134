"""Programmatic onboarding: the platform's own id on connect links and the accounts they connect.

``connect_links.external_id``: given to every account connected through the link.
``accounts.external_id`` (indexed, for ``GET /v1/accounts?external_id=…``) and ``accounts.label``:
copied from the link the account came through. ``api_keys.capabilities``: what a key may do
(null: everything, as keys made before this revision could).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("connect_links") as batch:
        batch.add_column(sa.Column("external_id", sa.String(length=200), nullable=True))
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("capabilities", sa.JSON(), nullable=True))
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("external_id", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("label", sa.String(length=200), nullable=True))
        batch.create_index(batch.f("ix_accounts_external_id"), ["external_id"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("accounts") as batch:
        batch.drop_index(batch.f("ix_accounts_external_id"))
        batch.drop_column("label")
        batch.drop_column("external_id")
    with op.batch_alter_table("connect_links") as batch:
        batch.drop_column("external_id")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("capabilities")
