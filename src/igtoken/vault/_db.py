"""What every repository of the vault shares: the engine, transactions, ids, hashing."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from igtoken.core.exceptions import DatabaseLockedError, NotFoundError
from igtoken.vault.direct import DirectStatement, DriverConnections, WouldBlock, is_nonblocking
from igtoken.vault.engine import WRITE, busy_timeout_of
from igtoken.vault.faults import locked_error, storage_error, storage_faults
from igtoken.vault.models import App

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = ["AnyRow", "Database", "clip_error", "new_id", "record_from_row", "resolve_app", "sha256_hex"]

#: A result row of any shape.
AnyRow: TypeAlias = "sa.Row[*tuple[Any, ...]]"

_MAX_ERROR_TEXT = 1000


def new_id() -> str:
    """A fresh primary key, made here so it can go into associated data before the insert."""
    return str(uuid.uuid4())


def sha256_hex(value: str) -> str:
    """Hex SHA-256 of a high-entropy value (states, link codes, API keys): lookup by hash."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


R = TypeVar("R", bound="DataclassInstance")


def record_from_row(record: type[R], row: AnyRow, **converted: Any) -> R:
    """A ``record`` (a dataclass) from the row's columns of the same names; ``converted`` gives the
    fields whose column needs converting (a JSON list to a tuple, a string to its enum)."""
    values = {name: getattr(row, name) for name in _field_names(record) if name not in converted}
    return record(**values, **converted)


@functools.cache
def _field_names(record: type[DataclassInstance]) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(record))


def resolve_app(conn: sa.Connection, app: str) -> str:
    """The id of the app whose id or name is ``app``; :class:`NotFoundError` if there is none."""
    found = conn.scalar(sa.select(App.id).where(sa.or_(App.id == app, App.name == app)))
    if found is None:
        raise NotFoundError(f"no app named or with id {app!r}")
    return str(found)


def clip_error(text: str) -> str:
    """Keep error texts bounded; they come from our own exceptions, which never carry secrets."""
    return text if len(text) <= _MAX_ERROR_TEXT else text[: _MAX_ERROR_TEXT - 1] + "…"


