"""Connect links get use counts and revocation; seen signed_requests move into the vault.

Revision ID: 0002_links_uses_replays
Revises: 0001
Create Date: 2026-12-02

Existing links were all single use. Before this revision revoking a link marked it
"used by nobody"; those rows become revoked (``revoked_at`` = the old ``used_at``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_links_uses_replays"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("connect_links") as batch:
        batch.add_column(sa.Column("max_uses", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("uses", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))
    links = sa.table(
        "connect_links",
        sa.column("max_uses", sa.Integer()),
        sa.column("uses", sa.Integer()),
        sa.column("used_at", sa.DateTime(timezone=True)),
        sa.column("used_by_account_id", sa.String(36)),
        sa.column("revoked_at", sa.DateTime(timezone=True)),
    )
    op.execute(sa.update(links).values(max_uses=1))
    op.execute(
        sa.update(links)
        .where(links.c.used_at.is_not(None), links.c.used_by_account_id.is_(None))
        .values(revoked_at=links.c.used_at, used_at=None)
    )
    op.execute(sa.update(links).where(links.c.used_at.is_not(None)).values(uses=1))
    op.create_table(
        "seen_signed_requests",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_seen_signed_requests")),
    )
    op.create_index(
        op.f("ix_seen_signed_requests_expires_at"), "seen_signed_requests", ["expires_at"], unique=False
    )


def downgrade() -> None:
    """Revert this revision (revoked links go back to "used by nobody")."""
    op.drop_index(op.f("ix_seen_signed_requests_expires_at"), table_name="seen_signed_requests")
    op.drop_table("seen_signed_requests")
    links = sa.table(
        "connect_links",
        sa.column("used_at", sa.DateTime(timezone=True)),
        sa.column("used_by_account_id", sa.String(36)),
        sa.column("revoked_at", sa.DateTime(timezone=True)),
    )
    op.execute(
        sa.update(links)
        .where(links.c.revoked_at.is_not(None), links.c.used_at.is_(None))
        .values(used_at=links.c.revoked_at, used_by_account_id=None)
    )
    with op.batch_alter_table("connect_links") as batch:
        batch.drop_column("revoked_at")
        batch.drop_column("uses")
        batch.drop_column("max_uses")
