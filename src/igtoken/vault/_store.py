"""What every part of the vault shares: the database, the key ring, the companion repositories,
and the private steps (lock an account, seal and promote a token, open one, write an event).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from igtoken.core.exceptions import ConflictError, NotFoundError
from igtoken.core.models import AccessToken, AccountType, TokenKind
from igtoken.vault._db import AnyRow, Database, new_id, record_from_row
from igtoken.vault.apikeys import ApiKeys
from igtoken.vault.crypto import KeyRing, Sealed, token_aad
from igtoken.vault.deletions import DeletionRequests
from igtoken.vault.direct import TokenRow
from igtoken.vault.engine import set_busy_timeout
from igtoken.vault.links import ConnectLinks
from igtoken.vault.models import Account, Event, Token
from igtoken.vault.oauth_states import OAuthStates
from igtoken.vault.ratebuckets import RateBuckets
from igtoken.vault.records import (
    AccountRecord,
    AccountStatus,
    Claim,
    EventType,
    StoredToken,
)
from igtoken.vault.replays import SeenSignedRequests
from igtoken.vault.sessions import RevokedSessions
from igtoken.vault.throttles import ProxyThrottles
from igtoken.vault.usage import AccountUsages
from igtoken.vault.webhooks import WebhookDeliveries

__all__ = ["VaultStore", "sealed_token_row"]

_PURPOSE_INSTAGRAM = "instagram"

_PURPOSE_META = "meta"


def _check_aware(name: str, value: datetime | None) -> None:
    if value is not None and value.tzinfo is None:
        raise ValueError(f"{name} must be a timezone-aware UTC datetime")


def _check_event_data(data: dict[str, Any] | None) -> dict[str, Any]:
    if data is None:
        return {}
    try:
        json.dumps(data)
    except TypeError:
        raise ValueError("event data must be plain JSON; secrets never go into events") from None
    return data


# Columns read whenever a token is opened; one statement, built once, cached by SQLAlchemy.
_TOKEN_COLUMNS = (
    Token.id,
    Token.account_id,
    Token.kind,
    Token.key_id,
    Token.nonce,
    Token.ciphertext,
    Token.scopes,
    Token.issued_at,
    Token.expires_at,
    Token.last_refreshed_at,
    Token.next_refresh_at,
    Token.failure_count,
    Token.last_error,
    Token.lease_owner,
    Token.lease_expires_at,
    Account.app_id,
    Account.status,
    Account.ig_user_id,
)

_TOKEN_SELECT = sa.select(*_TOKEN_COLUMNS).join(Account, Account.id == Token.account_id)

_CURRENT_ANY = (
    _TOKEN_SELECT.where(Token.account_id == sa.bindparam("account_id"), Token.is_current)
    .order_by(Token.issued_at.desc(), Token.id)
    .limit(1)
)

# Hot-path writes: built once with bind parameters, so each call skips statement construction.
_TOKENS = cast(sa.Table, Token.__table__)

_EVENTS = cast(sa.Table, Event.__table__)

_INSERT_TOKEN = sa.insert(_TOKENS)

_INSERT_EVENT = sa.insert(_EVENTS).returning(_EVENTS.c.id)

# Several events at once (executemany), when their ids are not needed.
_INSERT_EVENTS = sa.insert(_EVENTS)

_RETIRE_CURRENT = (
    sa.update(_TOKENS)
    .where(
        _TOKENS.c.account_id == sa.bindparam("b_account_id"),
        _TOKENS.c.kind == sa.bindparam("b_kind"),
        _TOKENS.c.is_current,
    )
    .values(is_current=False, retired_at=sa.bindparam("b_now"), lease_owner=None, lease_expires_at=None)
)

_PROMOTE = sa.update(_TOKENS).where(_TOKENS.c.id == sa.bindparam("b_id")).values(is_current=True)

_RETIRE_HELD = (
    sa.update(_TOKENS)
    .where(
        _TOKENS.c.id == sa.bindparam("b_id"),
        _TOKENS.c.is_current,
        _TOKENS.c.lease_owner == sa.bindparam("b_owner"),
        _TOKENS.c.lease_expires_at > sa.bindparam("b_now"),
    )
    .values(is_current=False, retired_at=sa.bindparam("b_now"), lease_owner=None, lease_expires_at=None)
)

_LOCK_ACCOUNT = sa.select(Account.id, Account.app_id, Account.status).where(
    Account.id == sa.bindparam("account_id")
)

_LOCK_ACCOUNT_PG = _LOCK_ACCOUNT.with_for_update()

_CURRENT_KIND = _TOKEN_SELECT.where(
    Token.account_id == sa.bindparam("account_id"), Token.kind == sa.bindparam("kind"), Token.is_current
)

_ACCOUNTS = cast(sa.Table, Account.__table__)

_GET_ACCOUNT = sa.select(_ACCOUNTS).where(_ACCOUNTS.c.id == sa.bindparam("account_id"))


def _account_record(row: AnyRow) -> AccountRecord:
    return record_from_row(
        AccountRecord,
        row,
        account_type=AccountType(row.account_type) if row.account_type else None,
        scopes=tuple(row.scopes),
        status=AccountStatus(row.status),
    )


def _lease_lost(claim: Claim, consequence: str = "") -> ConflictError:
    """What a write under ``claim``'s lease raises once the lease is no longer held."""
    return ConflictError(
        f"the lease on token {claim.token_id!r} is no longer held by {claim.owner!r}{consequence}"
    )


