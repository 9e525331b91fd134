"""OAuth ``state`` values: single use, expiring, looked up by hash."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from igtoken.core.exceptions import ConflictError, NotFoundError
from igtoken.core.secret import Secret
from igtoken.vault._db import AnyRow, Database, new_id, record_from_row, resolve_app, sha256_hex
from igtoken.vault.models import OAuthState
from igtoken.vault.records import OAuthStateRecord

__all__ = ["OAuthStates"]


def _record(row: AnyRow) -> OAuthStateRecord:
    return record_from_row(OAuthStateRecord, row, scopes=tuple(row.scopes))


class OAuthStates:
    """Issue and consume OAuth states."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def create(
        self,
        app: str,
        *,
        redirect_uri: str,
        now: datetime,
        expires_at: datetime,
        scopes: Sequence[str] = (),
        link_id: str | None = None,
        account_id: str | None = None,
    ) -> tuple[OAuthStateRecord, Secret]:
        """A fresh state bound to an app (and a link or an account); the value is returned once."""
        if expires_at <= now:
            raise ValueError("a state must expire after it is created")
        value = secrets.token_urlsafe(32)
        state_id = new_id()
        with self._db.write() as conn:
            app_id = resolve_app(conn, app)
            conn.execute(
                sa.insert(OAuthState).values(
                    id=state_id,
                    state_hash=sha256_hex(value),
                    app_id=app_id,
                    link_id=link_id,
                    account_id=account_id,
                    redirect_uri=redirect_uri,
                    scopes=list(scopes),
                    created_at=now,
                    expires_at=expires_at,
                )
            )
            row = conn.execute(sa.select(OAuthState).where(OAuthState.id == state_id)).one()
        return _record(row), Secret(value)

    def consume(self, state: Secret, *, now: datetime) -> OAuthStateRecord:
        """Use a state once.

        :class:`NotFoundError` if it is unknown or expired, :class:`ConflictError`
        if it was used already. The lookup is by SHA-256, so no comparison
        leaks how much of a guess was right.
        """
        digest = sha256_hex(state.reveal())
        with self._db.write() as conn:
            res = conn.execute(
                sa.update(OAuthState)
                .where(
                    OAuthState.state_hash == digest,
                    OAuthState.consumed_at.is_(None),
                    OAuthState.expires_at > now,
                )
                .values(consumed_at=now)
            )
            row = conn.execute(sa.select(OAuthState).where(OAuthState.state_hash == digest)).one_or_none()
            if res.rowcount == 1 and row is not None:
                return _record(row)
        if row is None:
            raise NotFoundError("unknown OAuth state")
        if row.consumed_at is not None:
            raise ConflictError("this OAuth state was already used")
        raise NotFoundError("this OAuth state has expired")

    def purge(self, *, before: datetime) -> int:
        """Delete states that expired before ``before``; how many went."""
        with self._db.write() as conn:
            return conn.execute(sa.delete(OAuthState).where(OAuthState.expires_at < before)).rowcount

    def forget_account(self, conn: sa.Connection, account_id: str) -> None:
        """Drop states bound to an account whose data is being deleted (caller's transaction)."""
        conn.execute(sa.delete(OAuthState).where(OAuthState.account_id == account_id))
