"""An account's end states: needs re-authorization, deauthorized, data deleted."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from igtoken.core.exceptions import (
    ConflictError,
)
from igtoken.vault._db import clip_error
from igtoken.vault._store import (
    VaultStore,
    _check_event_data,
)
from igtoken.vault.models import Account, Event, Token
from igtoken.vault.records import (
    AccountStatus,
    Claim,
    EventType,
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
                    raise ConflictError(
                        f"the lease on token {claim.token_id!r} is no longer held by {claim.owner!r}"
                    )
            conn.execute(
                sa.update(Account)
                .where(Account.id == account_id)
                .values(
                    status=AccountStatus.NEEDS_REAUTH.value, status_reason=clip_error(reason), updated_at=now
                )
            )
            conn.execute(
                sa.update(Token)
                .where(Token.account_id == account_id, Token.is_current)
                .values(lease_owner=None, lease_expires_at=None)
            )
            self._event(
                conn,
                EventType.NEEDS_REAUTH,
                now=now,
                app_id=row.app_id,
                account_id=account_id,
                data={**extra, "reason": clip_error(reason)},
            )

    def mark_deauthorized(self, account_id: str, *, now: datetime, reason: str | None = None) -> None:
        """The person removed the app: destroy every token of the account, keep the account."""
        with self._db.write() as conn:
            row = self._lock_account(conn, account_id)
            dropped = conn.execute(sa.delete(Token).where(Token.account_id == account_id)).rowcount
            conn.execute(
                sa.update(Account)
                .where(Account.id == account_id)
                .values(status=AccountStatus.DEAUTHORIZED.value, status_reason=reason, updated_at=now)
            )
            self._event(
                conn,
                EventType.DEAUTHORIZED,
                now=now,
                app_id=row.app_id,
                account_id=account_id,
                data={"tokens_destroyed": dropped},
            )

    def delete_account_data(self, account_id: str, *, now: datetime, request_id: str | None = None) -> None:
        """Delete an account's personal data and tokens for good.

        What remains: a tombstone row (status ``deleted``, no personal field),
        the account's earlier events with their details emptied, and one
        ``deleted`` event that carries no personal data.
        """
        with self._db.write() as conn:
            row = self._lock_account(conn, account_id)
            dropped = conn.execute(sa.delete(Token).where(Token.account_id == account_id)).rowcount
            conn.execute(
                sa.update(Account)
                .where(Account.id == account_id)
                .values(
                    ig_user_id=None,
                    app_scoped_id=None,
                    username=None,
                    account_type=None,
                    scopes=[],
                    page_id=None,
                    page_name=None,
                    fb_user_id=None,
                    data_access_expires_at=None,
                    status=AccountStatus.DELETED.value,
                    status_reason=None,
                    updated_at=now,
                )
            )
            conn.execute(sa.update(Event).where(Event.account_id == account_id).values(data={}))
            self.states.forget_account(conn, account_id)
            self.links.forget_account(conn, account_id)
            self._event(
                conn,
                EventType.DELETED,
                now=now,
                app_id=row.app_id,
                account_id=account_id,
                data={"tokens_destroyed": dropped, "request_id": request_id},
            )
