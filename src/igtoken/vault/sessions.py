"""Dashboard sessions ended server-side, shared by every service instance using the vault.

The session itself lives in a signed cookie; signing out used to forget it only in the
browser, so a copy of the cookie kept working until it expired (12 hours). Signing out now
records the session's id (its SHA-256) here until the cookie would have expired anyway,
and the service refuses a cookie whose session is recorded.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from igtoken.vault._db import Database, sha256_hex
from igtoken.vault.models import RevokedSession

__all__ = ["RevokedSessions"]


class RevokedSessions:
    """Revoked dashboard session ids, each kept until its cookie could no longer be valid."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def revoke(self, session_id: str, *, now: datetime, expires_at: datetime) -> None:
        """Record ``session_id`` as ended until ``expires_at``; expired records are dropped on the way."""
        if expires_at <= now:
            return  # its cookie is already too old to be accepted
        digest = sha256_hex(session_id)
        with self._db.write() as conn:
            conn.execute(sa.delete(RevokedSession).where(RevokedSession.expires_at <= now))
            conn.execute(
                self._db.insert(RevokedSession)
                .values(digest=digest, revoked_at=now, expires_at=expires_at)
                .on_conflict_do_nothing(index_elements=["digest"])
            )

    def is_revoked(self, session_id: str) -> bool:
        """Whether ``session_id`` was ended (and the record is still kept)."""
        digest = sha256_hex(session_id)
        with self._db.read() as conn:
            return (
                conn.scalar(sa.select(RevokedSession.digest).where(RevokedSession.digest == digest))
                is not None
            )
