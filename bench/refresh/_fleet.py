"""What ``bench/refresh`` asks a seeded vault (no import from ``tests/``); the seeding itself is
:mod:`igtoken.testing.fleet`, shared with the worker tests."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from igtoken.vault import EventType, Vault
from igtoken.vault.models import Account, Event, Token


def make_due(vault: Vault, prefix: str, when: datetime) -> int:
    """Schedule the current token of every account named ``{prefix}…`` for ``when``; how many."""
    accounts = sa.select(Account.id).where(Account.username.startswith(prefix, autoescape=True))
    with vault.engine.begin() as conn:
        done = conn.execute(
            sa.update(Token)
            .where(Token.account_id.in_(accounts), Token.is_current)
            .values(next_refresh_at=when)
        )
    return int(done.rowcount)


def refreshed_since(vault: Vault, prefix: str, since: datetime) -> tuple[int, int]:
    """For accounts named ``{prefix}…``: (current tokens issued at or after ``since``, accounts)."""
    with vault.engine.connect() as conn:
        fresh = conn.execute(
            sa.select(sa.func.count())
            .select_from(Token)
            .join(Account, Account.id == Token.account_id)
            .where(
                Account.username.startswith(prefix, autoescape=True),
                Token.is_current,
                Token.issued_at >= since,
            )
        ).scalar_one()
        total = conn.execute(
            sa.select(sa.func.count())
            .select_from(Account)
            .where(Account.username.startswith(prefix, autoescape=True))
        ).scalar_one()
    return int(fresh), int(total)


def failure_events_since(vault: Vault, since: datetime) -> int:
    """``refresh_failed`` and ``needs_reauth`` events recorded at or after ``since``."""
    kinds = [str(EventType.REFRESH_FAILED), str(EventType.NEEDS_REAUTH)]
    with vault.engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count()).select_from(Event).where(Event.type.in_(kinds), Event.at >= since)
            ).scalar_one()
        )
