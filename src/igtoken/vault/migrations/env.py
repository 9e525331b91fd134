"""Alembic environment: runs on the connection :mod:`igtoken.vault.migrate` hands over."""

from __future__ import annotations

from alembic import context

from igtoken.vault.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("igtoken migrations run through igtoken.vault.migrate, which passes a connection")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite alters tables by copying them; batch mode does that for us.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
