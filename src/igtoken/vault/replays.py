"""Meta ``signed_request`` values already acted on, shared by every instance using the vault.

A signed_request verifies for an hour after it was issued, so anyone who saw one could
send it again. Recording its SHA-256 with an insert that only the first caller wins
(``INSERT … ON CONFLICT DO NOTHING`` on the primary key) makes "seen before" a fact of
the database rather than of one process's memory.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

import sqlalchemy as sa

from igtoken.vault._db import Database
from igtoken.vault.models import SeenSignedRequest

__all__ = ["SeenSignedRequests"]


def _digest(signed_request: str) -> str:
    return hashlib.sha256(signed_request.strip().encode("utf-8")).hexdigest()


class SeenSignedRequests:
    """First-sight registry of signed_requests, each remembered until it could no longer verify."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def first_sight(self, signed_request: str, *, now: datetime, expires_at: datetime) -> bool:
        """Record ``signed_request``; ``False`` if it was recorded before and is still remembered.

        Rows past ``expires_at`` are dropped on the way, so the table stays as small as
        the traffic of the last hour or so.
        """
        if expires_at <= now:
            raise ValueError("a signed_request must be remembered past now")
        digest = _digest(signed_request)
        with self._db.write() as conn:
            conn.execute(sa.delete(SeenSignedRequest).where(SeenSignedRequest.expires_at <= now))
            res = conn.execute(
                self._db.insert(SeenSignedRequest)
                .values(digest=digest, seen_at=now, expires_at=expires_at)
                .on_conflict_do_nothing(index_elements=["digest"])
                .returning(SeenSignedRequest.digest)
            )
            # RETURNING, not rowcount: the driver may not report a count for ON CONFLICT inserts.
            return res.first() is not None

    def count(self) -> int:
        """How many signed_requests are remembered (expired ones included until the next write)."""
        with self._db.read() as conn:
            return int(conn.scalar(sa.select(sa.func.count()).select_from(SeenSignedRequest)) or 0)