def sealed_token_row(
    keyring: KeyRing,
    account_id: str,
    token: AccessToken,
    *,
    now: datetime,
    next_refresh_at: datetime | None,
    last_refreshed_at: datetime | None = None,
    current: bool = False,
    token_id: str | None = None,
) -> dict[str, Any]:
    """The ``tokens`` row of ``token``, sealed by ``keyring`` and bound to the row by its associated
    data, ready to insert: not current unless ``current``, with a new id unless ``token_id``."""
    token_id = token_id or new_id()
    kind = TokenKind(token.kind).value
    sealed = keyring.encrypt(token.value, token_aad(token_id, account_id, kind))
    return {
        "id": token_id,
        "account_id": account_id,
        "kind": kind,
        "key_id": sealed.key_id,
        "nonce": sealed.nonce,
        "ciphertext": sealed.ciphertext,
        "scopes": list(token.scopes),
        "issued_at": token.issued_at,
        "expires_at": token.expires_at,
        "last_refreshed_at": last_refreshed_at,
        "next_refresh_at": next_refresh_at,
        "failure_count": 0,
        "last_error": None,
        "is_current": current,
        "created_at": now,
        "retired_at": None,
        "lease_owner": None,
        "lease_expires_at": None,
    }


class VaultStore:
    """The shared base of :class:`~igtoken.vault.repository.Vault`'s parts."""

    def __init__(self, engine: Engine, keyring: KeyRing) -> None:
        self._db = Database(engine)
        self.keyring = keyring
        self.links = ConnectLinks(self._db, keyring)
        self.states = OAuthStates(self._db)
        self.api_keys = ApiKeys(self._db)
        self.deletions = DeletionRequests(self._db)
        self.webhooks = WebhookDeliveries(self._db)
        self.signed_requests = SeenSignedRequests(self._db)
        self.sessions = RevokedSessions(self._db)
        self.throttles = ProxyThrottles(self._db)
        self.rate_buckets = RateBuckets(self._db)
        self.usage = AccountUsages(self._db)

    def __repr__(self) -> str:
        return f"Vault({self._db.engine.url.render_as_string(hide_password=True)!r})"

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine underneath."""
        return self._db.engine

    def close(self) -> None:
        """Close every pooled connection."""
        self._db.engine.dispose()

    def prune(self, *, now: datetime, keep: timedelta | None = None) -> dict[str, int]:
        """Delete expired states, finished links, old replay records and delivered webhooks (see
        :mod:`igtoken.vault.housekeeping`); how many rows went, by table."""
        from igtoken.vault.housekeeping import DEFAULT_KEEP, prune

        _check_aware("now", now)
        return prune(self._db, now=now, keep=DEFAULT_KEEP if keep is None else keep)

    def check_writable(self) -> None:
        """Open and commit an empty write transaction: raises what a write would now (a lock another
        process holds, a damaged file, an unreachable server) without changing anything."""
        with self._db.write():
            pass

    def set_busy_timeout(self, seconds: float) -> None:
        """On SQLite, wait at most ``seconds`` for a lock another process holds (no effect elsewhere)."""
        set_busy_timeout(self._db.engine, seconds)

    def _lock_account(self, conn: sa.Connection, account_id: str) -> AnyRow:
        stmt = _LOCK_ACCOUNT_PG if self._db.is_postgres else _LOCK_ACCOUNT
        row = conn.execute(stmt, {"account_id": account_id}).one_or_none()
        if row is None:
            raise NotFoundError(f"no account with id {account_id!r}")
        return row

    def _put_token(
        self,
        conn: sa.Connection,
        account_id: str,
        token: AccessToken,
        *,
        now: datetime,
        next_refresh_at: datetime | None,
    ) -> str:
        """Insert the new row, retire the old current one, promote the new row: one transaction."""
        row = sealed_token_row(self.keyring, account_id, token, now=now, next_refresh_at=next_refresh_at)
        conn.execute(_INSERT_TOKEN, row)
        self._promote(conn, account_id, row["id"], {token.kind.value}, now=now)
        return str(row["id"])

    def _promote(
        self, conn: sa.Connection, account_id: str, token_id: str, kinds: set[str], *, now: datetime
    ) -> None:
        """Retire whatever is current for ``kinds``, then make ``token_id`` current."""
        for kind in sorted(kinds):
            conn.execute(_RETIRE_CURRENT, {"b_account_id": account_id, "b_kind": kind, "b_now": now})
        conn.execute(_PROMOTE, {"b_id": token_id})

    def _open(self, row: AnyRow | TokenRow) -> AccessToken:
        value = self.keyring.decrypt(
            Sealed(row.key_id, row.nonce, row.ciphertext), token_aad(row.id, row.account_id, row.kind)
        )
        return AccessToken(
            value=value,
            kind=TokenKind(row.kind),
            issued_at=row.issued_at,
            expires_at=row.expires_at,
            user_id=row.ig_user_id,
            scopes=tuple(row.scopes),
        )

    def _stored_token(self, row: AnyRow | TokenRow) -> StoredToken:
        return StoredToken(
            token_id=row.id,
            account_id=row.account_id,
            app_id=row.app_id,
            token=self._open(row),
            account_status=AccountStatus(row.status),
            key_id=row.key_id,
            last_refreshed_at=row.last_refreshed_at,
            next_refresh_at=row.next_refresh_at,
            failure_count=row.failure_count,
            last_error=row.last_error,
        )

    def _held(self, claim: Claim, now: datetime) -> Any:
        return sa.and_(
            Token.id == claim.token_id,
            Token.is_current,
            Token.lease_owner == claim.owner,
            Token.lease_expires_at > now,
        )

    def _event(
        self,
        conn: sa.Connection,
        type_: EventType | str,
        *,
        now: datetime,
        app_id: str | None = None,
        account_id: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> int:
        res = conn.execute(
            _INSERT_EVENT,
            {
                "at": now,
                "type": str(type_),
                "app_id": app_id,
                "account_id": account_id,
                "data": _check_event_data(data),
            },
        )
        return int(res.scalar_one())
