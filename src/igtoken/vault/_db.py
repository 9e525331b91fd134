"""What every repository of the vault shares: the engine, transactions, ids, hashing."""

from __future__ import annotations

import contextlib
import hashlib
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeAlias

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from igtoken.core.exceptions import StorageError
from igtoken.vault.engine import WRITE

__all__ = ["AnyRow", "Database", "clip_error", "new_id", "sha256_hex"]

#: A result row of any shape.
AnyRow: TypeAlias = "sa.Row[*tuple[Any, ...]]"

_MAX_ERROR_TEXT = 1000


def new_id() -> str:
    """A fresh primary key, made here so it can go into associated data before the insert."""
    return str(uuid.uuid4())


def sha256_hex(value: str) -> str:
    """Hex SHA-256 of a high-entropy value (states, link codes, API keys): lookup by hash."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def clip_error(text: str) -> str:
    """Keep error texts bounded; they come from our own exceptions, which never carry secrets."""
    return text if len(text) <= _MAX_ERROR_TEXT else text[: _MAX_ERROR_TEXT - 1] + "…"


class Database:
    """An engine plus the two kinds of transaction the vault uses."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._writer = engine.execution_options(**{WRITE: True})
        # SQLite has one writer at a time. Threads of this process queue for it here, woken the
        # moment it is free; left to SQLite, each waiter polls with sleeps of up to 100 ms, and
        # with a dozen writers most of the time went to sleeping while the lock sat free.
        # Other processes still queue through SQLite's busy timeout. Re-entrant, so a nested
        # write on one thread fails as before (busy), not by deadlocking here.
        self._write_gate: threading.RLock | None = threading.RLock() if self.dialect == "sqlite" else None

    @property
    def is_postgres(self) -> bool:
        """Whether row locks (``FOR UPDATE``, ``SKIP LOCKED``) are available."""
        return self.dialect == "postgresql"

    @contextmanager
    def write(self) -> Iterator[sa.Connection]:
        """A write transaction: ``BEGIN IMMEDIATE`` on SQLite; commits on success."""
        try:
            with self._write_gate or contextlib.nullcontext(), self._writer.begin() as conn:
                yield conn
        except sa.exc.OperationalError as exc:
            raise StorageError(f"the database refused a write: {type(exc.orig).__name__}") from exc

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """A read-only transaction (rolled back at the end)."""
        with self.engine.connect() as conn:
            yield conn

    def insert(self, table: Any) -> Any:
        """A dialect-specific INSERT, for ``on_conflict_do_nothing``."""
        # Imported here: the PostgreSQL dialect package is a large import that SQLite users never need.
        if self.is_postgres:
            from sqlalchemy.dialects import postgresql

            return postgresql.insert(table)
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(table)
