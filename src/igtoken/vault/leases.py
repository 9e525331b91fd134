"""Leases on due tokens and what a lease holder may record: refreshed, checked, failed, rescheduled."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from igtoken.core.exceptions import (
    ConflictError,
    NotFoundError,
    StorageError,
)
from igtoken.core.models import AccessToken, TokenKind
from igtoken.vault._db import AnyRow, clip_error, new_id
from igtoken.vault._store import (
    _CURRENT_ANY,
    _CURRENT_KIND,
    _INSERT_EVENTS,
    _INSERT_TOKEN,
    _RETIRE_CURRENT,
    _RETIRE_HELD,
    _TOKEN_SELECT,
    VaultStore,
    _check_aware,
    _check_event_data,
    _lease_lost,
    sealed_token_row,
)
from igtoken.vault.models import Account, Token
from igtoken.vault.records import (
    AccountStatus,
    Claim,
    EventType,
    FinishedRefresh,
)


def _claim(row: AnyRow, token: AccessToken, *, owner: str, until: datetime) -> Claim:
    """The claim on the token row ``row`` (opened: ``token``) leased to ``owner`` until ``until``."""
    return Claim(
        token_id=row.id,
        account_id=row.account_id,
        app_id=row.app_id,
        owner=owner,
        lease_expires_at=until,
        token=token,
        next_refresh_at=row.next_refresh_at,
        failure_count=row.failure_count,
    )


def _refreshed_data(token_id: str, token: AccessToken, extra: Mapping[str, Any]) -> dict[str, Any]:
    """The data of a ``refreshed`` event: ``extra`` (plain JSON), the new row and its expiry."""
    expires_at = token.expires_at.isoformat() if token.expires_at else None
    return {**extra, "token_id": token_id, "kind": token.kind.value, "expires_at": expires_at}


class Leases(VaultStore):
    """Claim tokens under a lease and record outcomes only while the lease is held."""

    def claim_due(
        self, *, now: datetime, owner: str, limit: int = 100, lease_seconds: float = 300
    ) -> list[Claim]:
        """Lease up to ``limit`` current tokens of active accounts that are due at ``now``.

        On PostgreSQL rows are picked with ``FOR UPDATE SKIP LOCKED``, so any
        number of workers claim disjoint sets. A row whose ciphertext cannot
        be opened is not handed out: its failure is recorded on the row
        (``last_error`` names the key id) and in a ``refresh_failed`` event.
        """
        _check_aware("now", now)
        if limit < 1 or lease_seconds <= 0:
            raise ValueError("limit and lease_seconds must be positive")
        until = now + timedelta(seconds=lease_seconds)
        with self._db.write() as conn:
            active = (
                sa.select(Account.id)
                .where(Account.id == Token.account_id, Account.status == AccountStatus.ACTIVE.value)
                .exists()
            )
            pick = (
                sa.select(Token.id)
                # The account's status as a correlated EXISTS, not a join: without table statistics
                # (SQLite always, PostgreSQL right after a bulk load) a join lets the planner start
                # from every active account and sort them all on each claim; EXISTS keeps the
                # due-token index as the driving side.
                .where(
                    Token.is_current,
                    Token.next_refresh_at <= now,
                    active,
                    sa.or_(Token.lease_expires_at.is_(None), Token.lease_expires_at <= now),
                )
                # Exactly the order of ix_tokens_due, so PostgreSQL walks that index and stops after
                # ``limit`` rows; a tie-break column (the id) would force it to sort every due row on
                # every claim, which with thousands due made each claim cost tens of milliseconds.
                .order_by(Token.next_refresh_at)
                .limit(limit)
            )
            if self._db.is_postgres:
                pick = pick.with_for_update(skip_locked=True, of=Token)
            ids = list(conn.scalars(pick))
            if not ids:
                return []
            conn.execute(
                sa.update(Token).where(Token.id.in_(ids)).values(lease_owner=owner, lease_expires_at=until)
            )
            rows = conn.execute(_TOKEN_SELECT.where(Token.id.in_(ids)).order_by(Token.next_refresh_at)).all()
        claims: list[Claim] = []
        for row in rows:
            try:
                token = self._open(row)
            except StorageError as exc:
                self._record_unreadable(row, exc, now=now, owner=owner, until=until)
                continue
            claims.append(_claim(row, token, owner=owner, until=until))
        return claims

    def claim_account(
        self,
        account_id: str,
        *,
        now: datetime,
        owner: str,
        kind: TokenKind | None = None,
        lease_seconds: float = 120,
    ) -> Claim:
        """Lease one account's current token now, due or not (``igtoken token`` refreshing on demand).

        :class:`NotFoundError` without a current token; :class:`ConflictError` while another
        owner holds an unexpired lease on it (a worker is refreshing it right now).
        """
        _check_aware("now", now)
        if lease_seconds <= 0:
            raise ValueError("lease_seconds must be positive")
        until = now + timedelta(seconds=lease_seconds)
        with self._db.write() as conn:
            self._lock_account(conn, account_id)
            if kind is None:
                row = conn.execute(_CURRENT_ANY, {"account_id": account_id}).one_or_none()
            else:
                row = conn.execute(
                    _CURRENT_KIND, {"account_id": account_id, "kind": TokenKind(kind).value}
                ).one_or_none()
            if row is None:
                raise NotFoundError(f"account {account_id!r} has no current token")
            taken = conn.execute(
                sa.update(Token)
                .where(
                    Token.id == row.id,
                    sa.or_(
                        Token.lease_expires_at.is_(None),
                        Token.lease_expires_at <= now,
                        Token.lease_owner == owner,
                    ),
                )
                .values(lease_owner=owner, lease_expires_at=until)
            )
            if taken.rowcount != 1:
                raise ConflictError(
                    f"token {row.id!r} is being refreshed by another worker",
                    fix="try again in a minute",
                )
        return _claim(row, self._open(row), owner=owner, until=until)

    def _record_unreadable(
        self, row: AnyRow, exc: StorageError, *, now: datetime, owner: str, until: datetime
    ) -> None:
        # The lease stays until it expires, so the row is retried later, not in a tight loop.
        text = clip_error(f"{type(exc).__name__}: {exc.message}")
        with self._db.write() as conn:
            conn.execute(
                sa.update(Token)
                .where(Token.id == row.id, Token.lease_owner == owner)
                .values(failure_count=Token.failure_count + 1, last_error=text)
            )
            data = {"token_id": row.id, "error": text, "retry_after": until.isoformat()}
            self._token_event(conn, EventType.REFRESH_FAILED, row, now=now, data=data)

    def extend_lease(self, claim: Claim, *, now: datetime, lease_seconds: float = 300) -> Claim:
        """Push a held lease out to ``now + lease_seconds``; :class:`ConflictError` if it was lost."""
        until = now + timedelta(seconds=lease_seconds)
        with self._db.write() as conn:
            res = conn.execute(sa.update(Token).where(self._held(claim, now)).values(lease_expires_at=until))
            if res.rowcount != 1:
                raise _lease_lost(claim)
        return dataclasses.replace(claim, lease_expires_at=until)

    def release(self, claim: Claim) -> bool:
        """Give a lease back without recording anything; whether it was still ours."""
        with self._db.write() as conn:
            res = conn.execute(
                sa.update(Token)
                .where(Token.id == claim.token_id, Token.lease_owner == claim.owner)
                .values(lease_owner=None, lease_expires_at=None)
            )
        return res.rowcount == 1

    def release_owned(self, owner: str) -> int:
        """Give back every lease ``owner`` holds; how many there were.

        For a worker coming back from a database outage with nothing in flight: the claims it
        lost track of are due again at once, instead of only when their leases run out.
        """
        with self._db.write() as conn:
            res = conn.execute(
                sa.update(Token)
                .where(Token.lease_owner == owner)
                .values(lease_owner=None, lease_expires_at=None)
            )
        return int(res.rowcount)

    def record_refresh_success(
        self,
        claim: Claim,
        new_token: AccessToken,
        *,
        now: datetime,
        next_refresh_at: datetime | None,
        details: dict[str, Any] | None = None,
    ) -> str:
        """Store the refreshed token and retire the claimed one, atomically; returns the new row id.

        Only while the lease is held at ``now``: otherwise :class:`ConflictError`
        and nothing is written (the claimed token stays current). ``details`` (plain JSON,
        no secret) go into the ``refreshed`` event, e.g. what triggered the refresh.
        """
        _check_aware("now", now)
        extra = _check_event_data(details)
        _check_aware("next_refresh_at", next_refresh_at)
        with self._db.write() as conn:
            self._lock_account(conn, claim.account_id)
            row = sealed_token_row(
                self.keyring,
                claim.account_id,
                new_token,
                now=now,
                next_refresh_at=next_refresh_at,
                last_refreshed_at=now,
            )
            token_id: str = row["id"]
            conn.execute(_INSERT_TOKEN, row)
            held = conn.execute(_RETIRE_HELD, {"b_id": claim.token_id, "b_owner": claim.owner, "b_now": now})
            if held.rowcount != 1:
                # Leaving the block with an exception rolls the insert back too.
                raise _lease_lost(claim, "; the refreshed token was not stored")
            self._promote(conn, claim.account_id, token_id, {new_token.kind.value}, now=now)
            self._token_event(
                conn, EventType.REFRESHED, claim, now=now, data=_refreshed_data(token_id, new_token, extra)
            )
        return token_id

    def record_refresh_successes(self, batch: Sequence[FinishedRefresh]) -> list[str | None]:
        """Store several refreshed tokens in one transaction, each as :meth:`record_refresh_success` does.

        Returns, item by item, the new row id, or ``None`` where the claim's lease was no longer
        held at the item's ``now``: that item is skipped (its claimed token stays current, nothing
        of it is written) while the others are stored. Each lease is checked in the statement that
        retires its token; the new rows are inserted before the old ones are retired and promoted
        last; every ``refreshed`` event is written in the same transaction. Whatever goes wrong
        (a fault, a crash) rolls the whole batch back: no half-written state.
        """
        for item in batch:
            _check_aware("now", item.now)
            _check_aware("next_refresh_at", item.next_refresh_at)
            _check_event_data(item.details)
        if not batch:
            return []
        ids = [new_id() for _ in batch]
        with self._db.write() as conn:
            # Every account of the batch locked in one statement, in one order (no deadlock with
            # another batch), before any of its tokens is touched, as every token write does.
            accounts = sorted({item.claim.account_id for item in batch})
            lock = sa.select(Account.id).where(Account.id.in_(accounts)).order_by(Account.id)
            if self._db.is_postgres:
                lock = lock.with_for_update(of=Account)
            present = set(conn.scalars(lock))
            # An account deleted meanwhile took its tokens, and so the lease, with it.
            rows = [
                sealed_token_row(
                    self.keyring,
                    item.claim.account_id,
                    item.new_token,
                    now=item.now,
                    next_refresh_at=item.next_refresh_at,
                    last_refreshed_at=item.now,
                    token_id=token_id,
                )
                for token_id, item in zip(ids, batch, strict=True)
                if item.claim.account_id in present
            ]
            if rows:
                conn.execute(_INSERT_TOKEN, rows)
            stored: list[str | None] = []
            for token_id, item in zip(ids, batch, strict=True):
                claim = item.claim
                if claim.account_id not in present:
                    stored.append(None)
                    continue
                params = {"b_id": claim.token_id, "b_owner": claim.owner, "b_now": item.now}
                held = conn.execute(_RETIRE_HELD, params).rowcount == 1
                stored.append(token_id if held else None)
                if held and item.new_token.kind is not claim.token.kind:  # exchanged: a new kind
                    retire = {"b_account_id": claim.account_id, "b_kind": item.new_token.kind.value}
                    conn.execute(_RETIRE_CURRENT, {**retire, "b_now": item.now})
            lost = [
                token_id
                for token_id, kept, item in zip(ids, stored, batch, strict=True)
                if kept is None and item.claim.account_id in present
            ]
            if lost:
                conn.execute(sa.delete(Token).where(Token.id.in_(lost)))
            kept_ids = [token_id for token_id in stored if token_id is not None]
            if kept_ids:
                conn.execute(sa.update(Token).where(Token.id.in_(kept_ids)).values(is_current=True))
                conn.execute(
                    _INSERT_EVENTS,
                    [
                        {
                            "at": item.now,
                            "type": str(EventType.REFRESHED),
                            "app_id": item.claim.app_id,
                            "account_id": item.claim.account_id,
                            "data": _refreshed_data(token_id, item.new_token, item.details),
                        }
                        for token_id, item in zip(stored, batch, strict=True)
                        if token_id is not None
                    ],
                )
        return stored

    def record_check_success(
        self, claim: Claim, data: dict[str, Any], *, now: datetime, next_check_at: datetime
    ) -> None:
        """Record a token checked and still valid (``debug_token``): clear its failures, schedule
        the next check, release the lease and append a ``token_checked`` event with ``data``.

        Only while the lease is held at ``now``: otherwise :class:`ConflictError`.
        """
        _check_aware("now", now)
        _check_aware("next_check_at", next_check_at)
        with self._db.write() as conn:
            res = conn.execute(
                self._release_held(
                    claim, now, failure_count=0, last_error=None, next_refresh_at=next_check_at
                )
            )
            if res.rowcount != 1:
                raise _lease_lost(claim)
            self._token_event(
                conn, EventType.TOKEN_CHECKED, claim, now=now, data={"token_id": claim.token_id, **data}
            )

    def record_refresh_failure(
        self, claim: Claim, error: str, *, now: datetime, next_attempt_at: datetime | None
    ) -> int:
        """Count a failed refresh, keep its error text, schedule the next attempt, release the lease.

        Returns the new failure count; :class:`ConflictError` if the lease was lost.
        ``error`` must not contain a token (igtoken's own error messages never do).
        """
        _check_aware("next_attempt_at", next_attempt_at)
        text = clip_error(error)
        with self._db.write() as conn:
            failed = self._release_held(
                claim,
                now,
                failure_count=Token.failure_count + 1,
                last_error=text,
                next_refresh_at=next_attempt_at,
            )
            count = conn.execute(failed.returning(Token.failure_count)).scalar_one_or_none()
            if count is None:
                raise _lease_lost(claim)
            data = {"token_id": claim.token_id, "error": text, "failure_count": count}
            self._token_event(conn, EventType.REFRESH_FAILED, claim, now=now, data=data)
        return int(count)

    def _release_held(self, claim: Claim, now: datetime, **values: Any) -> sa.Update:
        """Set ``values`` on the claimed token and give its lease back, only while the lease is held."""
        return (
            sa.update(Token)
            .where(self._held(claim, now))
            .values(lease_owner=None, lease_expires_at=None, **values)
        )

    def _token_event(
        self,
        conn: sa.Connection,
        type_: EventType,
        of: Claim | AnyRow,
        *,
        now: datetime,
        data: dict[str, Any],
    ) -> None:
        """An event about the token of ``of`` (a claim, or a token row), under its app and account."""
        self._event(conn, type_, now=now, app_id=of.app_id, account_id=of.account_id, data=data)

    def set_next_refresh(
        self, account_id: str, next_refresh_at: datetime | None, *, kind: TokenKind | None = None
    ) -> int:
        """Reschedule the current token(s) of an account; how many rows changed."""
        _check_aware("next_refresh_at", next_refresh_at)
        stmt = sa.update(Token).where(Token.account_id == account_id, Token.is_current)
        if kind is not None:
            stmt = stmt.where(Token.kind == TokenKind(kind).value)
        with self._db.write() as conn:
            return conn.execute(stmt.values(next_refresh_at=next_refresh_at)).rowcount
