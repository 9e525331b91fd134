"""A quick read of one account's current token from a SQLite vault, with ``sqlite3`` alone.

``igtoken token`` runs once per script invocation, so its start-up is its whole cost, and
importing SQLAlchemy alone takes longer than the command's budget (``bench/cli``). This module
answers the common case without it: the schema is at :data:`SCHEMA_REVISION`, every app secret
opens, the account is found and its current token opens and is accepted by the caller (active,
valid, not due for a refresh). It uses the vault's own crypto (:class:`KeyRing`,
:func:`token_aad`, :func:`app_secret_aad`) and builds the vault's own records.

Anything else (another schema revision, a missing app, an ambiguous account, a token the
caller does not accept, any database or decryption error) returns ``None`` and writes nothing:
the caller then takes the full :class:`~igtoken.vault.Vault` path, which gives the definitive
answer or error. On success it writes the same ``token_read`` event as
:meth:`Vault.current_token` with ``record_read=True``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from igtoken.core.exceptions import IGTokenError
from igtoken.core.models import AccessToken, AccountType, TokenKind
from igtoken.vault._sqlite import SQLITE_CONNECT_PRAGMAS
from igtoken.vault.crypto import KeyRing, Sealed, app_secret_aad, token_aad
from igtoken.vault.records import AccountRecord, AccountStatus, EventType, StoredToken

__all__ = ["SCHEMA_COLUMNS", "SCHEMA_REVISION", "QuickRead", "read_current_token"]

#: The schema revision the statements below were written for; any other revision means "not sure".
#: A test keeps it equal to the migrations' head, so a new migration makes someone look here.
SCHEMA_REVISION: Final = "0008"
#: How long the quick path waits for a lock another process holds before leaving it to the full path.
QUICK_BUSY_TIMEOUT_MS: Final = 1000

#: Every table and column read or written here; a test checks them against the vault's models.
SCHEMA_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "alembic_version": ("version_num",),
    "apps": ("id", "name"),
    "app_secrets": ("app_id", "purpose", "key_id", "nonce", "ciphertext"),
    "accounts": (
        "id",
        "app_id",
        "ig_user_id",
        "app_scoped_id",
        "username",
        "account_type",
        "scopes",
        "status",
        "status_reason",
        "created_at",
        "updated_at",
        "page_id",
        "page_name",
        "fb_user_id",
        "data_access_expires_at",
    ),
    "tokens": (
        "id",
        "account_id",
        "kind",
        "key_id",
        "nonce",
        "ciphertext",
        "scopes",
        "issued_at",
        "expires_at",
        "last_refreshed_at",
        "next_refresh_at",
        "failure_count",
        "last_error",
        "is_current",
    ),
    "events": ("at", "type", "app_id", "account_id", "data"),
}

_PURPOSE_INSTAGRAM: Final = "instagram"
_ACCOUNTS = (
    "SELECT id, app_id, ig_user_id, app_scoped_id, username, account_type, scopes, status,"
    " status_reason, created_at, updated_at, page_id, page_name, fb_user_id, data_access_expires_at"
    " FROM accounts ORDER BY created_at, id"
)
# The same statement as Vault.current_token(kind=None): the newest current token of any kind.
_CURRENT_ROW = (
    "SELECT t.id, t.account_id, t.kind, t.key_id, t.nonce, t.ciphertext, t.scopes, t.issued_at,"
    " t.expires_at, t.last_refreshed_at, t.next_refresh_at, t.failure_count, t.last_error,"
    " a.app_id, a.status, a.ig_user_id"
    " FROM tokens AS t JOIN accounts AS a ON a.id = t.account_id"
    " WHERE t.account_id = ? AND t.is_current"
    " ORDER BY t.issued_at DESC, t.id LIMIT 1"
)
_INSERT_EVENT = "INSERT INTO events (at, type, app_id, account_id, data) VALUES (?, ?, ?, ?, ?)"


@dataclass(frozen=True, slots=True)
class QuickRead:
    """The account that was picked and its current token, exactly as the full vault returns them."""

    account: AccountRecord
    stored: StoredToken


def read_current_token(
    database: Path,
    keyring: KeyRing,
    *,
    pick: Callable[[list[AccountRecord]], AccountRecord | None],
    accept: Callable[[StoredToken], bool],
    now: datetime,
    reader: str,
    required_apps: Sequence[str] = (),
) -> QuickRead | None:
    """The current token of the account ``pick`` chooses, or ``None`` when the full path must answer.

    Args:
        database: the SQLite file; it is never created here.
        keyring: the vault's keys.
        pick: chooses among the accounts that are not deleted (oldest first); ``None`` if unsure.
        accept: whether the token can be handed out as it is (otherwise nothing is written).
        now: when the read happens (tz-aware UTC), for the ``token_read`` event.
        reader: who read it, for the event.
        required_apps: app names (or ids) that must exist, else ``None``.
    """
    if now.tzinfo is None:
        raise ValueError("now must be a timezone-aware UTC datetime")
    if not database.is_file():
        return None
    try:
        conn = _connect(database)
    except sqlite3.Error:
        return None
    try:
        found = _read(conn, keyring, pick, required_apps)
        if found is None or not accept(found.stored):
            return None
        _record_read(conn, found.stored, now=now, reader=reader)
        return found
    except (sqlite3.Error, IGTokenError, ValueError, TypeError, KeyError):
        # Anything surprising is the full path's to explain; nothing was committed.
        return None
    finally:
        conn.close()


def _connect(database: Path) -> sqlite3.Connection:
    # mode=rw: never create a database here; autocommit mode so BEGIN/COMMIT are ours, as in engine.py.
    conn = sqlite3.connect(
        f"{database.resolve().as_uri()}?mode=rw",
        uri=True,
        isolation_level=None,
        timeout=QUICK_BUSY_TIMEOUT_MS / 1000,
        check_same_thread=False,
    )
    try:
        for pragma in SQLITE_CONNECT_PRAGMAS:
            conn.execute(pragma)
        # Only a short wait here: a file locked for longer is the full path's to wait for and explain.
        conn.execute(f"PRAGMA busy_timeout={QUICK_BUSY_TIMEOUT_MS}")
    except BaseException:
        conn.close()
        raise
    return conn


def _read(
    conn: sqlite3.Connection,
    keyring: KeyRing,
    pick: Callable[[list[AccountRecord]], AccountRecord | None],
    required_apps: Sequence[str],
) -> QuickRead | None:
    conn.execute("BEGIN")
    try:
        versions = [row[0] for row in conn.execute("SELECT version_num FROM alembic_version")]
        if versions != [SCHEMA_REVISION]:
            return None
        if not _apps_open(conn, keyring, required_apps):
            return None
        accounts = [_account(row) for row in conn.execute(_ACCOUNTS)]
        account = pick([a for a in accounts if a.status is not AccountStatus.DELETED])
        if account is None or account.via_facebook:
            # A Facebook Login account holds two current tokens (user and page); which one to
            # serve is the full path's decision.
            return None
        row = conn.execute(_CURRENT_ROW, (account.id,)).fetchone()
    finally:
        conn.execute("ROLLBACK")
    if row is None:
        return None
    return QuickRead(account, _stored_token(row, keyring))


def _apps_open(conn: sqlite3.Connection, keyring: KeyRing, required_apps: Sequence[str]) -> bool:
    """Whether every app's secrets open (the full vault's app listing insists) and the required apps exist."""
    apps = conn.execute("SELECT id, name FROM apps").fetchall()
    known = {value for app in apps for value in app}
    if any(name not in known for name in required_apps):
        return False
    purposes: dict[str, set[str]] = {app_id: set() for app_id, _name in apps}
    for app_id, purpose, key_id, nonce, ciphertext in conn.execute(
        "SELECT app_id, purpose, key_id, nonce, ciphertext FROM app_secrets"
    ):
        keyring.decrypt(Sealed(key_id, nonce, ciphertext), app_secret_aad(app_id, purpose))
        purposes.setdefault(app_id, set()).add(purpose)
    return all(_PURPOSE_INSTAGRAM in found for found in purposes.values())


def _account(row: tuple[Any, ...]) -> AccountRecord:
    (
        id_,
        app_id,
        ig_user_id,
        app_scoped_id,
        username,
        account_type,
        scopes,
        status,
        reason,
        created,
        updated,
        page_id,
        page_name,
        fb_user_id,
        data_access_expires_at,
    ) = row
    return AccountRecord(
        id=id_,
        app_id=app_id,
        ig_user_id=ig_user_id,
        app_scoped_id=app_scoped_id,
        username=username,
        account_type=AccountType(account_type) if account_type else None,
        scopes=tuple(json.loads(scopes)),
        status=AccountStatus(status),
        status_reason=reason,
        created_at=_utc(created),
        updated_at=_utc(updated),
        page_id=page_id,
        page_name=page_name,
        fb_user_id=fb_user_id,
        data_access_expires_at=_utc_or_none(data_access_expires_at),
    )


def _stored_token(row: tuple[Any, ...], keyring: KeyRing) -> StoredToken:
    (
        token_id,
        account_id,
        kind,
        key_id,
        nonce,
        ciphertext,
        scopes,
        issued_at,
        expires_at,
        last_refreshed_at,
        next_refresh_at,
        failure_count,
        last_error,
        app_id,
        status,
        ig_user_id,
    ) = row
    value = keyring.decrypt(Sealed(key_id, nonce, ciphertext), token_aad(token_id, account_id, kind))
    token = AccessToken(
        value=value,
        kind=TokenKind(kind),
        issued_at=_utc(issued_at),
        expires_at=_utc_or_none(expires_at),
        user_id=ig_user_id,
        scopes=tuple(json.loads(scopes)),
    )
    return StoredToken(
        token_id=token_id,
        account_id=account_id,
        app_id=app_id,
        token=token,
        account_status=AccountStatus(status),
        key_id=key_id,
        last_refreshed_at=_utc_or_none(last_refreshed_at),
        next_refresh_at=_utc_or_none(next_refresh_at),
        failure_count=failure_count,
        last_error=last_error,
    )


def _record_read(conn: sqlite3.Connection, stored: StoredToken, *, now: datetime, reader: str) -> None:
    # BEGIN IMMEDIATE as the engine does for writes; the values are stored as SQLAlchemy stores
    # them (UTC text with microseconds; JSON via json.dumps), so the full vault reads them back alike.
    data = json.dumps({"token_id": stored.token_id, "reader": reader})
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            _INSERT_EVENT,
            (_sqlite_text(now), str(EventType.TOKEN_READ), stored.app_id, stored.account_id, data),
        )
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _utc(text: str) -> datetime:
    # SQLAlchemy keeps SQLite datetimes as naive UTC text; put the zone back as UTCDateTime does.
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _utc_or_none(text: str | None) -> datetime | None:
    return None if text is None else _utc(text)


def _sqlite_text(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
