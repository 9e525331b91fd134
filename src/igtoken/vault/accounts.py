"""Connected accounts: store a login (Instagram or Facebook), read and list accounts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from igtoken.core.exceptions import (
    ConfigurationError,
    NotFoundError,
)
from igtoken.core.models import AccessToken, Profile, TokenKind
from igtoken.facebook.models import FacebookLoginResult
from igtoken.vault._db import new_id, resolve_app
from igtoken.vault._store import (
    _GET_ACCOUNT,
    VaultStore,
    _account_record,
    _check_aware,
)
from igtoken.vault.models import Account
from igtoken.vault.records import (
    AccountRecord,
    AccountStatus,
    EventType,
)


def _profile_columns(profile: Profile, scopes: list[str]) -> dict[str, Any]:
    """An account row's columns from its profile and granted scopes (no account type unless Meta
    said it)."""
    account_type = profile.account_type
    return {
        "app_scoped_id": profile.app_scoped_id,
        "username": profile.username,
        "account_type": account_type.value if account_type is not None else None,
        "scopes": scopes,
    }


class AccountStore(VaultStore):
    """The ``accounts`` aggregate."""

    def save_login(
        self,
        app: str,
        profile: Profile,
        token: AccessToken,
        *,
        now: datetime,
        scopes: Sequence[str] | None = None,
        next_refresh_at: datetime | None = None,
        use_link: str | None = None,
    ) -> AccountRecord:
        """Store an account and its token atomically.

        Logging in again with the same Instagram user updates the account,
        makes it active again, and rotates the token of that kind (the new
        one is written first, the old one retired, in one transaction).
        With ``use_link``, a use of that connect link is spent in the same
        transaction: if none is left (used up, revoked, expired) it raises
        :class:`ConflictError` and nothing is stored.
        """
        _check_aware("now", now)
        _check_aware("next_refresh_at", next_refresh_at)
        if not profile.user_id:
            raise ConfigurationError("the profile has no Instagram user id")
        granted = list(token.scopes if scopes is None else scopes)
        with self._db.write() as conn:
            app_id = resolve_app(conn, app)
            account_id, reconnected = self._upsert_account(
                conn, app_id, profile.user_id, _profile_columns(profile, granted), now=now
            )
            self._put_token(conn, account_id, token, now=now, next_refresh_at=next_refresh_at)
            if use_link is not None:
                self.links.use_in(conn, use_link, now=now, account_id=account_id)
            self._connected(conn, now, app_id, account_id, token.kind, reconnected=reconnected)
        return self.get_account(account_id)

    def _connected(
        self, conn: sa.Connection, now: datetime, app_id: str, account_id: str, kind: TokenKind, **data: Any
    ) -> None:
        """The ``connected`` event of a login, naming the kind of token it stored."""
        self._event(
            conn,
            EventType.CONNECTED,
            now=now,
            app_id=app_id,
            account_id=account_id,
            data={"kind": kind.value, **data},
        )

    def _upsert_account(
        self, conn: sa.Connection, app_id: str, ig_user_id: str, values: dict[str, Any], *, now: datetime
    ) -> tuple[str, bool]:
        """Insert the account of ``ig_user_id`` or update it (active again); ``(id, reconnected)``.

        The row is locked before it is touched, so a concurrent login of the same
        account queues up behind this one.
        """
        candidate = new_id()
        conn.execute(
            self._db.insert(Account)
            .values(
                id=candidate,
                app_id=app_id,
                ig_user_id=ig_user_id,
                status=AccountStatus.ACTIVE.value,
                created_at=now,
                updated_at=now,
                **values,
            )
            .on_conflict_do_nothing(index_elements=["app_id", "ig_user_id"])
        )
        lock = sa.select(Account.id).where(Account.app_id == app_id, Account.ig_user_id == ig_user_id)
        if self._db.is_postgres:
            lock = lock.with_for_update()
        account_id: str = conn.execute(lock).scalar_one()
        reconnected = account_id != candidate
        if reconnected:
            conn.execute(
                sa.update(Account)
                .where(Account.id == account_id)
                .values(status=AccountStatus.ACTIVE.value, status_reason=None, updated_at=now, **values)
            )
        return account_id, reconnected

    def save_facebook_login(
        self,
        app: str,
        result: FacebookLoginResult,
        *,
        now: datetime,
        next_check_at: datetime | None = None,
        use_link: str | None = None,
    ) -> list[AccountRecord]:
        """Store every Page of a Facebook login that has a linked Instagram account, atomically.

        One account per linked Page (keyed by the Instagram account's id, as for
        Instagram Login), each with its page token (kind ``fb_page``, current,
        scheduled for its first check at ``next_check_at``) and the long-lived
        user token it came from (kind ``fb_user``, with its expiry), plus the
        Page, the Facebook user and the data-access expiry on the account. Pages
        without a linked account, or without a page token, are not stored; with
        none left nothing is written and the list is empty. Logging in again
        updates the accounts and rotates both tokens. With ``use_link``, one use
        of that connect link is spent in the same transaction (as in :meth:`save_login`),
        and only when at least one account is stored.
        """
        _check_aware("now", now)
        _check_aware("next_check_at", next_check_at)
        user_token = result.user_token
        if user_token.kind is not TokenKind.FB_USER:
            raise ConfigurationError(
                f"a Facebook login carries an fb_user token, not {user_token.kind.value}"
            )
        _check_aware("data_access_expires_at", result.data_access_expires_at)
        granted = list(result.granted_scopes or user_token.scopes)
        ids: list[str] = []
        with self._db.write() as conn:
            app_id = resolve_app(conn, app)
            for page in result.pages:
                profile, page_token = page.instagram_account, page.page_token
                if profile is None or not profile.user_id or page_token is None:
                    continue
                if page_token.kind is not TokenKind.FB_PAGE:
                    raise ConfigurationError(
                        f"Page {page.page_id} carries a {page_token.kind.value} token, not fb_page"
                    )
                # Unknown unless Meta said it: a creator linked to a Page is no business account.
                account_id, reconnected = self._upsert_account(
                    conn,
                    app_id,
                    profile.user_id,
                    {
                        **_profile_columns(profile, granted),
                        "page_id": page.page_id,
                        "page_name": page.page_name,
                        "fb_user_id": user_token.user_id,
                        "data_access_expires_at": result.data_access_expires_at,
                    },
                    now=now,
                )
                self._put_token(conn, account_id, user_token, now=now, next_refresh_at=None)
                self._put_token(conn, account_id, page_token, now=now, next_refresh_at=next_check_at)
                self._connected(
                    conn,
                    now,
                    app_id,
                    account_id,
                    page_token.kind,
                    page_id=page.page_id,
                    reconnected=reconnected,
                )
                ids.append(account_id)
            if use_link is not None and ids:
                self.links.use_in(conn, use_link, now=now, account_id=ids[0])
        return [self.get_account(i) for i in ids]

    def get_account(self, account_id: str) -> AccountRecord:
        """An account by id; :class:`NotFoundError` if there is none."""
        with self._db.read() as conn:
            row = conn.execute(_GET_ACCOUNT, {"account_id": account_id}).one_or_none()
        if row is None:
            raise NotFoundError(f"no account with id {account_id!r}")
        return _account_record(row)

    def find_account(self, app: str, ig_user_id: str) -> AccountRecord:
        """The account of an Instagram user under one app."""
        with self._db.read() as conn:
            app_id = resolve_app(conn, app)
            row = conn.execute(
                sa.select(Account).where(Account.app_id == app_id, Account.ig_user_id == ig_user_id)
            ).one_or_none()
        if row is None:
            raise NotFoundError(f"no account of app {app!r} for that Instagram user")
        return _account_record(row)

    def list_accounts(
        self,
        *,
        status: AccountStatus | str | None = None,
        app: str | None = None,
        external_id: str | None = None,
    ) -> list[AccountRecord]:
        """Accounts with their status, oldest first, filtered by status, app and/or external id."""
        stmt = sa.select(Account).order_by(Account.created_at, Account.id)
        if external_id is not None:
            stmt = stmt.where(Account.external_id == external_id)
        if status is not None:
            stmt = stmt.where(Account.status == AccountStatus(status).value)
        with self._db.read() as conn:
            if app is not None:
                stmt = stmt.where(Account.app_id == resolve_app(conn, app))
            rows = conn.execute(stmt).all()
        return [_account_record(r) for r in rows]

    def granted_scopes(self) -> dict[str, tuple[int, frozenset[str]]]:
        """Per app id: how many stored (not deleted) accounts it has, and every scope granted to any.

        Read row by row in pages, never the whole fleet at once: what a permission audit needs
        of a vault of any size, in flat memory.
        """
        stmt = sa.select(Account.app_id, Account.scopes).where(Account.status != AccountStatus.DELETED.value)
        counts: dict[str, int] = {}
        granted: dict[str, set[str]] = {}
        with self._db.read() as conn:
            for app_id, scopes in conn.execution_options(yield_per=_PAGE).execute(stmt):
                counts[app_id] = counts.get(app_id, 0) + 1
                granted.setdefault(app_id, set()).update(scopes or ())
        return {app_id: (n, frozenset(granted[app_id])) for app_id, n in counts.items()}


#: Rows fetched at a time when streaming accounts.
_PAGE = 1000
