"""An account's end states: needs re-authorization, deauthorized, data deleted."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa

from igtoken.vault._db import AnyRow, clip_error
from igtoken.vault._store import (
    VaultStore,
    _check_event_data,
    _lease_lost,
)
from igtoken.vault.models import Account, Event, Token
from igtoken.vault.records import (
    AccountStatus,
    Claim,
    EventType,
)

#: The account columns that say who a person is: emptied when their data is deleted.
_PERSONAL_COLUMNS: Final = (
    "ig_user_id",
    "app_scoped_id",
    "username",
    "account_type",
    "page_id",
    "page_name",
    "fb_user_id",
    "data_access_expires_at",
)


class Lifecycle(VaultStore):
    """Move an account to needs_reauth, deauthorized or deleted, with its event."""

    def mark_needs_reauth(
        self,
        account_id: str,
        reason: str,
        *,
        now: datetime,
        details: dict[str, Any] | None = None,
        claim: Claim | None = None,
    ) -> None:
        """Meta refused the token: stop refreshing, keep the token, raise a ``needs_reauth`` event.

        ``details`` (plain JSON, no secret) go into the event too, e.g. the re-authorization link.
        With ``claim``, only while that lease is held at ``now`` (in the same transaction):
        otherwise :class:`ConflictError` and nothing changes, so a refresh that lost its lease
        (another holder has stored a new token meanwhile) cannot mark a healthy account.
        """
        extra = _check_event_data(details)
        with self._db.write() as conn:
            row = self._lock_account(conn, account_id)
            if claim is not None:
                held = conn.execute(sa.update(Token).where(self._held(claim, now)).values(lease_owner=None))
                if held.rowcount != 1:
                    raise _lease_lost(claim)
            conn.execute(
                sa.update(Token)
                .where(Token.account_id == account_id, Token.is_current)
                .values(lease_owner=None, lease_expires_at=None)
            )
            text = clip_error(reason)
            self._end(
                conn,
                row,
                AccountStatus.NEEDS_REAUTH,
                now=now,
                data={**extra, "reason": text},
                status_reason=text,
            )

    def mark_deauthorized(self, account_id: str, *, now: datetime, reason: str | None = None) -> None:
        """The person removed the app: destroy every token of the account, keep the account."""
        with self._db.write() as conn:
            row = self._lock_account(conn, account_id)
            dropped = self._drop_tokens(conn, account_id)
            data = {"tokens_destroyed": dropped}
            self._end(conn, row, AccountStatus.DEAUTHORIZED, now=now, data=data, status_reason=reason)

    def delete_account_data(self, account_id: str, *, now: datetime, request_id: str | None = None) -> None:
        """Delete an account's personal data and tokens for good.

        What remains: a tombstone row (status ``deleted``, no personal field),
        the account's earlier events with their details emptied, and one
        ``deleted`` event that carries no personal data.
        """
        with self._db.write() as conn:
            row = self._lock_account(conn, account_id)
            dropped = self._drop_tokens(conn, account_id)
            conn.execute(sa.update(Event).where(Event.account_id == account_id).values(data={}))
            self.states.forget_account(conn, account_id)
            self.links.forget_account(conn, account_id)
            data = {"tokens_destroyed": dropped, "request_id": request_id}
            cleared: dict[str, Any] = {
                **dict.fromkeys(_PERSONAL_COLUMNS),
                "scopes": [],
                "status_reason": None,
            }
            self._end(conn, row, AccountStatus.DELETED, now=now, data=data, **cleared)

    def _drop_tokens(self, conn: sa.Connection, account_id: str) -> int:
        """Delete every token row of the account; how many there were."""
        return int(conn.execute(sa.delete(Token).where(Token.account_id == account_id)).rowcount)

    def _end(
        self,
        conn: sa.Connection,
        account: AnyRow,
        status: AccountStatus,
        *,
        now: datetime,
        data: dict[str, Any],
        **values: Any,
    ) -> None:
        """Set the locked ``account``'s status (and ``values``), then append the event of that name."""
        conn.execute(
            sa.update(Account)
            .where(Account.id == account.id)
            .values(status=status.value, updated_at=now, **values)
        )
        self._event(
            conn, EventType(status.value), now=now, app_id=account.app_id, account_id=account.id, data=data
        )
