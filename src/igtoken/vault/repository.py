"""The vault: apps, accounts and their sealed tokens, the refresh leases, the audit trail.

Every method is one short transaction. Time is always an argument. Tokens
are sealed with AES-256-GCM, bound to their row by associated data
(:func:`token_aad`), and never leave this module except as :class:`Secret`.

Concurrency rules, the same on SQLite and PostgreSQL:

* every write that touches an account's tokens first locks the account row
  (``SELECT … FOR UPDATE`` on PostgreSQL; ``BEGIN IMMEDIATE`` on SQLite
  serializes writers anyway), so two writers on one account queue up;
* a new token row is inserted before the old one is retired, and promoted to
  current last, all in one transaction; the partial unique index
  ``uq_tokens_current`` makes a second current token impossible;
* a refresh result is recorded only while its lease is held; otherwise
  :class:`ConflictError` and nothing is written.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from igtoken.core.exceptions import (
    ConfigurationError,
    ConflictError,
    NotFoundError,
    StorageError,
)
from igtoken.core.models import AccessToken, AccountType, FlowKind, Profile, TokenKind
from igtoken.core.secret import Secret
from igtoken.facebook.models import FacebookLoginResult
from igtoken.vault import rotation
from igtoken.vault._db import AnyRow, Database, clip_error, new_id
from igtoken.vault.apikeys import ApiKeys
from igtoken.vault.crypto import KeyRing, Sealed, app_secret_aad, token_aad
from igtoken.vault.deletions import DeletionRequests
from igtoken.vault.engine import create_vault_engine, set_busy_timeout
from igtoken.vault.faults import storage_faults
from igtoken.vault.links import ConnectLinks
from igtoken.vault.migrate import ensure_current, ensure_upgraded
from igtoken.vault.models import Account, App, AppSecret, Event, Token
from igtoken.vault.ratebuckets import RateBuckets
from igtoken.vault.records import (
    AccountRecord,
    AccountStatus,
    AppRecord,
    Claim,
    EventRecord,
    EventType,
    KeyStatus,
    RotationReport,
    StoredToken,
    TokenInfo,
)
from igtoken.vault.replays import SeenSignedRequests
from igtoken.vault.sessions import RevokedSessions
from igtoken.vault.states import OAuthStates
from igtoken.vault.throttles import ProxyThrottles
from igtoken.vault.webhooks import WebhookDeliveries

__all__ = ["Vault", "app_secret_aad", "token_aad"]

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


class Vault:
    """The synchronous vault. Thread-safe: each call runs in its own transaction.

    Companion repositories share its database: :attr:`links`,
    :attr:`states`, :attr:`api_keys`, :attr:`deletions`, :attr:`webhooks`,
    :attr:`signed_requests`, :attr:`sessions`, :attr:`throttles`, :attr:`rate_buckets`.
    """

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

    def __repr__(self) -> str:
        return f"Vault({self._db.engine.url.render_as_string(hide_password=True)!r})"

    @classmethod
    def open(
        cls,
        url: str | sa.URL,
        keyring: KeyRing,
        *,
        auto_upgrade: bool = False,
        busy_timeout: float | None = None,
    ) -> Vault:
        """Connect to ``url``; migrate it if ``auto_upgrade``, else insist the schema is current.

        ``busy_timeout``: on SQLite, seconds to wait for a lock another process holds (30 by default).
        A locked, damaged or unreachable database raises a
        :class:`~igtoken.core.exceptions.DatabaseUnavailableError` subclass.
        """
        engine = create_vault_engine(url, busy_timeout=busy_timeout)
        db = Database(engine)
        try:
            with storage_faults(db.where, waited=db.busy_timeout):
                if auto_upgrade:
                    ensure_upgraded(engine)
                else:
                    ensure_current(engine)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, keyring)

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

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine underneath."""
        return self._db.engine

    def close(self) -> None:
        """Close every pooled connection."""
        self._db.engine.dispose()

    # -- apps ---------------------------------------------------------------------------------

    def add_app(
        self,
        name: str,
        *,
        instagram_app_id: str,
        app_secret: Secret,
        redirect_uris: Sequence[str],
        now: datetime,
        default_scopes: Sequence[str] = (),
        flow_kind: FlowKind = FlowKind.INSTAGRAM_LOGIN,
        meta_app_id: str | None = None,
        meta_app_secret: Secret | None = None,
    ) -> AppRecord:
        """Register a Meta app; its secrets are sealed. :class:`ConflictError` if the name is taken."""
        _check_aware("now", now)
        if not name.strip():
            raise ConfigurationError("an app needs a name")
        if not instagram_app_id.strip():
            raise ConfigurationError(f"app {name!r} needs an Instagram app id")
        if not isinstance(app_secret, Secret) or not app_secret:
            raise ConfigurationError(f"app {name!r} needs its app secret, as a Secret")
        if isinstance(redirect_uris, str) or not all(isinstance(u, str) and u for u in redirect_uris):
            raise ConfigurationError(f"app {name!r}: redirect URIs must be a list of non-empty strings")
        app_id = new_id()
        with self._db.write() as conn:
            taken = conn.scalar(sa.select(App.id).where(App.name == name))
            if taken is not None:
                raise ConflictError(f"an app named {name!r} already exists")
            conn.execute(
                sa.insert(App).values(
                    id=app_id,
                    name=name,
                    flow_kind=FlowKind(flow_kind).value,
                    instagram_app_id=instagram_app_id,
                    meta_app_id=meta_app_id,
                    redirect_uris=list(redirect_uris),
                    default_scopes=list(default_scopes),
                    created_at=now,
                    updated_at=now,
                )
            )
            self._put_app_secret(conn, app_id, _PURPOSE_INSTAGRAM, app_secret, now)
            if meta_app_secret is not None:
                self._put_app_secret(conn, app_id, _PURPOSE_META, meta_app_secret, now)
            self._event(conn, EventType.APP_ADDED, now=now, app_id=app_id)
        return self.get_app(app_id)

    def _put_app_secret(
        self, conn: sa.Connection, app_id: str, purpose: str, secret: Secret, now: datetime
    ) -> None:
        sealed = self.keyring.encrypt(secret, app_secret_aad(app_id, purpose))
        conn.execute(sa.delete(AppSecret).where(AppSecret.app_id == app_id, AppSecret.purpose == purpose))
        conn.execute(
            sa.insert(AppSecret).values(
                app_id=app_id,
                purpose=purpose,
                key_id=sealed.key_id,
                nonce=sealed.nonce,
                ciphertext=sealed.ciphertext,
                updated_at=now,
            )
        )

    def set_app_secret(self, app: str, secret: Secret, *, now: datetime, meta: bool = False) -> None:
        """Replace the Instagram (or, with ``meta``, the Facebook Login) app secret of an app."""
        with self._db.write() as conn:
            app_id = self._resolve_app(conn, app)
            purpose = _PURPOSE_META if meta else _PURPOSE_INSTAGRAM
            self._put_app_secret(conn, app_id, purpose, secret, now)
            conn.execute(sa.update(App).where(App.id == app_id).values(updated_at=now))

    def update_app(
        self,
        app: str,
        *,
        now: datetime,
        redirect_uris: Sequence[str] | None = None,
        default_scopes: Sequence[str] | None = None,
    ) -> AppRecord:
        """Replace an app's redirect URIs and/or default scopes (``None`` keeps them)."""
        _check_aware("now", now)
        values: dict[str, Any] = {"updated_at": now}
        if redirect_uris is not None:
            if isinstance(redirect_uris, str) or not all(isinstance(u, str) and u for u in redirect_uris):
                raise ConfigurationError(f"app {app!r}: redirect URIs must be a list of non-empty strings")
            values["redirect_uris"] = list(dict.fromkeys(redirect_uris))
        if default_scopes is not None:
            if isinstance(default_scopes, str):
                raise ConfigurationError(f"app {app!r}: default scopes must be a list of names")
            values["default_scopes"] = list(dict.fromkeys(default_scopes))
        with self._db.write() as conn:
            app_id = self._resolve_app(conn, app)
            conn.execute(sa.update(App).where(App.id == app_id).values(**values))
        return self.get_app(app_id)

    def _resolve_app(self, conn: sa.Connection, app: str) -> str:
        found = conn.scalar(sa.select(App.id).where(sa.or_(App.id == app, App.name == app)))
        if found is None:
            raise NotFoundError(f"no app named or with id {app!r}")
        return found

    def get_app(self, app: str) -> AppRecord:
        """An app by name or id, secrets decrypted (as :class:`Secret`)."""
        with self._db.read() as conn:
            row = conn.execute(sa.select(App).where(sa.or_(App.id == app, App.name == app))).one_or_none()
            if row is None:
                raise NotFoundError(f"no app named or with id {app!r}")
            secrets = conn.execute(sa.select(AppSecret).where(AppSecret.app_id == row.id)).all()
        return self._app_record(row, secrets)

    def _app_record(self, row: AnyRow, secret_rows: Iterable[AnyRow]) -> AppRecord:
        opened: dict[str, Secret] = {}
        for s in secret_rows:
            sealed = Sealed(s.key_id, s.nonce, s.ciphertext)
            opened[s.purpose] = self.keyring.decrypt(sealed, app_secret_aad(row.id, s.purpose))
        if _PURPOSE_INSTAGRAM not in opened:
            raise StorageError(f"app {row.name!r} has no stored app secret")
        return AppRecord(
            id=row.id,
            name=row.name,
            flow_kind=FlowKind(row.flow_kind),
            instagram_app_id=row.instagram_app_id,
            app_secret=opened[_PURPOSE_INSTAGRAM],
            redirect_uris=tuple(row.redirect_uris),
            default_scopes=tuple(row.default_scopes),
            created_at=row.created_at,
            updated_at=row.updated_at,
            meta_app_id=row.meta_app_id,
            meta_app_secret=opened.get(_PURPOSE_META),
        )

    def list_apps(self) -> list[AppRecord]:
        """Every app, by name."""
        with self._db.read() as conn:
            rows = conn.execute(sa.select(App).order_by(App.name)).all()
            secrets = conn.execute(sa.select(AppSecret)).all()
        by_app: dict[str, list[AnyRow]] = {}
        for s in secrets:
            by_app.setdefault(s.app_id, []).append(s)
        return [self._app_record(r, by_app.get(r.id, ())) for r in rows]

    def remove_app(self, app: str, *, now: datetime) -> None:
        """Remove an app. :class:`ConflictError` while it still has accounts that are not deleted."""
        with self._db.write() as conn:
            app_id = self._resolve_app(conn, app)
            live = conn.scalar(
                sa.select(sa.func.count())
                .select_from(Account)
                .where(Account.app_id == app_id, Account.status != AccountStatus.DELETED.value)
            )
            if live:
                raise ConflictError(
                    f"app {app!r} still has {live} account(s)",
                    fix="delete or deauthorize its accounts first",
                )
            # Tombstones hold no personal data; they go with their app.
            conn.execute(sa.delete(Account).where(Account.app_id == app_id))
            conn.execute(sa.delete(App).where(App.id == app_id))
            self._event(conn, EventType.APP_REMOVED, now=now, app_id=app_id)

    # -- accounts and tokens ------------------------------------------------------------------

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
            app_id = self._resolve_app(conn, app)
            account_id, reconnected = self._upsert_account(
                conn,
                app_id,
                profile.user_id,
                {
                    "app_scoped_id": profile.app_scoped_id,
                    "username": profile.username,
                    "account_type": profile.account_type.value if profile.account_type else None,
                    "scopes": granted,
                },
                now=now,
            )
            self._put_token(conn, account_id, token, now=now, next_refresh_at=next_refresh_at)
            if use_link is not None:
                self.links.use_in(conn, use_link, now=now, account_id=account_id)
            self._event(
                conn,
                EventType.CONNECTED,
                now=now,
                app_id=app_id,
                account_id=account_id,
                data={"kind": token.kind.value, "reconnected": reconnected},
            )
        return self.get_account(account_id)

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
            app_id = self._resolve_app(conn, app)
            for page in result.pages:
                profile, page_token = page.instagram_account, page.page_token
                if profile is None or not profile.user_id or page_token is None:
                    continue
                if page_token.kind is not TokenKind.FB_PAGE:
                    raise ConfigurationError(
                        f"Page {page.page_id} carries a {page_token.kind.value} token, not fb_page"
                    )
                # Unknown unless Meta said it: a creator linked to a Page is no business account.
                account_type = profile.account_type
                account_id, reconnected = self._upsert_account(
                    conn,
                    app_id,
                    profile.user_id,
                    {
                        "app_scoped_id": profile.app_scoped_id,
                        "username": profile.username,
                        "account_type": account_type.value if account_type is not None else None,
                        "scopes": granted,
                        "page_id": page.page_id,
                        "page_name": page.page_name,
                        "fb_user_id": user_token.user_id,
                        "data_access_expires_at": result.data_access_expires_at,
                    },
                    now=now,
                )
                self._put_token(conn, account_id, user_token, now=now, next_refresh_at=None)
                self._put_token(conn, account_id, page_token, now=now, next_refresh_at=next_check_at)
                self._event(
                    conn,
                    EventType.CONNECTED,
                    now=now,
                    app_id=app_id,
                    account_id=account_id,
                    data={"kind": page_token.kind.value, "page_id": page.page_id, "reconnected": reconnected},
                )
                ids.append(account_id)
            if use_link is not None and ids:
                self.links.use_in(conn, use_link, now=now, account_id=ids[0])
        return [self.get_account(i) for i in ids]

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
        token_id = self._insert_token(conn, account_id, token, now=now, next_refresh_at=next_refresh_at)
        self._promote(conn, account_id, token_id, {token.kind.value}, now=now)
        return token_id

    def _insert_token(
        self,
        conn: sa.Connection,
        account_id: str,
        token: AccessToken,
        *,
        now: datetime,
        next_refresh_at: datetime | None,
        last_refreshed_at: datetime | None = None,
    ) -> str:
        """Write a sealed token row that is not current yet."""
        token_id = new_id()
        kind = TokenKind(token.kind).value
        sealed = self.keyring.encrypt(token.value, token_aad(token_id, account_id, kind))
        conn.execute(
            _INSERT_TOKEN,
            {
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
                "is_current": False,
                "created_at": now,
                "retired_at": None,
                "lease_owner": None,
                "lease_expires_at": None,
            },
        )
        return token_id

    def _promote(
        self, conn: sa.Connection, account_id: str, token_id: str, kinds: set[str], *, now: datetime
    ) -> None:
        """Retire whatever is current for ``kinds``, then make ``token_id`` current."""
        for kind in sorted(kinds):
            conn.execute(_RETIRE_CURRENT, {"b_account_id": account_id, "b_kind": kind, "b_now": now})
        conn.execute(_PROMOTE, {"b_id": token_id})

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
            app_id = self._resolve_app(conn, app)
            row = conn.execute(
                sa.select(Account).where(Account.app_id == app_id, Account.ig_user_id == ig_user_id)
            ).one_or_none()
        if row is None:
            raise NotFoundError(f"no account of app {app!r} for that Instagram user")
        return _account_record(row)

    def list_accounts(
        self, *, status: AccountStatus | str | None = None, app: str | None = None
    ) -> list[AccountRecord]:
        """Accounts with their status, oldest first, filtered by status and/or app."""
        stmt = sa.select(Account).order_by(Account.created_at, Account.id)
        if status is not None:
            stmt = stmt.where(Account.status == AccountStatus(status).value)
        with self._db.read() as conn:
            if app is not None:
                stmt = stmt.where(Account.app_id == self._resolve_app(conn, app))
            rows = conn.execute(stmt).all()
        return [_account_record(r) for r in rows]

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

    def _open(self, row: AnyRow) -> AccessToken:
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

    def _stored_token(self, row: AnyRow) -> StoredToken:
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

    # -- refresh leases -----------------------------------------------------------------------

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
            claims.append(
                Claim(
                    token_id=row.id,
                    account_id=row.account_id,
                    app_id=row.app_id,
                    owner=owner,
                    lease_expires_at=until,
                    token=token,
                    next_refresh_at=row.next_refresh_at,
                    failure_count=row.failure_count,
                )
            )
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
        return Claim(
            token_id=row.id,
            account_id=row.account_id,
            app_id=row.app_id,
            owner=owner,
            lease_expires_at=until,
            token=self._open(row),
            next_refresh_at=row.next_refresh_at,
            failure_count=row.failure_count,
        )

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
            self._event(
                conn,
                EventType.REFRESH_FAILED,
                now=now,
                app_id=row.app_id,
                account_id=row.account_id,
                data={"token_id": row.id, "error": text, "retry_after": until.isoformat()},
            )

    def _held(self, claim: Claim, now: datetime) -> Any:
        return sa.and_(
            Token.id == claim.token_id,
            Token.is_current,
            Token.lease_owner == claim.owner,
            Token.lease_expires_at > now,
        )

    def extend_lease(self, claim: Claim, *, now: datetime, lease_seconds: float = 300) -> Claim:
        """Push a held lease out to ``now + lease_seconds``; :class:`ConflictError` if it was lost."""
        until = now + timedelta(seconds=lease_seconds)
        with self._db.write() as conn:
            res = conn.execute(sa.update(Token).where(self._held(claim, now)).values(lease_expires_at=until))
            if res.rowcount != 1:
                raise ConflictError(
                    f"the lease on token {claim.token_id!r} is no longer held by {claim.owner!r}"
                )
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
            token_id = self._insert_token(
                conn,
                claim.account_id,
                new_token,
                now=now,
                next_refresh_at=next_refresh_at,
                last_refreshed_at=now,
            )
            held = conn.execute(_RETIRE_HELD, {"b_id": claim.token_id, "b_owner": claim.owner, "b_now": now})
            if held.rowcount != 1:
                # Leaving the block with an exception rolls the insert back too.
                raise ConflictError(
                    f"the lease on token {claim.token_id!r} is no longer held by {claim.owner!r}; "
                    "the refreshed token was not stored"
                )
            self._promote(conn, claim.account_id, token_id, {new_token.kind.value}, now=now)
            self._event(
                conn,
                EventType.REFRESHED,
                now=now,
                app_id=claim.app_id,
                account_id=claim.account_id,
                data={
                    **extra,
                    "token_id": token_id,
                    "kind": new_token.kind.value,
                    "expires_at": new_token.expires_at.isoformat() if new_token.expires_at else None,
                },
            )
        return token_id

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
                sa.update(Token)
                .where(self._held(claim, now))
                .values(
                    failure_count=0,
                    last_error=None,
                    next_refresh_at=next_check_at,
                    lease_owner=None,
                    lease_expires_at=None,
                )
            )
            if res.rowcount != 1:
                raise ConflictError(
                    f"the lease on token {claim.token_id!r} is no longer held by {claim.owner!r}"
                )
            self._event(
                conn,
                EventType.TOKEN_CHECKED,
                now=now,
                app_id=claim.app_id,
                account_id=claim.account_id,
                data={"token_id": claim.token_id, **data},
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
            res = conn.execute(
                sa.update(Token)
                .where(self._held(claim, now))
                .values(
                    failure_count=Token.failure_count + 1,
                    last_error=text,
                    next_refresh_at=next_attempt_at,
                    lease_owner=None,
                    lease_expires_at=None,
                )
                .returning(Token.failure_count)
            )
            count = res.scalar_one_or_none()
            if count is None:
                raise ConflictError(
                    f"the lease on token {claim.token_id!r} is no longer held by {claim.owner!r}"
                )
            self._event(
                conn,
                EventType.REFRESH_FAILED,
                now=now,
                app_id=claim.app_id,
                account_id=claim.account_id,
                data={"token_id": claim.token_id, "error": text, "failure_count": count},
            )
        return int(count)

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

    # -- account lifecycle --------------------------------------------------------------------

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

    # -- keys ---------------------------------------------------------------------------------

    def keys_status(self) -> list[KeyStatus]:
        """How many sealed rows each key id still holds (what ``igtoken keys status`` shows)."""
        return rotation.keys_status(self._db, self.keyring)

    def rotate_keys(
        self,
        *,
        now: datetime,
        target_key_id: str | None = None,
        batch_size: int = 500,
        on_batch: Callable[[int, int], None] | None = None,
    ) -> RotationReport:
        """Re-encrypt every sealed row under ``target_key_id`` (default: the active key), online.

        Short transactions of ``batch_size`` rows, so reads and refreshes go on
        meanwhile. Ends with a ``key_rotated`` event.
        """
        report = rotation.rotate(
            self._db,
            self.keyring,
            token_aad=token_aad,
            secret_aad=app_secret_aad,
            target_key_id=target_key_id,
            batch_size=batch_size,
            on_batch=on_batch,
        )
        with self._db.write() as conn:
            self._event(
                conn,
                EventType.KEY_ROTATED,
                now=now,
                data={
                    "key_id": report.target_key_id,
                    "tokens": report.tokens,
                    "app_secrets": report.app_secrets,
                },
            )
        return report

    # -- events -------------------------------------------------------------------------------

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

    def append_event(
        self,
        type_: EventType | str,
        *,
        now: datetime,
        app_id: str | None = None,
        account_id: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> EventRecord:
        """Append an audit event. ``data`` must be plain JSON and hold no token or secret."""
        _check_aware("now", now)
        if not str(type_) or len(str(type_)) > 32:
            raise ValueError("event type must be 1–32 characters")
        payload = _check_event_data(data)
        with self._db.write() as conn:
            event_id = self._event(conn, type_, now=now, app_id=app_id, account_id=account_id, data=payload)
        return EventRecord(event_id, now, str(type_), app_id, account_id, payload)

    def events(
        self,
        *,
        account_id: str | None = None,
        app_id: str | None = None,
        types: Iterable[EventType | str] | None = None,
        after_id: int | None = None,
        since: datetime | None = None,
        limit: int = 100,
    ) -> list[EventRecord]:
        """Events in order of appending, filtered; page with ``after_id``."""
        stmt = sa.select(Event).order_by(Event.id).limit(limit)
        if account_id is not None:
            stmt = stmt.where(Event.account_id == account_id)
        if app_id is not None:
            stmt = stmt.where(Event.app_id == app_id)
        if types is not None:
            stmt = stmt.where(Event.type.in_([str(t) for t in types]))
        if after_id is not None:
            stmt = stmt.where(Event.id > after_id)
        if since is not None:
            stmt = stmt.where(Event.at >= since)
        with self._db.read() as conn:
            rows = conn.execute(stmt).all()
        return [EventRecord(r.id, r.at, r.type, r.app_id, r.account_id, dict(r.data)) for r in rows]


def _account_record(row: AnyRow) -> AccountRecord:
    return AccountRecord(
        id=row.id,
        app_id=row.app_id,
        ig_user_id=row.ig_user_id,
        app_scoped_id=row.app_scoped_id,
        username=row.username,
        account_type=AccountType(row.account_type) if row.account_type else None,
        scopes=tuple(row.scopes),
        status=AccountStatus(row.status),
        status_reason=row.status_reason,
        created_at=row.created_at,
        updated_at=row.updated_at,
        page_id=row.page_id,
        page_name=row.page_name,
        fb_user_id=row.fb_user_id,
        data_access_expires_at=row.data_access_expires_at,
    )
