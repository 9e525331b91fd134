"""Dashboard sessions ended server-side (sign-out), and the Graph proxy's per-account throttle.

``revoked_sessions``: a copied cookie stops working after sign-out, on every instance.
``proxy_throttles``: when Meta throttles an account, every instance holds its calls back.
``rate_buckets``: the sign-in limit per client address holds across instances.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "revoked_sessions",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_revoked_sessions")),
    )
    op.create_index(op.f("ix_revoked_sessions_expires_at"), "revoked_sessions", ["expires_at"], unique=False)
    op.create_table(
        "proxy_throttles",
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_proxy_throttles")),
    )
    op.create_index(op.f("ix_proxy_throttles_until"), "proxy_throttles", ["until"], unique=False)
    op.create_table(
        "rate_buckets",
        sa.Column("group", sa.String(length=32), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("group", "client", name=op.f("pk_rate_buckets")),
    )
    op.create_index(op.f("ix_rate_buckets_updated"), "rate_buckets", ["updated"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f("ix_rate_buckets_updated"), table_name="rate_buckets")
    op.drop_table("rate_buckets")
    op.drop_index(op.f("ix_proxy_throttles_until"), table_name="proxy_throttles")
    op.drop_table("proxy_throttles")
    op.drop_index(op.f("ix_revoked_sessions_expires_at"), table_name="revoked_sessions")
    op.drop_table("revoked_sessions")
