"""Connect links: a URL someone opens to connect (or re-authorize) an account. Stored hashed."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from igtoken._exceptions import ConflictError, NotFoundError
from igtoken._secret import Secret
from igtoken.vault._db import AnyRow, Database, new_id, sha256_hex
from igtoken.vault.models import App, ConnectLink
from igtoken.vault.records import ConnectLinkRecord

__all__ = ["ConnectLinks"]


def _record(row: AnyRow) -> ConnectLinkRecord:
    return ConnectLinkRecord(
        id=row.id,
        app_id=row.app_id,
        account_id=row.account_id,
        scopes=tuple(row.scopes),
        label=row.label,
        created_at=row.created_at,
        expires_at=row.expires_at,
        used_at=row.used_at,
        used_by_account_id=row.used_by_account_id,
    )


class ConnectLinks:
    """Create, look up and use connect links (single use, expiring)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def create(
        self,
        app: str,
        *,
        now: datetime,
        expires_at: datetime,
        scopes: Sequence[str] = (),
        account_id: str | None = None,
        label: str | None = None,
    ) -> tuple[ConnectLinkRecord, Secret]:
        """A new link; the code (to put in the URL) is returned once, as a :class:`Secret`."""
        if expires_at <= now:
            raise ValueError("a connect link must expire after it is created")
        code = secrets.token_urlsafe(24)
        link_id = new_id()
        with self._db.write() as conn:
            app_id = conn.scalar(sa.select(App.id).where(sa.or_(App.id == app, App.name == app)))
            if app_id is None:
                raise NotFoundError(f"no app named or with id {app!r}")
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
                )
            )
        return self.get_by_id(link_id), Secret(code)

    def get(self, code: Secret) -> ConnectLinkRecord:
        """The link a code belongs to, used or expired ones too (see ``is_usable``)."""
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

    def use(self, link_id: str, *, now: datetime, account_id: str | None = None) -> ConnectLinkRecord:
        """Mark a link used; :class:`ConflictError` if it was used already or has expired."""
        with self._db.write() as conn:
            res = conn.execute(
                sa.update(ConnectLink)
                .where(ConnectLink.id == link_id, ConnectLink.used_at.is_(None), ConnectLink.expires_at > now)
                .values(used_at=now, used_by_account_id=account_id)
            )
            if res.rowcount != 1:
                exists = conn.scalar(sa.select(ConnectLink.id).where(ConnectLink.id == link_id))
                if exists is None:
                    raise NotFoundError(f"no connect link with id {link_id!r}")
                raise ConflictError("this connect link was already used or has expired")
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
