"""The vault's read path, straight through the driver: token reads, API key lookups, read audits.

A token read is one indexed ``SELECT`` and an AES-GCM decryption; through SQLAlchemy's
connection pool, transaction and result machinery it cost four to five times that
(``bench/vault``), and on PostgreSQL three extra round trips (the pool's ping, ``BEGIN``,
the ``ROLLBACK`` on return). Here the same statements (the vault's own Core statements,
compiled once for the engine's dialect) run on driver connections set apart from the
engine's pool, in autocommit: one statement, one snapshot, one round trip each.

* The connections come from the engine (so they carry its connect-time set-up: WAL, busy
  timeout, foreign keys on SQLite) and are detached from its pool; idle ones are kept on a
  stack here. :meth:`Engine.dispose` (a new busy timeout, :meth:`Vault.close`) drops them,
  and so does a fork.
* A connection that fails is closed, never reused. A read that fails on a connection taken
  from the stack is tried once more on a fresh one (a server restart or a dropped idle
  connection must not fail a read; a read is safe to repeat). Writes are not repeated.
* Driver errors are raised as SQLAlchemy's (:meth:`sqlalchemy.exc.DBAPIError.instance`), so the
  callers' :func:`~igtoken.vault.faults.storage_faults` turns them into the same storage errors.
* Values are decoded as the vault's column types do: aware UTC datetimes (SQLite stores naive
  UTC text), JSON lists, bytes.
* Non-blocking mode (:func:`nonblocking`, SQLite only): the statements run on one connection of
  their own whose busy timeout is zero, and whatever would wait (the connection or the
  process's write gate in use, a lock another process holds) raises :class:`WouldBlock` at
  once, with nothing written. The service's token route runs its short audited read so on the
  event loop and hands it to a thread only when it would wait. That connection is opened by
  a blocking caller (:meth:`DriverConnections.prepare_quick`: opening may wait); it never
  checkpoints the WAL itself (a checkpoint syncs the disk): :meth:`DriverConnections.claim_checkpoint`
  says when a blocking caller should (:meth:`DriverConnections.checkpoint`).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Final, NamedTuple

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

__all__ = [
    "DirectStatement",
    "DriverConnections",
    "TokenRow",
    "WouldBlock",
    "bind_json",
    "bind_utc",
    "is_nonblocking",
    "nonblocking",
    "row_object",
    "token_row",
]

#: Idle driver connections kept per vault; more are opened when more threads read at once.
MAX_IDLE: Final = 8
#: Writes in non-blocking mode between two WAL checkpoints (:meth:`DriverConnections.claim_checkpoint`).
CHECKPOINT_EVERY: Final = 256


class WouldBlock(Exception):
    """Non-blocking work that would have had to wait: nothing was written; run it where waiting is allowed."""


_NONBLOCKING: ContextVar[bool] = ContextVar("igtoken_vault_nonblocking", default=False)


@contextmanager
def nonblocking() -> Iterator[None]:
    """Vault work in this block never waits: it raises :class:`WouldBlock` instead (module docs)."""
    token = _NONBLOCKING.set(True)
    try:
        yield
    finally:
        _NONBLOCKING.reset(token)


def is_nonblocking() -> bool:
    """Whether the caller is inside :func:`nonblocking`."""
    return _NONBLOCKING.get()


#: SQLite's primary result codes for "busy" and "locked" (extended codes keep them in the low byte).
_SQLITE_WAITS: Final = frozenset({5, 6})


class DirectStatement:
    """A Core statement compiled once for a dialect: its SQL text and how to lay out its parameters."""

    def __init__(self, stmt: sa.ClauseElement, dialect: sa.Dialect, names: Sequence[str]) -> None:
        compiled = stmt.compile(
            dialect=dialect, column_keys=list(names) if isinstance(stmt, sa.Insert) else None
        )
        self.sql: str = str(compiled)
        defaults: dict[str, Any] = dict(compiled.construct_params({name: None for name in names}) or {})
        order: list[str] | None = getattr(compiled, "positiontup", None)
        self.params: Callable[[dict[str, Any]], tuple[Any, ...] | dict[str, Any]]
        if order is not None:
            # qmark: a tuple in the statement's order, its own values (a LIMIT) filled in once.
            slots = tuple((k, k in names, defaults[k]) for k in order)
            self.params = lambda values: tuple(values[k] if given else fixed for k, given, fixed in slots)
        else:
            fixed = {k: v for k, v in defaults.items() if k not in names}
            self.params = lambda values: {**fixed, **values}


class DriverConnections:
    """Driver connections of one engine, detached from its pool, in autocommit, for one-statement work."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.dialect = engine.dialect.name
        self._idle: list[Any] = []
        self._generation = 0
        self._lock = threading.Lock()
        dbapi = engine.dialect.loaded_dbapi
        self._dbapi_error: type[BaseException] = dbapi.Error
        # Non-blocking mode's one connection (SQLite), its lock (never waited for), and its writes
        # since the last checkpoint.
        self._quick: Any = None
        self._quick_lock = threading.Lock()
        self._quick_writes = 0
        event.listen(engine, "engine_disposed", self._on_dispose)
        _ALL.add(self)

    def _forget(self) -> None:
        self._generation += 1
        self._idle = []
        self._quick = None
        self._quick_lock = threading.Lock()

    def _on_dispose(self, _engine: Engine) -> None:
        self.close()

    def close(self) -> None:
        """Close every idle connection; ones in use are closed when handed back."""
        with self._lock:
            self._generation += 1
            idle, self._idle = self._idle, []
        if self._quick_lock.acquire(timeout=1.0):  # in use for a statement at most
            quick, self._quick = self._quick, None
            self._quick_lock.release()
            if quick is not None:
                idle.append(quick)
        for conn in idle:
            _quiet_close(conn)

    def _new(self) -> Any:
        proxied = self._engine.raw_connection()
        driver: Any = proxied.driver_connection
        proxied.detach()
        if self.dialect == "postgresql":
            driver.autocommit = True
        return driver

    def _take(self) -> tuple[Any, bool]:
        try:
            return self._idle.pop(), True
        except IndexError:
            return self._new(), False

    def _give_back(self, conn: Any, generation: int) -> None:
        if generation == self._generation and len(self._idle) < MAX_IDLE:
            self._idle.append(conn)
        else:
            _quiet_close(conn)

    @contextmanager
    def cursor(self) -> Iterator[Any]:
        """A cursor on a connection of its own; the connection is closed if anything fails."""
        generation = self._generation
        conn, _reused = self._take()
        try:
            cur = conn.cursor()
            try:
                yield cur
            finally:
                cur.close()
        except BaseException:
            _quiet_close(conn)
            raise
        self._give_back(conn, generation)

    def claim_checkpoint(self) -> bool:
        """Whether non-blocking writes have grown the WAL enough for :meth:`checkpoint`; once each time."""
        if self._quick_writes < CHECKPOINT_EVERY:
            return False
        self._quick_writes = 0
        return True

    def checkpoint(self) -> None:
        """Move the WAL into the database file (a passive checkpoint: it waits for no one). Blocking."""
        if self.dialect != "sqlite":
            return
        with self.cursor() as cur:
            cur.execute("PRAGMA wal_checkpoint(PASSIVE)")
            cur.fetchall()

    def prepare_quick(self) -> None:
        """Open non-blocking mode's connection if it is not open (blocking: opening may wait)."""
        if self.dialect != "sqlite" or self._quick is not None:
            return
        with self._quick_lock:
            if self._quick is None:
                conn = self._new()
                try:
                    conn.execute("PRAGMA busy_timeout=0")
                    conn.execute("PRAGMA wal_autocheckpoint=0")  # checkpoints are a blocking caller's
                except BaseException:
                    _quiet_close(conn)
                    raise
                self._quick = conn

    def _run_quick(self, sql: str, params: Any, *, fetch: bool) -> tuple[Any, ...] | None:
        # Non-blocking mode: the one quick connection, if free, busy timeout zero; any wait or
        # failure is WouldBlock (nothing was written: a statement in autocommit either commits or not).
        if self.dialect != "sqlite" or not self._quick_lock.acquire(blocking=False):
            raise WouldBlock
        try:
            conn = self._quick
            if conn is None:
                raise WouldBlock  # opening one may wait (its set-up pragmas): prepare_quick's
            try:
                cur = conn.execute(sql, params)
                row = cur.fetchone() if fetch else None
                cur.close()
            except sqlite3.Error as exc:
                if getattr(exc, "sqlite_errorcode", 0) & 0xFF not in _SQLITE_WAITS:
                    self._quick = None
                    _quiet_close(conn)
                raise WouldBlock from exc
            if not fetch:
                self._quick_writes += 1
            return None if row is None else tuple(row)
        finally:
            self._quick_lock.release()

    def fetch_one(self, stmt: DirectStatement, values: dict[str, Any]) -> tuple[Any, ...] | None:
        """Run a read and return its first row; retried once on a fresh connection if a stale one fails."""
        params = stmt.params(values)
        if _NONBLOCKING.get():
            return self._run_quick(stmt.sql, params, fetch=True)
        for attempt in (0, 1):
            generation = self._generation
            conn, reused = self._take()
            try:
                cur = conn.cursor()
                try:
                    cur.execute(stmt.sql, params)
                    row = cur.fetchone()
                finally:
                    cur.close()
            except self._dbapi_error as exc:
                _quiet_close(conn)
                if attempt == 0 and reused and self._is_connection_fault(exc):
                    continue
                raise self.wrap(exc, stmt.sql, params) from exc
            except BaseException:
                _quiet_close(conn)
                raise
            self._give_back(conn, generation)
            return None if row is None else tuple(row)
        raise AssertionError("unreachable")  # pragma: no cover

    def execute(self, stmt: DirectStatement, values: dict[str, Any]) -> None:
        """Run one write (committed when it returns; autocommit). Never repeated."""
        params = stmt.params(values)
        if _NONBLOCKING.get():
            self._run_quick(stmt.sql, params, fetch=False)
            return
        try:
            with self.cursor() as cur:
                cur.execute(stmt.sql, params)
        except self._dbapi_error as exc:
            raise self.wrap(exc, stmt.sql, params) from exc

    def _is_connection_fault(self, exc: BaseException) -> bool:
        if self.dialect == "sqlite":
            return False  # a local file: nothing to reconnect to
        dbapi = self._engine.dialect.loaded_dbapi
        if not isinstance(exc, dbapi.OperationalError | dbapi.InterfaceError):
            return False
        sqlstate = str(getattr(exc, "sqlstate", None) or "")
        return not sqlstate or sqlstate.startswith(("08", "57P"))

    def wrap(self, exc: BaseException, sql: str, params: Any) -> BaseException:
        """The driver error as SQLAlchemy raises it, for :func:`~igtoken.vault.faults.storage_faults`."""
        if self.dialect == "sqlite":
            return exc  # storage_faults knows sqlite3's errors as they are
        return sa.exc.DBAPIError.instance(sql, params, exc, self._dbapi_error)  # type: ignore[arg-type]


