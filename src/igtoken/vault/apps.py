"""Meta apps igtoken acts for: add, update, read, remove; their secrets sealed."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa

from igtoken.core.exceptions import (
    ConfigurationError,
    ConflictError,
    NotFoundError,
    StorageError,
)
from igtoken.core.models import FlowKind
from igtoken.core.secret import Secret
from igtoken.vault._db import AnyRow, new_id, record_from_row, resolve_app
from igtoken.vault._store import (
    _PURPOSE_INSTAGRAM,
    _PURPOSE_META,
    VaultStore,
    _check_aware,
)
from igtoken.vault.crypto import Sealed, app_secret_aad
from igtoken.vault.models import Account, App, AppSecret
from igtoken.vault.records import (
    AccountStatus,
    AppRecord,
    EventType,
)


class Keep(enum.Enum):
    """The type of :data:`KEEP`."""

    KEEP = "keep"


#: ``update_app(config_id=KEEP)``: leave the app's configuration as it is (the default).
KEEP: Final = Keep.KEEP


def _check_config_id(app: str, flow_kind: FlowKind, config_id: str | None) -> None:
    if config_id is None:
        return
    if flow_kind is not FlowKind.FACEBOOK_LOGIN:
        raise ConfigurationError(
            f"app {app!r}: config_id is a Facebook Login for Business setting; this app uses Instagram Login",
            fix="leave config_id out (Instagram Login asks for scopes)",
        )
    if not (
        isinstance(config_id, str) and config_id.isascii() and config_id.isdigit() and len(config_id) <= 32
    ):
        raise ConfigurationError(
            f"app {app!r}: config_id must be the configuration's numeric id, got {config_id!r}",
            fix="copy it from Facebook Login for Business > Configurations in the App Dashboard",
        )


class AppStore(VaultStore):
    """The ``apps`` aggregate."""

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
        config_id: str | None = None,
    ) -> AppRecord:
        """Register a Meta app; its secrets are sealed. :class:`ConflictError` if the name is taken.

        ``config_id``: a Facebook Login app's Login for Business configuration (digits).
        """
        _check_aware("now", now)
        if not name.strip():
            raise ConfigurationError("an app needs a name")
        if not instagram_app_id.strip():
            raise ConfigurationError(f"app {name!r} needs an Instagram app id")
        if not isinstance(app_secret, Secret) or not app_secret:
            raise ConfigurationError(f"app {name!r} needs its app secret, as a Secret")
        if isinstance(redirect_uris, str) or not all(isinstance(u, str) and u for u in redirect_uris):
            raise ConfigurationError(f"app {name!r}: redirect URIs must be a list of non-empty strings")
        _check_config_id(name, FlowKind(flow_kind), config_id)
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
                    config_id=config_id,
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
            app_id = resolve_app(conn, app)
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
        config_id: str | Keep | None = KEEP,
    ) -> AppRecord:
        """Replace an app's redirect URIs, default scopes and/or ``config_id`` (``None`` keeps the
        first two; :data:`KEEP` keeps the configuration, ``None`` removes it)."""
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
            app_id = resolve_app(conn, app)
            if not isinstance(config_id, Keep):
                kind = conn.scalar(sa.select(App.flow_kind).where(App.id == app_id))
                _check_config_id(app, FlowKind(str(kind)), config_id)
                values["config_id"] = config_id
            conn.execute(sa.update(App).where(App.id == app_id).values(**values))
        return self.get_app(app_id)

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
        return record_from_row(
            AppRecord,
            row,
            flow_kind=FlowKind(row.flow_kind),
            app_secret=opened[_PURPOSE_INSTAGRAM],
            meta_app_secret=opened.get(_PURPOSE_META),
            redirect_uris=tuple(row.redirect_uris),
            default_scopes=tuple(row.default_scopes),
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
            app_id = resolve_app(conn, app)
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
