"""Schema migrations: Alembic configured in code, scripts shipped inside the package.

``upgrade`` is what ``igtoken db upgrade`` calls and what the embedded
default runs on first use. On PostgreSQL an advisory lock makes several
instances starting at once migrate one after the other.

Opening a vault whose schema is already current costs one ``SELECT`` on
``alembic_version`` compared with :data:`HEAD_REVISION`; Alembic itself (a
large import, and a parse of every script) is loaded only when that check
cannot say "current".
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Final

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from igtoken.core.exceptions import StorageError
from igtoken.vault.engine import WRITE, create_vault_engine

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = [
    "HEAD_REVISION",
    "MIGRATIONS_DIR",
    "alembic_config",
    "current_revision",
    "downgrade",
    "ensure_current",
    "ensure_upgraded",
    "head_revision",
    "is_at_head",
    "upgrade",
]

MIGRATIONS_DIR: Final = Path(__file__).parent / "migrations"
#: The newest revision under ``migrations/versions``. Bump it with every new migration script:
#: a test checks it against what Alembic computes from the scripts.
HEAD_REVISION: Final = "0008"
#: Arbitrary but fixed: the advisory lock key igtoken migrations serialize on.
_PG_LOCK_KEY: Final = 0x16_70_4B_E7


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """An Alembic config pointing at the packaged scripts; no ``alembic.ini`` anywhere."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def _engine(target: Engine | str | sa.URL) -> tuple[Engine, bool]:
    if isinstance(target, Engine):
        return target, False
    return create_vault_engine(target), True


def _run(target: Engine | str | sa.URL, direction: str, revision: str) -> None:
    from alembic import command

    engine, owned = _engine(target)
    try:
        with engine.execution_options(**{WRITE: True}).begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
            cfg = alembic_config(conn)
            if direction == "up":
                command.upgrade(cfg, revision)
            else:
                command.downgrade(cfg, revision)
    finally:
        if owned:
            engine.dispose()


def upgrade(target: Engine | str | sa.URL, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (default: the newest)."""
    _run(target, "up", revision)


def downgrade(target: Engine | str | sa.URL, revision: str = "base") -> None:
    """Take the schema down to ``revision`` (default: nothing at all)."""
    _run(target, "down", revision)


def head_revision() -> str:
    """The newest revision shipped in this package, as Alembic reads it from the scripts."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or ``None`` if it has never been migrated."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def ensure_current(engine: Engine) -> None:
    """Raise :class:`StorageError` unless the schema is at the newest revision."""
    if is_at_head(engine):
        return
    current, head = current_revision(engine), head_revision()
    if current != head:
        raise StorageError(
            f"the database schema is at revision {current or 'none'}, this igtoken needs {head}",
            fix="run `igtoken db upgrade`",
        )


def is_at_head(engine: Engine) -> bool:
    """Whether the schema is known to be at :data:`HEAD_REVISION`, by one plain ``SELECT``.

    ``False`` means "not sure" (no version table yet, another revision, several rows, an error):
    callers then take the full Alembic path, which gives the definitive answer or error.
    """
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT version_num FROM alembic_version")).all()
    except sa.exc.DBAPIError:
        return False
    return [row[0] for row in rows] == [HEAD_REVISION]


def ensure_upgraded(engine: Engine) -> None:
    """Migrate to the newest revision unless the schema is already there (the embedded default's open)."""
    if not is_at_head(engine):
        upgrade(engine)
