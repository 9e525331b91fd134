"""The Graph proxy's per-account throttle, shared by every service instance using the vault.

When Meta throttles an account, it says (or implies) how long to wait. Kept in one process,
that wait only held back the instance Meta answered; the others kept calling, and Meta
counts those calls against the account too. Recorded here, every instance answers 429
itself until the time has passed.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from igtoken.vault._db import Database
from igtoken.vault.models import ProxyThrottle

__all__ = ["ProxyThrottles"]


class ProxyThrottles:
    """Until when each throttled account's proxied calls are held back."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def hold(self, account_id: str, *, until: datetime, now: datetime) -> None:
        """Hold the account's calls until ``until`` (a later hold wins); past holds are dropped on the way."""
        with self._db.write() as conn:
            conn.execute(sa.delete(ProxyThrottle).where(ProxyThrottle.until <= now))
            insert = self._db.insert(ProxyThrottle).values(account_id=account_id, until=until)
            conn.execute(
                insert.on_conflict_do_update(
                    index_elements=["account_id"],
                    set_={"until": sa.func.max(ProxyThrottle.until, insert.excluded.until)}
                    if self._db.dialect == "sqlite"
                    else {"until": sa.func.greatest(ProxyThrottle.until, insert.excluded.until)},
                )
            )

    def remaining(self, account_id: str, *, now: datetime) -> float | None:
        """Seconds the account's calls are still held back; ``None`` when they are not."""
        with self._db.read() as conn:
            until = conn.scalar(sa.select(ProxyThrottle.until).where(ProxyThrottle.account_id == account_id))
        if until is None or until <= now:
            return None
        return (until - now).total_seconds()
