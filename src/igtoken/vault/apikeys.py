"""Service API keys: ``igt_<prefix>_<secret>``; the SHA-256 of the whole key is stored."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final, cast

import sqlalchemy as sa

from igtoken.core.exceptions import NotFoundError
from igtoken.core.secret import Secret
from igtoken.vault._db import AnyRow, Database, new_id, record_from_row, sha256_hex
from igtoken.vault.direct import row_object
from igtoken.vault.models import ApiKey
from igtoken.vault.records import CAPABILITIES, ApiKeyRecord

__all__ = ["ApiKeys"]

_PREFIX: Final = "igt_"
#: ``last_used_at`` is refreshed at most this often, so a busy key does not write on every call.
_TOUCH_EVERY: Final = timedelta(minutes=1)
# Every API call verifies its key: the statements are built once, with bind parameters.
_KEYS = cast(sa.Table, ApiKey.__table__)
_BY_HASH = sa.select(_KEYS).where(_KEYS.c.key_hash == sa.bindparam("key_hash"))
_NAMES = tuple(c.key for c in _BY_HASH.selected_columns)
_DATES = frozenset({"created_at", "last_used_at", "revoked_at"})
_JSON = frozenset({"account_ids", "capabilities"})
_TOUCH = sa.update(_KEYS).where(_KEYS.c.id == sa.bindparam("b_id")).values(last_used_at=sa.bindparam("b_now"))


def _record(row: AnyRow) -> ApiKeyRecord:
    return record_from_row(
        ApiKeyRecord,
        row,
        account_ids=None if row.account_ids is None else tuple(row.account_ids),
        capabilities=None if row.capabilities is None else tuple(row.capabilities),
    )


class ApiKeys:
    """Create, verify, list and revoke API keys."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def create(
        self,
        name: str,
        *,
        now: datetime,
        account_ids: Sequence[str] | None = None,
        capabilities: Sequence[str] | None = None,
    ) -> tuple[ApiKeyRecord, Secret]:
        """A new key for all accounts (``account_ids=None``) or the listed ones; shown once.

        ``capabilities`` limits what it may do (:data:`~igtoken.vault.records.CAPABILITIES`);
        ``None`` allows everything.
        """
        if not name.strip():
            raise ValueError("an API key needs a name")
        if capabilities is not None:
            unknown = sorted(set(capabilities) - set(CAPABILITIES))
            if unknown:
                raise ValueError(
                    f"unknown API key capabilities: {', '.join(unknown)}; known: {', '.join(CAPABILITIES)}"
                )
        prefix = f"{_PREFIX}{secrets.token_hex(4)}"
        key = f"{prefix}_{secrets.token_urlsafe(32)}"
        key_id = new_id()
        with self._db.write() as conn:
            conn.execute(
                sa.insert(ApiKey).values(
                    id=key_id,
                    prefix=prefix,
                    key_hash=sha256_hex(key),
                    name=name,
                    account_ids=None if account_ids is None else list(account_ids),
                    capabilities=None if capabilities is None else sorted(set(capabilities)),
                    created_at=now,
                )
            )
            row = conn.execute(sa.select(ApiKey).where(ApiKey.id == key_id)).one()
        return _record(row), Secret(key)

    def verify(self, key: Secret, *, now: datetime) -> ApiKeyRecord:
        """The record of a valid key; :class:`NotFoundError` if unknown or revoked."""
        row = self._by_hash(key)
        if row is None or row.revoked_at is not None:
            raise NotFoundError("unknown or revoked API key")
        if row.last_used_at is None or now - row.last_used_at >= _TOUCH_EVERY:
            with self._db.write() as conn:
                conn.execute(_TOUCH, {"b_id": row.id, "b_now": now})
        return _record(row)

    def revoked_prefix(self, key: Secret) -> str | None:
        """The id prefix of ``key`` when it is a revoked key (for the usage alerts); ``None`` otherwise."""
        row = self._by_hash(key)
        return None if row is None or row.revoked_at is None else str(row.prefix)

    def _by_hash(self, key: Secret) -> Any:
        # Every API call looks its key up: one statement on the read path (igtoken.vault.direct),
        # never cached, so a revoked key is refused from the next request on.
        raw = self._db.read_one(_BY_HASH, {"key_hash": sha256_hex(key.reveal())})
        if raw is None:
            return None
        return row_object(raw, _NAMES, self._db.dialect, datetimes=_DATES, jsons=_JSON)

    def list_all(self) -> list[ApiKeyRecord]:
        """Every key, newest first (revoked ones too)."""
        with self._db.read() as conn:
            rows = conn.execute(sa.select(ApiKey).order_by(ApiKey.created_at.desc(), ApiKey.id)).all()
        return [_record(r) for r in rows]

    def revoke(self, key: str, *, now: datetime) -> ApiKeyRecord:
        """Revoke a key by id or prefix; revoking twice keeps the first time."""
        with self._db.write() as conn:
            where = sa.or_(ApiKey.id == key, ApiKey.prefix == key)
            conn.execute(sa.update(ApiKey).where(where, ApiKey.revoked_at.is_(None)).values(revoked_at=now))
            row = conn.execute(sa.select(ApiKey).where(where)).one_or_none()
        if row is None:
            raise NotFoundError(f"no API key with id or prefix {key!r}")
        return _record(row)
