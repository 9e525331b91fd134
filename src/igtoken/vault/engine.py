"""Database URLs and engines: SQLite (WAL, busy timeout, foreign keys) or PostgreSQL (psycopg 3).

Default paths come from platformdirs: the database in the user's data
directory, the key file in the user's *config* directory, so that copying
one does not copy the other.
"""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

from igtoken.config.extras import require_extra
from igtoken.config.paths import default_database_path, default_key_file_path
from igtoken.core.exceptions import ConfigurationError
from igtoken.vault._sqlite import SQLITE_BUSY_TIMEOUT_MS, SQLITE_CONNECT_PRAGMAS

__all__ = [
    "SQLITE_BUSY_TIMEOUT_MS",
    "WRITE",
    "busy_timeout_of",
    "create_vault_engine",
    "default_database_path",
    "default_database_url",
    "default_key_file_path",
    "normalize_url",
    "set_busy_timeout",
]

#: Execution option marking a write transaction; on SQLite it becomes ``BEGIN IMMEDIATE``.
WRITE: Final = "igtoken_write"

# Each SQLite engine's busy timeout in seconds (how long a connection waits for another process's lock).
_BUSY_TIMEOUTS: weakref.WeakKeyDictionary[Engine, float] = weakref.WeakKeyDictionary()


def default_database_url() -> str:
    """The embedded default: a SQLite file in the user's data directory."""
    return f"sqlite:///{default_database_path()}"


def normalize_url(url: str | sa.URL) -> sa.URL:
    """Accept ``sqlite:///path`` and ``postgresql://…``; PostgreSQL always goes through psycopg 3."""
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        raise ConfigurationError(
            "the database URL cannot be parsed",
            fix="use sqlite:///path/to/file.db or postgresql://user@host/db",
        ) from None
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):
        if parsed.drivername not in ("postgresql", "postgres", "postgresql+psycopg"):
            raise ConfigurationError(
                f"PostgreSQL driver {parsed.drivername!r} is not supported",
                fix="use postgresql+psycopg:// (psycopg 3)",
            )
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        if parsed.drivername not in ("sqlite", "sqlite+pysqlite"):
            raise ConfigurationError(f"SQLite driver {parsed.drivername!r} is not supported")
        if not parsed.database or parsed.database == ":memory:":
            raise ConfigurationError(
                "the vault needs a SQLite file, not an in-memory database",
                fix="use sqlite:///path/to/file.db",
            )
        return parsed
    raise ConfigurationError(
        f"database {backend!r} is not supported",
        fix="use sqlite:///path/to/file.db or postgresql://user@host/db",
    )


def create_vault_engine(url: str | sa.URL, *, busy_timeout: float | None = None, **kwargs: Any) -> Engine:
    """An engine configured for the vault; extra keyword arguments go to ``create_engine``.

    ``busy_timeout`` (SQLite only) is how many seconds a connection waits for a lock another
    process holds before failing with :class:`~igtoken.core.exceptions.DatabaseLockedError`
    (default :data:`SQLITE_BUSY_TIMEOUT_MS`).
    """
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        assert parsed.database is not None
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {}).setdefault("check_same_thread", False)
        engine = sa.create_engine(parsed, **kwargs)
        _BUSY_TIMEOUTS[engine] = SQLITE_BUSY_TIMEOUT_MS / 1000 if busy_timeout is None else busy_timeout
        _configure_sqlite(engine)
        return engine
    require_extra("postgres")
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    # Pre-ping: a pooled connection the server dropped (a restart, a failover, pg_terminate_backend,
    # an idle timeout in a proxy) is found and replaced at checkout instead of failing the next
    # transaction. It costs one round trip per checkout. A connection that dies mid-transaction
    # still fails that transaction; SQLAlchemy then discards the whole pool, and workers retry.
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_recycle", 1800)
    return sa.create_engine(parsed, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the sqlite3 module, so we can say BEGIN IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            for pragma in SQLITE_CONNECT_PRAGMAS:
                cursor.execute(pragma)
            cursor.execute(f"PRAGMA busy_timeout={round(_BUSY_TIMEOUTS.get(engine, 0) * 1000)}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # A write transaction takes the write lock up front: a deferred one that read first
        # would fail with SQLITE_BUSY on upgrade instead of waiting its turn.
        write = conn.get_execution_options().get(WRITE, False)
        # Straight to the driver: a full SQLAlchemy execute here would double the cost of a read.
        conn.connection.driver_connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")  # type: ignore[union-attr]


def busy_timeout_of(engine: Engine) -> float | None:
    """The busy timeout (seconds) of a SQLite vault engine; ``None`` for other databases."""
    return _BUSY_TIMEOUTS.get(engine)


def set_busy_timeout(engine: Engine, seconds: float) -> None:
    """Change a SQLite vault engine's busy timeout; pooled connections are replaced to take it.

    Call it before handing the engine to concurrent users (the service does at start-up).
    """
    if seconds < 0:
        raise ConfigurationError(f"a busy timeout cannot be negative, got {seconds!r}")
    if engine not in _BUSY_TIMEOUTS:
        return
    _BUSY_TIMEOUTS[engine] = seconds
    engine.dispose()