def bind_utc(value: datetime, dialect: str) -> Any:
    """A datetime as the vault's column type binds it: naive UTC text on SQLite, aware UTC elsewhere."""
    value = value.astimezone(UTC)
    if dialect == "sqlite":
        return value.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def bind_json(value: Any, dialect: str) -> Any:
    """A JSON value as the vault's column type binds it."""
    if dialect == "sqlite":
        return json.dumps(value)
    from psycopg.types.json import Json

    return Json(value)


_ALL: weakref.WeakSet[DriverConnections] = weakref.WeakSet()


def _forget_all() -> None:
    # A forked child must not share its parent's sockets or SQLite handles: it starts afresh.
    for connections in list(_ALL):
        connections._forget()


os.register_at_fork(after_in_child=_forget_all)


def _quiet_close(conn: Any) -> None:
    # A connection being thrown away: a failure to close it changes nothing.
    with suppress(Exception):
        conn.close()


# -- decoding, as the vault's column types do ---------------------------------------------------


def _utc_text(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _utc_native(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is UTC else value.astimezone(UTC)


def _json_text(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def _json_native(value: Any) -> Any:
    return value


class TokenRow(NamedTuple):
    """A row of the vault's token ``SELECT`` (``_TOKEN_COLUMNS``), decoded."""

    id: str
    account_id: str
    kind: str
    key_id: str
    nonce: bytes
    ciphertext: bytes
    scopes: list[str]
    issued_at: datetime
    expires_at: datetime | None
    last_refreshed_at: datetime | None
    next_refresh_at: datetime | None
    failure_count: int
    last_error: str | None
    lease_owner: str | None
    lease_expires_at: datetime | None
    app_id: str
    status: str
    ig_user_id: str | None


def token_row(raw: tuple[Any, ...], dialect: str) -> TokenRow:
    """Decode a raw token row (see :class:`TokenRow`)."""
    utc: Callable[[Any], datetime | None] = _utc_text if dialect == "sqlite" else _utc_native
    loads = _json_text if dialect == "sqlite" else _json_native
    (tid, aid, kind, key_id, nonce, ct, scopes, issued, expires, refreshed, next_at, failures, error) = raw[
        :13
    ]
    lease_owner, lease_expires, app_id, status, ig_user_id = raw[13:]
    return TokenRow(
        tid,
        aid,
        kind,
        key_id,
        bytes(nonce),
        bytes(ct),
        loads(scopes),
        utc(issued),  # type: ignore[arg-type]
        utc(expires),
        utc(refreshed),
        utc(next_at),
        failures,
        error,
        lease_owner,
        utc(lease_expires),
        app_id,
        status,
        ig_user_id,
    )


def row_object(
    raw: tuple[Any, ...],
    names: Sequence[str | None],
    dialect: str,
    *,
    datetimes: frozenset[str] = frozenset(),
    jsons: frozenset[str] = frozenset(),
) -> Any:
    """Decode a raw row into an object with one attribute per column (``datetimes`` and ``jsons`` decoded)."""
    utc = _utc_text if dialect == "sqlite" else _utc_native
    loads = _json_text if dialect == "sqlite" else _json_native
    values: dict[str, Any] = {}
    for name, value in zip(names, raw, strict=True):
        if name in datetimes:
            value = utc(value)
        elif name in jsons:
            value = loads(value)
        values[str(name)] = value
    return _Row(values)


class _Row:
    """A decoded row: one attribute per column, looked up as plainly as any object's."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__ = values
