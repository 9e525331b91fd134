"""Drop ``ix_events_at``: every token read paid for it, and no query of the vault needs it.

Each ``token_read`` audit event (one per token the API hands out) updated four B-trees: the
table and three indexes. The one on ``at`` was the dearest (a long text key on SQLite) and
served no query the vault makes: the only filter on ``at`` (``events(since=…)``, the permission
audit) comes with a type, which ``ix_events_type_id`` narrows to that type's rows in id order.
Without it, appending a token read on SQLite costs about a third less (``bench/token_api``).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.drop_index("ix_events_at", table_name="events")


def downgrade() -> None:
    """Revert this revision."""
    op.create_index("ix_events_at", "events", ["at"], unique=False)
