"""Connect links: a URL someone opens to connect (or re-authorize) an account. Stored hashed.

A link allows ``max_uses`` completed connections (``None``: any number) until it
expires or is revoked. Spending a use is one conditional ``UPDATE … SET uses = uses + 1``
that only matches while a use is left, so of two people finishing a single-use link
at the same instant exactly one wins, on SQLite and PostgreSQL alike.

Re-authorization links made by the service (:meth:`ConnectLinks.reauthorization`) get
a code derived from the link id with the vault's key ring, so an open one can be handed
out again without ever storing its code: the row keeps only the hash, as for every link.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final

import sqlalchemy as sa

from igtoken.core.exceptions import ConflictError, MissingKeyError, NotFoundError
from igtoken.core.secret import Secret
from igtoken.vault._db import AnyRow, Database, new_id, record_from_row, resolve_app, sha256_hex
from igtoken.vault.crypto import KeyRing
from igtoken.vault.models import Account, ConnectLink
from igtoken.vault.records import ConnectLinkRecord

__all__ = ["ConnectLinks"]

_REAUTH_LABEL: Final = b"igtoken/reauth-link/v1\x00"


def _record(row: AnyRow) -> ConnectLinkRecord:
    return record_from_row(ConnectLinkRecord, row, scopes=tuple(row.scopes))


def _why_unusable(row: AnyRow, now: datetime) -> str:
    status = _record(row).status(now)
    if status == "revoked":
        return "this connect link was revoked"
    if status == "used":
        return "this connect link was already used" + ("" if row.max_uses == 1 else " as often as allowed")
    return "this connect link has expired"


def _update_usable(
    conn: sa.Connection, link_id: str, now: datetime, *, unusable: str = "", **values: Any
) -> None:
    """Set ``values`` on a link that is still usable (unrevoked, unexpired, a use left), in one
    conditional UPDATE, so concurrent callers cannot both take its last use; otherwise
    :class:`NotFoundError` or :class:`ConflictError` (why, then ``unusable``)."""
    res = conn.execute(
        sa.update(ConnectLink)
        .where(
            ConnectLink.id == link_id,
            ConnectLink.revoked_at.is_(None),
            ConnectLink.expires_at > now,
            sa.or_(ConnectLink.max_uses.is_(None), ConnectLink.uses < ConnectLink.max_uses),
        )
        .values(**values)
    )
    if res.rowcount != 1:
        row = conn.execute(sa.select(ConnectLink).where(ConnectLink.id == link_id)).one_or_none()
        if row is None:
            raise NotFoundError(f"no connect link with id {link_id!r}")
        raise ConflictError(_why_unusable(row, now) + unusable)


class ConnectLinks:
    """Create, look up, use and revoke connect links."""

    def __init__(self, db: Database, keyring: KeyRing | None = None) -> None:
        self._db = db
        self._keyring = keyring

    def _insert(
        self,
        conn: sa.Connection,
        *,
        link_id: str,
        code: str,
        app_id: str,
        now: datetime,
        expires_at: datetime,
        scopes: Sequence[str],
        account_id: str | None,
        label: str | None,
        max_uses: int | None,
        external_id: str | None = None,
        redirect_url: str | None = None,
    ) -> None:
        conn.execute(
            sa.insert(ConnectLink).values(
                id=link_id,
                code_hash=sha256_hex(code),
                app_id=app_id,
                account_id=account_id,
                scopes=list(scopes),
                label=label,
                created_at=now,
                expires_at=expires_at,
                max_uses=max_uses,
                uses=0,
                external_id=external_id,
                redirect_url=redirect_url,
            )
        )

    def create(
        self,
        app: str,
        *,
        now: datetime,
        expires_at: datetime,
        scopes: Sequence[str] = (),
        account_id: str | None = None,
        label: str | None = None,
        max_uses: int | None = 1,
        external_id: str | None = None,
        redirect_url: str | None = None,
    ) -> tuple[ConnectLinkRecord, Secret]:
        """A new link; the code (to put in the URL) is returned once, as a :class:`Secret`.

        ``max_uses`` is how many accounts may connect through it (``None``: any number);
        a re-authorization link (``account_id``) is always single use. ``external_id`` (the
        platform's own customer id) and ``label`` are given to every account connected through it.
        ``redirect_url`` is where the success page sends the person; the caller checks it.
        """
        if expires_at <= now:
            raise ValueError("a connect link must expire after it is created")
        if max_uses is not None and max_uses < 1:
            raise ValueError("a connect link must allow at least one use (or None for any number)")
        if account_id is not None and max_uses != 1:
            raise ValueError("a re-authorization link is for one account, so it is single use")
        code = secrets.token_urlsafe(24)
        link_id = new_id()
        with self._db.write() as conn:
            app_id = resolve_app(conn, app)
            self._insert(
                conn,
                link_id=link_id,
                code=code,
                app_id=app_id,
                now=now,
                expires_at=expires_at,
                scopes=scopes,
                account_id=account_id,
                label=label,
                max_uses=max_uses,
                external_id=external_id,
                redirect_url=redirect_url,
            )
        return self.get_by_id(link_id), Secret(code)

    def _derived_code(self, link_id: str, key_id: str | None = None) -> str:
        assert self._keyring is not None
        _, mac = self._keyring.mac(_REAUTH_LABEL + link_id.encode(), key_id=key_id)
        return base64.urlsafe_b64encode(mac[:24]).decode("ascii")

    def _recover_code(self, row: AnyRow) -> str | None:
        assert self._keyring is not None
        for key_id in sorted(self._keyring.key_ids):
            try:
                code = self._derived_code(row.id, key_id)
            except MissingKeyError:
                continue
            if sha256_hex(code) == row.code_hash:
                return code
        return None

    def reauthorization(
        self,
        account_id: str,
        *,
        now: datetime,
        ttl: timedelta,
        min_remaining: timedelta | None = None,
        label: str | None = None,
    ) -> tuple[ConnectLinkRecord, Secret, bool]:
        """The account's open re-authorization link, or a new one: ``(link, code, reused)``.

        An open link is one made here, unused, unrevoked, and valid for at least
        ``min_remaining`` more (default half of ``ttl``), so the link handed out is never
        about to die. Its code is recomputed from the key ring (a link made under a key
        since removed is simply not reused). The account row is locked meanwhile, so
        two callers at once get the same link.
        """
        if self._keyring is None:
            raise RuntimeError("re-authorization links need the vault's key ring")
        if ttl <= timedelta(0):
            raise ValueError("a re-authorization link must expire after it is created")
        floor = now + (ttl / 2 if min_remaining is None else min_remaining)
        with self._db.write() as conn:
            lock = sa.select(Account.app_id, Account.scopes, Account.username).where(Account.id == account_id)
            if self._db.is_postgres:
                lock = lock.with_for_update()
            account = conn.execute(lock).one_or_none()
            if account is None:
                raise NotFoundError(f"no account with id {account_id!r}")
            open_links = conn.execute(
                sa.select(ConnectLink)
                .where(
                    ConnectLink.account_id == account_id,
                    ConnectLink.revoked_at.is_(None),
                    ConnectLink.uses == 0,
                    ConnectLink.expires_at >= floor,
                )
                .order_by(ConnectLink.created_at.desc(), ConnectLink.id)
            ).all()
            for row in open_links:
                code = self._recover_code(row)
                if code is not None:
                    return _record(row), Secret(code), False
            link_id = new_id()
            code = self._derived_code(link_id)
            who = f"@{account.username}" if account.username else account_id
            self._insert(
                conn,
                link_id=link_id,
                code=code,
                app_id=account.app_id,
                now=now,
                expires_at=now + ttl,
                scopes=tuple(account.scopes),
                account_id=account_id,
                label=label or f"re-authorization for {who}",
                max_uses=1,
            )
            row = conn.execute(sa.select(ConnectLink).where(ConnectLink.id == link_id)).one()
        return _record(row), Secret(code), True

    def get(self, code: Secret) -> ConnectLinkRecord:
        """The link a code belongs to, used, revoked or expired ones too (see ``is_usable``)."""
        with self._db.read() as conn:
            row = conn.execute(
                sa.select(ConnectLink).where(ConnectLink.code_hash == sha256_hex(code.reveal()))
            ).one_or_none()
        if row is None:
            raise NotFoundError("no such connect link")
        return _record(row)

    def get_by_id(self, link_id: str) -> ConnectLinkRecord:
        """A link by its id."""
        with self._db.read() as conn:
            row = conn.execute(sa.select(ConnectLink).where(ConnectLink.id == link_id)).one_or_none()
        if row is None:
            raise NotFoundError(f"no connect link with id {link_id!r}")
        return _record(row)

    def list_all(self, *, app_id: str | None = None) -> list[ConnectLinkRecord]:
        """Links, newest first."""
        stmt = sa.select(ConnectLink).order_by(ConnectLink.created_at.desc(), ConnectLink.id)
        if app_id is not None:
            stmt = stmt.where(ConnectLink.app_id == app_id)
        with self._db.read() as conn:
            return [_record(r) for r in conn.execute(stmt)]

    def use_in(self, conn: sa.Connection, link_id: str, *, now: datetime, account_id: str | None) -> None:
        """Spend one use inside the caller's transaction; :class:`ConflictError` if none is left.

        One conditional UPDATE: it matches only while the link is unrevoked, unexpired and
        has a use left, so concurrent callers cannot both spend the last use.
        """
        _update_usable(
            conn, link_id, now, uses=ConnectLink.uses + 1, used_at=now, used_by_account_id=account_id
        )
        if account_id is not None:
            # A connect link's external id and label go to the account it connected (a
            # re-authorization link, which has neither, leaves the account's own alone).
            link = conn.execute(
                sa.select(ConnectLink.external_id, ConnectLink.label, ConnectLink.account_id).where(
                    ConnectLink.id == link_id
                )
            ).one()
            if link.account_id is None and (link.external_id is not None or link.label is not None):
                conn.execute(
                    sa.update(Account)
                    .where(Account.id == account_id)
                    .values(external_id=link.external_id, label=link.label)
                )

    def use(self, link_id: str, *, now: datetime, account_id: str | None = None) -> ConnectLinkRecord:
        """Spend one use of a link; :class:`ConflictError` if it is used up, revoked or expired."""
        with self._db.write() as conn:
            self.use_in(conn, link_id, now=now, account_id=account_id)
        return self.get_by_id(link_id)

    def revoke(self, link_id: str, *, now: datetime) -> ConnectLinkRecord:
        """Withdraw a link: its page says so and flows already started through it cannot finish.

        :class:`ConflictError` if there is nothing to withdraw (revoked, used up or expired).
        """
        with self._db.write() as conn:
            _update_usable(conn, link_id, now, unusable="; there is nothing to revoke", revoked_at=now)
        return self.get_by_id(link_id)

    def forget_account(self, conn: sa.Connection, account_id: str) -> None:
        """Unlink an account whose data is being deleted (inside the caller's transaction)."""
        conn.execute(
            sa.update(ConnectLink).where(ConnectLink.account_id == account_id).values(account_id=None)
        )
        conn.execute(
            sa.update(ConnectLink)
            .where(ConnectLink.used_by_account_id == account_id)
            .values(used_by_account_id=None)
        )
