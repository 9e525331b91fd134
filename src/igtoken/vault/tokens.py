"""Tokens: store one (new before old), read the current one, serve it with its audit event, history."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import cast

import sqlalchemy as sa

from igtoken.core.exceptions import (
    NotFoundError,
)
from igtoken.core.models import AccessToken, TokenKind
from igtoken.vault._db import record_from_row
from igtoken.vault._store import (
    _ACCOUNTS,
    _CURRENT_ANY,
    _CURRENT_KIND,
    _EVENTS,
    _GET_ACCOUNT,
    _TOKEN_COLUMNS,
    VaultStore,
    _account_record,
    _check_aware,
)
from igtoken.vault.direct import TokenRow, bind_json, bind_utc, nonblocking, row_object, token_row
from igtoken.vault.faults import storage_faults
from igtoken.vault.models import Token
from igtoken.vault.records import (
    AccountRecord,
    EventType,
    StoredToken,
    TokenInfo,
)

# The read path's statements (igtoken.vault.direct): the audit event of a read, without RETURNING.
_INSERT_READ = sa.insert(_EVENTS)
_ACCOUNT_NAMES = tuple(c.key for c in _GET_ACCOUNT.selected_columns)
_ACCOUNT_DATES = frozenset({"created_at", "updated_at", "data_access_expires_at"})
_ACCOUNT_JSON = frozenset({"scopes"})
_STATUS = _ACCOUNT_NAMES.index("status")
_TOKENS = cast(sa.Table, Token.__table__)
# serve_token's read: the account and the token it serves, in one statement (one snapshot, one
# round trip). The join picks the kind as AccountRecord.served_kind does: the page token for an
# account with a page, otherwise the newest current token of any kind; no token, NULL columns.
_SERVED_TOKEN_COLUMNS = [c for c in _TOKEN_COLUMNS if c.table is Token.__table__]
_SERVED = (
    sa.select(*_GET_ACCOUNT.selected_columns, *_SERVED_TOKEN_COLUMNS)
    .select_from(
        _ACCOUNTS.outerjoin(
            _TOKENS,
            sa.and_(
                _TOKENS.c.account_id == _ACCOUNTS.c.id,
                _TOKENS.c.is_current,
                sa.or_(_ACCOUNTS.c.page_id.is_(None), _TOKENS.c.kind == TokenKind.FB_PAGE.value),
            ),
        )
    )
    .where(_ACCOUNTS.c.id == sa.bindparam("account_id"))
    .order_by(_TOKENS.c.issued_at.desc(), _TOKENS.c.id)
    .limit(1)
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
        row = self._current_row(account_id, None if kind is None else TokenKind(kind))
        if row is None:
            raise NotFoundError(f"account {account_id!r} has no current token")
        stored = self._stored_token(row)
        if record_read:
            assert now is not None
            self._record_read(stored, now=now, reader=reader)
        return stored

    def _current_row(self, account_id: str, kind: TokenKind | None) -> TokenRow | None:
        # The read path: one statement on a driver connection (igtoken.vault.direct), no transaction.
        if kind is None:
            raw = self._db.read_one(_CURRENT_ANY, {"account_id": account_id})
        else:
            raw = self._db.read_one(_CURRENT_KIND, {"account_id": account_id, "kind": kind.value})
        return None if raw is None else token_row(raw, self._db.dialect)

    def _record_read(self, stored: StoredToken, *, now: datetime, reader: str | None) -> None:
        """The ``token_read`` event of ``stored``: one INSERT, committed when this returns."""
        _check_aware("now", now)
        dialect = self._db.dialect
        self._db.write_one(
            _INSERT_READ,
            {
                "at": bind_utc(now, dialect),
                "type": str(EventType.TOKEN_READ),
                "app_id": stored.app_id,
                "account_id": stored.account_id,
                "data": bind_json({"token_id": stored.token_id, "reader": reader}, dialect),
            },
        )

    def serve_token(
        self,
        account_id: str,
        *,
        now: datetime,
        reader: str,
        check: Callable[[AccountRecord], None] | None = None,
    ) -> tuple[AccountRecord, StoredToken]:
        """Hand out the token an account serves, recording the read.

        Reads the account, runs ``check`` on it (whatever it raises stops here: nothing is
        recorded), reads and opens its current token of :attr:`~AccountRecord.served_kind`,
        and appends the ``token_read`` event naming ``reader``, exactly as
        :meth:`current_token` with ``record_read=True`` does. Each step is one statement on
        the read path (:mod:`igtoken.vault.direct`); the event is committed before this
        returns, so no token leaves unrecorded. Raises :class:`NotFoundError` for an unknown
        account or one without a current token.
        """
        _check_aware("now", now)
        raw = self._db.read_one(_SERVED, {"account_id": account_id})
        if raw is None:
            raise NotFoundError(f"no account with id {account_id!r}")
        dialect = self._db.dialect
        head = raw[: len(_ACCOUNT_NAMES)]
        account = _account_record(
            row_object(head, _ACCOUNT_NAMES, dialect, datetimes=_ACCOUNT_DATES, jsons=_ACCOUNT_JSON)
        )
        if check is not None:
            check(account)
        tail = raw[len(_ACCOUNT_NAMES) :]
        if tail[0] is None:
            raise NotFoundError(f"account {account_id!r} has no current token")
        stored = self._stored_token(
            token_row((*tail, account.app_id, head[_STATUS], account.ig_user_id), dialect)
        )
        self._record_read(stored, now=now, reader=reader)
        return account, stored

    @property
    def serves_nonblocking(self) -> bool:
        """Whether :meth:`serve_token` can run in :meth:`nonblocking` mode (SQLite: local, no network)."""
        return self._db.dialect == "sqlite"

    def nonblocking(self) -> AbstractContextManager[None]:
        """A block in which :meth:`serve_token` (and the API key lookup) never waits.

        Whatever would wait (a lock held by another process or another thread of this one, a
        write through a transaction) raises :class:`~igtoken.vault.direct.WouldBlock` at once
        with nothing written, so the caller can do the work again where waiting is allowed.
        SQLite only (:attr:`serves_nonblocking`); elsewhere everything raises ``WouldBlock``, and
        so does everything until :meth:`prepare_nonblocking` has run (opening a connection may wait).
        """
        return nonblocking()

    def prepare_nonblocking(self) -> None:
        """Open what :meth:`nonblocking` mode needs (blocking; until then it raises ``WouldBlock``)."""
        if self.serves_nonblocking:
            with storage_faults(self._db.where, waited=self._db.busy_timeout):
                self._db.direct.prepare_quick()

    def claim_checkpoint(self) -> bool:
        """Whether writes made in :meth:`nonblocking` mode want :meth:`checkpoint` now (once each time)."""
        return self._db.direct.claim_checkpoint()

    def checkpoint(self) -> None:
        """A passive WAL checkpoint on SQLite (nothing elsewhere); it syncs the disk: blocking."""
        with storage_faults(self._db.where, waited=self._db.busy_timeout):
            self._db.direct.checkpoint()

    def token_history(self, account_id: str, kind: TokenKind | None = None) -> list[TokenInfo]:
        """Every token row an account has had, newest first: metadata only, never a token."""
        stmt = sa.select(Token).where(Token.account_id == account_id)
        if kind is not None:
            stmt = stmt.where(Token.kind == TokenKind(kind).value)
        stmt = stmt.order_by(Token.created_at.desc(), Token.is_current.desc(), Token.id)
        with self._db.read() as conn:
            rows = conn.execute(stmt).all()
        return [
            record_from_row(
                TokenInfo, r, token_id=r.id, kind=TokenKind(r.kind), is_current=bool(r.is_current)
            )
            for r in rows
        ]
