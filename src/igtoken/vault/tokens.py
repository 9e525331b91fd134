"""Tokens: store one (new before old), read the current one, serve it with its audit event, history."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa

from igtoken.core.exceptions import (
    NotFoundError,
)
from igtoken.core.models import AccessToken, TokenKind
from igtoken.vault._store import (
    _CURRENT_ANY,
    _CURRENT_KIND,
    _GET_ACCOUNT,
    VaultStore,
    _account_record,
    _check_aware,
)
from igtoken.vault.models import Token
from igtoken.vault.records import (
    AccountRecord,
    EventType,
    StoredToken,
    TokenInfo,
)


class TokenStore(VaultStore):
    """The ``tokens`` aggregate, outside leases."""

    def store_token(
        self,
        account_id: str,
        token: AccessToken,
        *,
        now: datetime,
        next_refresh_at: datetime | None = None,
    ) -> str:
        """Make ``token`` the current token of its kind for an account (e.g. a page token); its id."""
        _check_aware("now", now)
        with self._db.write() as conn:
            self._lock_account(conn, account_id)
            return self._put_token(conn, account_id, token, now=now, next_refresh_at=next_refresh_at)

    def current_token(
        self,
        account_id: str,
        kind: TokenKind | None = None,
        *,
        record_read: bool = False,
        now: datetime | None = None,
        reader: str | None = None,
    ) -> StoredToken:
        """The current token of an account (of ``kind``, or the newest of any kind), decrypted.

        With ``record_read`` a ``token_read`` event names the ``reader``
        (``now`` is then required). Raises :class:`NotFoundError` when the
        account has no current token, :class:`MissingKeyError` or
        :class:`DecryptionError` when its ciphertext cannot be opened.
        """
        if record_read and now is None:
            raise ValueError("record_read needs now")
        with self._db.read() as conn:
            if kind is None:
                row = conn.execute(_CURRENT_ANY, {"account_id": account_id}).one_or_none()
            else:
                params = {"account_id": account_id, "kind": TokenKind(kind).value}
                row = conn.execute(_CURRENT_KIND, params).one_or_none()
        if row is None:
            raise NotFoundError(f"account {account_id!r} has no current token")
        stored = self._stored_token(row)
        if record_read:
            assert now is not None
            with self._db.write() as conn:
                self._event(
                    conn,
                    EventType.TOKEN_READ,
                    now=now,
                    app_id=stored.app_id,
                    account_id=account_id,
                    data={"token_id": stored.token_id, "reader": reader},
                )
        return stored

    def serve_token(
        self,
        account_id: str,
        *,
        now: datetime,
        reader: str,
        check: Callable[[AccountRecord], None] | None = None,
    ) -> tuple[AccountRecord, StoredToken]:
        """Hand out the token an account serves, recording the read: one transaction.

        Reads the account, runs ``check`` on it (whatever it raises aborts the transaction:
        nothing is recorded), reads and opens its current token of
        :attr:`~AccountRecord.served_kind`, and appends the ``token_read`` event naming
        ``reader``, exactly as :meth:`current_token` with ``record_read=True`` does. The
        event is committed before this returns, so no token leaves unrecorded. Raises
        :class:`NotFoundError` for an unknown account or one without a current token.
        """
        _check_aware("now", now)
        with self._db.write() as conn:
            row = conn.execute(_GET_ACCOUNT, {"account_id": account_id}).one_or_none()
            if row is None:
                raise NotFoundError(f"no account with id {account_id!r}")
            account = _account_record(row)
            if check is not None:
                check(account)
            kind = account.served_kind
            if kind is None:
                token_row = conn.execute(_CURRENT_ANY, {"account_id": account_id}).one_or_none()
            else:
                params = {"account_id": account_id, "kind": kind.value}
                token_row = conn.execute(_CURRENT_KIND, params).one_or_none()
            if token_row is None:
                raise NotFoundError(f"account {account_id!r} has no current token")
            stored = self._stored_token(token_row)
            self._event(
                conn,
                EventType.TOKEN_READ,
                now=now,
                app_id=stored.app_id,
                account_id=account_id,
                data={"token_id": stored.token_id, "reader": reader},
            )
        return account, stored

    def token_history(self, account_id: str, kind: TokenKind | None = None) -> list[TokenInfo]:
        """Every token row an account has had, newest first: metadata only, never a token."""
        stmt = sa.select(Token).where(Token.account_id == account_id)
        if kind is not None:
            stmt = stmt.where(Token.kind == TokenKind(kind).value)
        stmt = stmt.order_by(Token.created_at.desc(), Token.is_current.desc(), Token.id)
        with self._db.read() as conn:
            rows = conn.execute(stmt).all()
        return [
            TokenInfo(
                token_id=r.id,
                kind=TokenKind(r.kind),
                key_id=r.key_id,
                is_current=bool(r.is_current),
                issued_at=r.issued_at,
                expires_at=r.expires_at,
                created_at=r.created_at,
                retired_at=r.retired_at,
                last_refreshed_at=r.last_refreshed_at,
                next_refresh_at=r.next_refresh_at,
                failure_count=r.failure_count,
                last_error=r.last_error,
            )
            for r in rows
        ]
