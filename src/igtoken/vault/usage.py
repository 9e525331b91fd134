"""The last usage figures Meta reported for each account, for the dashboard.

Meta's ``X-App-Usage`` and ``X-Business-Use-Case-Usage`` headers say how close an app and an
account are to the rate limits. The metrics keep them per process; here the latest figures of
an account are kept in the vault, so every replica's dashboard shows the same, after restarts too.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from igtoken.vault._db import Database
from igtoken.vault.models import Account, AccountUsage

__all__ = ["AccountUsages", "UsageRecord"]

#: The longest figure name kept (Meta's are ``app_call_count``, ``business_total_cputime``, …).
_MAX_KIND = 64


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """An account's last usage: percent of Meta's limit by kind, and when Meta said so."""

    account_id: str
    figures: Mapping[str, float]
    observed_at: datetime


class AccountUsages:
    """Each account's last usage figures, one row per account, overwritten."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def record(self, account_id: str, figures: Mapping[str, float], *, now: datetime) -> None:
        """Keep ``figures`` (percent by kind) as the account's last usage; an unknown account is ignored.

        Raises:
            ValueError: a kind that is empty or too long, or a figure that is not a finite number >= 0.
        """
        clean: dict[str, float] = {}
        for kind, value in figures.items():
            if not kind or len(kind) > _MAX_KIND:
                raise ValueError(f"a usage kind must be 1–{_MAX_KIND} characters, got {kind!r}")
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or value < 0
            ):
                raise ValueError(
                    f"usage figure {kind!r} must be a finite number of percent >= 0, got {value!r}"
                )
            clean[kind] = float(value)
        with self._db.write() as conn:
            # An account deleted meanwhile has nothing to show the usage on: skip rather than fail the call.
            if conn.scalar(sa.select(Account.id).where(Account.id == account_id)) is None:
                return
            insert = self._db.insert(AccountUsage).values(
                account_id=account_id, figures=clean, observed_at=now
            )
            conn.execute(
                insert.on_conflict_do_update(
                    index_elements=["account_id"],
                    set_={"figures": insert.excluded.figures, "observed_at": insert.excluded.observed_at},
                )
            )

    def latest(self, account_ids: Iterable[str] | None = None) -> dict[str, UsageRecord]:
        """The last usage of each account (of ``account_ids``, or all), by account id; none known: absent."""
        stmt = sa.select(AccountUsage)
        if account_ids is not None:
            stmt = stmt.where(AccountUsage.account_id.in_(list(account_ids)))
        with self._db.read() as conn:
            rows = conn.execute(stmt).all()
        return {
            row.account_id: UsageRecord(row.account_id, dict(row.figures), row.observed_at) for row in rows
        }