class Database:
    """An engine plus the two kinds of transaction the vault uses."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._writer = engine.execution_options(**{WRITE: True})
        #: How errors name the database: the SQLite file, or the URL without its password.
        self.where = (
            str(engine.url.database)
            if self.dialect == "sqlite"
            else engine.url.render_as_string(hide_password=True)
        )
        # SQLite has one writer at a time. Threads of this process queue for it here, woken the
        # moment it is free; left to SQLite, each waiter polls with sleeps of up to 100 ms, and
        # with a dozen writers most of the time went to sleeping while the lock sat free.
        # Other processes still queue through SQLite's busy timeout. Re-entrant, so a nested
        # write on one thread fails as before (busy), not by deadlocking here.
        self._write_gate: threading.RLock | None = threading.RLock() if self.dialect == "sqlite" else None
        self._gave_up_at = -1.0  # when a writer last gave up on another process's lock (monotonic)
        self._direct: DriverConnections | None = None
        self._direct_lock = threading.Lock()
        self._statements: dict[int, tuple[Any, DirectStatement]] = {}

    @property
    def direct(self) -> DriverConnections:
        """Driver connections for the read path (:mod:`igtoken.vault.direct`), made on first use."""
        direct = self._direct
        if direct is None:
            with self._direct_lock:
                if self._direct is None:
                    self._direct = DriverConnections(self.engine)
                direct = self._direct
        return direct

    def statement(self, stmt: Any, names: tuple[str, ...]) -> DirectStatement:
        """``stmt`` compiled once for this database, with bind parameters ``names``."""
        found = self._statements.get(id(stmt))
        if found is None or found[0] is not stmt:
            found = self._statements[id(stmt)] = (stmt, DirectStatement(stmt, self.engine.dialect, names))
        return found[1]

    def read_one(self, stmt: Any, values: dict[str, Any]) -> tuple[Any, ...] | None:
        """The first row of a one-statement read on the direct path (faults raised as in :meth:`read`)."""
        found = self._statements.get(id(stmt))
        compiled = found[1] if found is not None and found[0] is stmt else self.statement(stmt, tuple(values))
        try:
            return self.direct.fetch_one(compiled, values)
        except (sa.exc.DBAPIError, sqlite3.Error) as exc:
            error = storage_error(exc, where=self.where, waited=self.busy_timeout)
            if error is None:
                raise
            raise error from exc

    def write_one(self, stmt: Any, values: dict[str, Any]) -> None:
        """One write statement on the direct path, committed on return, queued as :meth:`write` queues."""
        compiled = self.statement(stmt, tuple(values))
        if is_nonblocking():
            # The gate is taken only if free: a writer of this process ahead means waiting.
            gate = self._write_gate
            if gate is None or not gate.acquire(blocking=False):
                raise WouldBlock
            try:
                self.direct.execute(compiled, values)
            finally:
                gate.release()
            return
        with storage_faults(self.where, waited=self.busy_timeout), self._gate():
            self.direct.execute(compiled, values)

    @property
    def is_postgres(self) -> bool:
        """Whether row locks (``FOR UPDATE``, ``SKIP LOCKED``) are available."""
        return self.dialect == "postgresql"

    @property
    def busy_timeout(self) -> float | None:
        """How long (seconds) a SQLite connection waits for another process's lock; ``None`` elsewhere."""
        return busy_timeout_of(self.engine)

    @contextmanager
    def write(self) -> Iterator[sa.Connection]:
        """A write transaction: ``BEGIN IMMEDIATE`` on SQLite; commits on success.

        A database fault (locked past the busy timeout, damaged, unreachable) is raised as a
        :class:`~igtoken.core.exceptions.DatabaseUnavailableError` subclass, wherever it happens:
        taking this process's write gate, opening the connection, ``BEGIN IMMEDIATE``, a
        statement or the commit. In non-blocking mode (:func:`~igtoken.vault.direct.nonblocking`)
        it raises :class:`~igtoken.vault.direct.WouldBlock` before doing anything.
        """
        if is_nonblocking():
            raise WouldBlock
        with storage_faults(self.where, waited=self.busy_timeout), self._gate(), self._writer.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """A read-only transaction (rolled back at the end); faults raised as in :meth:`write`."""
        if is_nonblocking():
            raise WouldBlock
        with storage_faults(self.where, waited=self.busy_timeout), self.engine.connect() as conn:
            yield conn

    @contextmanager
    def _gate(self) -> Iterator[None]:
        gate = self._write_gate
        if gate is None:
            yield
            return
        # Wait no longer than SQLite itself would: with the file locked by another process, the
        # writer ahead holds the gate for the whole busy timeout, and the queue behind it must not
        # add one timeout each.
        timeout = self.busy_timeout
        queued = time.monotonic()
        if not gate.acquire(timeout=-1 if timeout is None else timeout):
            raise locked_error(self.where, timeout)
        try:
            # The writer ahead gave up on another process's lock while this one queued (it waited
            # the whole busy timeout): give up too, rather than start a second timeout of its own.
            if self._gave_up_at >= queued:
                raise locked_error(self.where, timeout)
            yield
        except BaseException as exc:
            if isinstance(storage_error(exc, where=self.where), DatabaseLockedError):
                self._gave_up_at = time.monotonic()
            raise
        finally:
            gate.release()

    def insert(self, table: Any) -> Any:
        """A dialect-specific INSERT, for ``on_conflict_do_nothing``."""
        # Imported here: the PostgreSQL dialect package is a large import that SQLite users never need.
        if self.is_postgres:
            from sqlalchemy.dialects import postgresql

            return postgresql.insert(table)
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(table)
