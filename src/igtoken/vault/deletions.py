"""Data-deletion requests, tracked by a confirmation code Meta shows the person."""

from __future__ import annotations

import secrets
from datetime import datetime

import sqlalchemy as sa

from igtoken.core.exceptions import NotFoundError
from igtoken.vault._db import AnyRow, Database, clip_error, new_id, record_from_row
from igtoken.vault.models import DeletionRequest
from igtoken.vault.records import DeletionRequestRecord, DeletionStatus

__all__ = ["DeletionRequests"]


def _record(row: AnyRow) -> DeletionRequestRecord:
    return record_from_row(DeletionRequestRecord, row, status=DeletionStatus(row.status))


class DeletionRequests:
    """Create, look up and update deletion requests."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def create(
        self,
        *,
        now: datetime,
        app_id: str | None = None,
        account_id: str | None = None,
        status: DeletionStatus = DeletionStatus.RECEIVED,
    ) -> DeletionRequestRecord:
        """Record a request; its confirmation code is random and holds no personal data."""
        request_id = new_id()
        with self._db.write() as conn:
            conn.execute(
                sa.insert(DeletionRequest).values(
                    id=request_id,
                    confirmation_code=secrets.token_hex(10),
                    app_id=app_id,
                    account_id=account_id,
                    status=DeletionStatus(status).value,
                    created_at=now,
                    updated_at=now,
                    completed_at=now if status is DeletionStatus.COMPLETED else None,
                )
            )
            row = conn.execute(sa.select(DeletionRequest).where(DeletionRequest.id == request_id)).one()
        return _record(row)

    def get(self, code_or_id: str) -> DeletionRequestRecord:
        """A request by confirmation code or id."""
        with self._db.read() as conn:
            row = conn.execute(
                sa.select(DeletionRequest).where(
                    sa.or_(DeletionRequest.confirmation_code == code_or_id, DeletionRequest.id == code_or_id)
                )
            ).one_or_none()
        if row is None:
            raise NotFoundError("no deletion request with that confirmation code")
        return _record(row)

    def list_all(self, *, limit: int = 500) -> list[DeletionRequestRecord]:
        """Requests, newest first (at most ``limit``)."""
        stmt = (
            sa.select(DeletionRequest)
            .order_by(DeletionRequest.created_at.desc(), DeletionRequest.id)
            .limit(limit)
        )
        with self._db.read() as conn:
            return [_record(r) for r in conn.execute(stmt)]

    def update(
        self, request_id: str, status: DeletionStatus, *, now: datetime, detail: str | None = None
    ) -> DeletionRequestRecord:
        """Move a request on (``completed``, ``not_found``, ``failed``)."""
        done = status in (DeletionStatus.COMPLETED, DeletionStatus.NOT_FOUND)
        with self._db.write() as conn:
            res = conn.execute(
                sa.update(DeletionRequest)
                .where(DeletionRequest.id == request_id)
                .values(
                    status=DeletionStatus(status).value,
                    detail=None if detail is None else clip_error(detail),
                    updated_at=now,
                    completed_at=now if done else None,
                )
            )
            if res.rowcount != 1:
                raise NotFoundError(f"no deletion request with id {request_id!r}")
            row = conn.execute(sa.select(DeletionRequest).where(DeletionRequest.id == request_id)).one()
        return _record(row)
