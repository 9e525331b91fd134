"""The audit trail (never a token) and the key status and rotation that write to it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from igtoken.vault import rotation
from igtoken.vault._store import (
    VaultStore,
    _check_aware,
    _check_event_data,
)
from igtoken.vault.crypto import app_secret_aad, token_aad
from igtoken.vault.models import Event
from igtoken.vault.records import (
    EventRecord,
    EventType,
    KeyStatus,
    RotationReport,
)


class EventLog(VaultStore):
    """Append and read events; report and rotate encryption keys."""

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
