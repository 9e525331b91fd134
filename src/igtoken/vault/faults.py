"""Database driver errors turned into storage errors that say what happened and what to do.

A locked SQLite file (another process holds its lock past the busy timeout), a damaged
one (not a database, malformed pages), an unreachable PostgreSQL server or an I/O error
each become a :class:`~igtoken.core.exceptions.DatabaseUnavailableError` subclass, so the
service answers 503 with ``Retry-After`` and the CLI exits 5 with a fix, wherever the
error comes from: ``BEGIN IMMEDIATE`` (sent straight to the driver, so SQLAlchemy never
wraps it), a statement, a connection being opened, or a migration check.

A PostgreSQL fault names its real cause: a connection the server dropped (restart, failover,
``pg_terminate_backend``), a server that cannot be reached, or credentials or a database name
it refused (:class:`~igtoken.core.exceptions.DatabaseRefusedError`: a setting, not an outage).

Errors that are the caller's (integrity, programming) pass through untouched.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

import sqlalchemy as sa

from igtoken.core.exceptions import (
    DatabaseCorruptError,
    DatabaseLockedError,
    DatabaseRefusedError,
    DatabaseUnavailableError,
    StorageError,
)

__all__ = ["locked_error", "storage_error", "storage_faults"]

# SQLite primary result codes (https://sqlite.org/rescode.html).
_BUSY: Final = 5
_LOCKED: Final = 6
_CORRUPT: Final = 11
_NOTADB: Final = 26
_MAX_DETAIL: Final = 300
# PostgreSQL SQLSTATEs: lock_not_available; class 28 (invalid authorization: bad user or
# password); invalid_catalog_name (no such database); admin, crash shutdown and cannot connect now.
_PG_LOCK_NOT_AVAILABLE: Final = "55P03"
_PG_AUTH: Final = "28"
_PG_NO_DATABASE: Final = "3D000"
_PG_SHUTDOWN: Final = frozenset({"57P01", "57P02", "57P03"})
# A failed connection attempt has no SQLSTATE in psycopg; its message says what the server said.
_AUTH_HINTS: Final = ("password authentication failed", "no pg_hba.conf entry", 'role "')


def locked_error(where: str, waited: float | None) -> DatabaseLockedError:
    """The error for a SQLite file whose lock another process held for ``waited`` seconds."""
    after = f" (waited {waited:g} s)" if waited is not None else ""
    return DatabaseLockedError(
        f"the database {where} is locked by another process{after}",
        fix=(
            "another program holds the SQLite file's lock: a `sqlite3` shell with an open transaction, "
            f"a backup or sync tool, or a stuck igtoken process; `fuser -v {where}` lists them. Close it "
            "and try again, or set IGTOKEN_DATABASE_BUSY_TIMEOUT to wait longer"
        ),
    )


def _corrupt_error(where: str, detail: str) -> DatabaseCorruptError:
    return DatabaseCorruptError(
        f"the database {where} is damaged or not a SQLite database ({detail})",
        fix=(
            f"restore it from a backup (`sqlite3 {where} 'PRAGMA integrity_check'` shows the damage); "
            "the encryption keys live in their own file and are still needed"
        ),
    )


def storage_error(exc: BaseException, *, where: str, waited: float | None = None) -> StorageError | None:
    """The storage error for driver error ``exc`` on database ``where``; ``None`` if it is not a fault."""
    orig: BaseException = exc.orig if isinstance(exc, sa.exc.DBAPIError) and exc.orig is not None else exc
    detail = str(orig).splitlines()[0][:_MAX_DETAIL] if str(orig) else type(orig).__name__
    if isinstance(orig, sqlite3.Error):
        if isinstance(orig, sqlite3.IntegrityError | sqlite3.ProgrammingError | sqlite3.InterfaceError):
            return None
        code = getattr(orig, "sqlite_errorcode", -1) & 0xFF
        text = detail.lower()
        if code in (_BUSY, _LOCKED) or "database is locked" in text or "database table is locked" in text:
            return locked_error(where, waited)
        if code in (_CORRUPT, _NOTADB) or "not a database" in text or "malformed" in text:
            return _corrupt_error(where, detail)
        if isinstance(orig, sqlite3.OperationalError | sqlite3.DatabaseError):
            return DatabaseUnavailableError(
                f"the database {where} cannot be used: {detail}",
                fix="check that the file and its directory exist, are writable by this user, and that the "
                "disk is not full",
            )
        return None
    if isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError):
        return _server_error(exc, orig, where=where, detail=detail)
    return None


def _server_error(exc: sa.exc.DBAPIError, orig: BaseException, *, where: str, detail: str) -> StorageError:
    """A database server's fault, named by its real cause: a lock, refused credentials, a lost connection."""
    sqlstate = str(getattr(orig, "sqlstate", None) or "")
    text = detail.lower()
    if sqlstate == _PG_LOCK_NOT_AVAILABLE:
        return DatabaseLockedError(f"the database {where} refused a lock: {detail}", fix="try again")
    if sqlstate.startswith(_PG_AUTH) or any(hint in text for hint in _AUTH_HINTS):
        return DatabaseRefusedError(
            f"the database server refused igtoken's credentials for {where}: {detail}",
            fix="check the user and password in IGTOKEN_DATABASE_URL (and pg_hba.conf on the server)",
        )
    if sqlstate == _PG_NO_DATABASE or (" database " in text and "does not exist" in text):
        return DatabaseRefusedError(
            f"the database {where} does not exist: {detail}",
            fix="create it (createdb), or correct the database name in IGTOKEN_DATABASE_URL",
        )
    if sqlstate in _PG_SHUTDOWN or sqlstate.startswith("08") or exc.connection_invalidated:
        return DatabaseUnavailableError(
            f"the connection to the database {where} was lost: {detail}",
            fix="the server closed it (restart, failover or a terminated session); igtoken reconnects on "
            "its own, so check the server only if this persists",
        )
    return DatabaseUnavailableError(
        f"the database {where} cannot be reached: {detail}",
        fix="check that the database server is up and IGTOKEN_DATABASE_URL points at it",
    )


@contextmanager
def storage_faults(where: str, *, waited: float | None = None) -> Iterator[None]:
    """Turn database faults raised inside the block into storage errors (see :func:`storage_error`)."""
    try:
        yield
    except (sa.exc.DBAPIError, sqlite3.Error) as exc:
        error = storage_error(exc, where=where, waited=waited)
        if error is None:
            raise
        raise error from exc
