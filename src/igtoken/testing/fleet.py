"""A vault and the emulator's world seeded alike, with many accounts at once (tests and benchmarks).

Accounts are created in the emulator's world with its Python API, long-lived tokens are minted
there, and the same tokens are sealed and stored in the vault in bulk, as ``save_login`` stores
them, scheduled either due now or as a login schedules them. Plain code, no pytest: the worker
tests (``tests/support/fleet.py``) and ``bench/refresh`` both seed through it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from igtoken.core.models import AccessToken, AccountType, TokenKind
from igtoken.core.secret import Secret
from igtoken.emulator import World, demo
from igtoken.emulator.model import Token as EmulatorToken
from igtoken.refresh import RefreshPolicy, next_refresh_at
from igtoken.vault import AppRecord, EventType, KeyRing, Vault
from igtoken.vault.crypto import generate_key_material
from igtoken.vault.engine import create_vault_engine
from igtoken.vault.migrate import upgrade
from igtoken.vault.models import Account, Event, Token
from igtoken.vault.repository import sealed_token_row

__all__ = [
    "APP_NAME",
    "Seeded",
    "add_demo_app",
    "as_access_token",
    "keyring",
    "keys_setting",
    "open_vault",
    "seed_fleet",
]

#: The name the emulator's demo Instagram app is registered under in a seeded vault.
APP_NAME = "demo"
#: Rows per bulk insert.
_CHUNK = 2000


@dataclass(frozen=True)
class Seeded:
    """One account as seeded: its vault id, emulator username and IG user id, and its token."""

    account_id: str
    username: str
    ig_id: str
    token_value: str


def keyring() -> KeyRing:
    """A fresh one-key ring."""
    return KeyRing({"k1": generate_key_material()}, active="k1")


def keys_setting(ring: KeyRing) -> str:
    """The ``IGTOKEN_KEYS`` value for ``ring`` (for worker subprocesses)."""
    return ",".join(f"{kid}:{key.reveal()}" for kid, key in ring.material().items())


def open_vault(url: str, ring: KeyRing) -> Vault:
    """Migrate ``url`` and open a vault on it."""
    upgrade(url)
    return Vault(create_vault_engine(url), ring)


def add_demo_app(vault: Vault, now: datetime) -> AppRecord:
    """Register the emulator's demo Instagram app in the vault."""
    return vault.add_app(
        APP_NAME,
        instagram_app_id=demo.DEMO_IG_APP_ID,
        app_secret=Secret(demo.DEMO_IG_APP_SECRET),
        redirect_uris=list(demo.DEMO_REDIRECT_URIS),
        now=now,
    )


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def as_access_token(minted: EmulatorToken, user_id: str) -> AccessToken:
    """A long-lived Instagram token the emulator minted, as igtoken's :class:`AccessToken` of
    the account with IG user id ``user_id`` (to store it in a vault as a login would)."""
    assert minted.expires_at is not None
    return AccessToken(
        value=Secret(minted.value),
        kind=TokenKind.IG_LONG,
        issued_at=_dt(minted.issued_at),
        expires_at=_dt(minted.expires_at),
        user_id=user_id,
        scopes=tuple(minted.scopes),
    )


def seed_fleet(
    world: World,
    vault: Vault,
    count: int,
    *,
    now: datetime,
    prefix: str = "fleet_",
    ages: Sequence[timedelta] = (timedelta(days=1, hours=1),),
    due_now: bool = False,
    policy: RefreshPolicy | None = None,
) -> list[Seeded]:
    """``count`` accounts named ``{prefix}N`` with long-lived tokens of the given ages (cycled), in
    emulator and vault.

    ``due_now`` schedules every token for ``now`` (a backlog); otherwise each is scheduled with
    :func:`next_refresh_at`, as after a login.
    """
    if count < 1:
        return []
    policy = policy or RefreshPolicy()
    app_id = vault.get_app(APP_NAME).id
    seeded: list[Seeded] = []
    account_rows: list[dict[str, Any]] = []
    token_rows: list[dict[str, Any]] = []
    event_rows: list[dict[str, Any]] = []
    for i, account in enumerate(world.create_accounts(count, prefix=prefix)):
        issued = now - ages[i % len(ages)]
        minted = world.mint_token(
            demo.DEMO_IG_APP_ID, "ig_long", account.username, issued_at=issued.timestamp()
        )
        token = as_access_token(minted, account.ig_id)
        when = now if due_now else next_refresh_at(token.issued_at, account.ig_id, policy, token.expires_at)
        account_id, token_id = str(uuid.uuid4()), str(uuid.uuid4())
        account_rows.append(
            {
                "id": account_id,
                "app_id": app_id,
                "ig_user_id": account.ig_id,
                "app_scoped_id": None,
                "username": account.username,
                "account_type": AccountType.BUSINESS.value,
                "scopes": list(token.scopes),
                "status": "active",
                "created_at": now,
                "updated_at": now,
            }
        )
        # Sealed by the vault's own key ring with its associated data, as save_login seals it.
        token_rows.append(
            sealed_token_row(
                vault.keyring,
                account_id,
                token,
                now=now,
                next_refresh_at=when,
                current=True,
                token_id=token_id,
            )
        )
        event_rows.append(
            {
                "at": now,
                "type": str(EventType.CONNECTED),
                "app_id": app_id,
                "account_id": account_id,
                "data": {"kind": token.kind.value, "reconnected": False},
            }
        )
        seeded.append(Seeded(account_id, account.username, account.ig_id, minted.value))
    # One transaction of executemany inserts instead of a save_login per account: seeding
    # thousands of accounts one login at a time is what made the fleet tests slow.
    with vault.engine.begin() as conn:
        for start in range(0, count, _CHUNK):
            conn.execute(sa.insert(Account), account_rows[start : start + _CHUNK])
            conn.execute(sa.insert(Token), token_rows[start : start + _CHUNK])
            conn.execute(sa.insert(Event), event_rows[start : start + _CHUNK])
    if vault.engine.dialect.name == "postgresql":
        # Statistics for the planner, as autovacuum gathers them soon after a bulk load: without
        # them it guesses the tables are nearly empty and plans the claim query as a full join.
        with vault.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE accounts, tokens, events")
    return seeded
