"""Seed a vault and the emulator's world alike, for ``bench/refresh`` (no import from ``tests/``).

Accounts are created in the emulator's world with its Python API, long-lived tokens are minted
there, and the same tokens are sealed and stored in the vault in bulk, as ``save_login`` stores
them, scheduled either due now or as a login schedules them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from igtoken._models import AccessToken, AccountType, TokenKind
from igtoken._secret import Secret
from igtoken.emulator import World, demo
from igtoken.refresh import RefreshPolicy, next_refresh_at
from igtoken.vault import AppRecord, EventType, KeyRing, Vault
from igtoken.vault.crypto import generate_key_material
from igtoken.vault.engine import create_vault_engine
from igtoken.vault.migrate import upgrade
from igtoken.vault.models import Account, Event, Token
from igtoken.vault.repository import token_aad

APP_NAME = "demo"


@dataclass(frozen=True)
class Seeded:
    """One seeded account: its vault id, emulator username and IG user id."""

    account_id: str
    username: str
    ig_id: str


def keyring() -> KeyRing:
    """A fresh one-key ring."""
    return KeyRing({"k1": generate_key_material()}, active="k1")


def keys_setting(ring: KeyRing) -> str:
    """The ``IGTOKEN_KEYS`` value for ``ring`` (for the worker and naive-loop subprocesses)."""
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


def seed_fleet(
    world: World, vault: Vault, count: int, *, now: datetime, prefix: str, age: timedelta, due_now: bool
) -> list[Seeded]:
    """``count`` accounts named ``{prefix}N`` with long-lived tokens ``age`` old, in emulator and vault.

    ``due_now`` schedules every token for ``now`` (a backlog); otherwise each is scheduled with
    :func:`next_refresh_at`, as after a login (weeks ahead for a token days old).
    """
    if count < 1:
        return []
    policy = RefreshPolicy()
    app_id = vault.get_app(APP_NAME).id
    seeded: list[Seeded] = []
    account_rows: list[dict[str, Any]] = []
    token_rows: list[dict[str, Any]] = []
    event_rows: list[dict[str, Any]] = []
    issued = now - age
    for account in world.create_accounts(count, prefix=prefix):
        minted = world.mint_token(
            demo.DEMO_IG_APP_ID, "ig_long", account.username, issued_at=issued.timestamp()
        )
        assert minted.expires_at is not None
        token = AccessToken(
            value=Secret(minted.value),
            kind=TokenKind.IG_LONG,
            issued_at=datetime.fromtimestamp(minted.issued_at, tz=UTC),
            expires_at=datetime.fromtimestamp(minted.expires_at, tz=UTC),
            user_id=account.ig_id,
            scopes=tuple(minted.scopes),
        )
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
        kind = token.kind.value
        sealed = vault.keyring.encrypt(token.value, token_aad(token_id, account_id, kind))
        token_rows.append(
            {
                "id": token_id,
                "account_id": account_id,
                "kind": kind,
                "key_id": sealed.key_id,
                "nonce": sealed.nonce,
                "ciphertext": sealed.ciphertext,
                "scopes": list(token.scopes),
                "issued_at": token.issued_at,
                "expires_at": token.expires_at,
                "next_refresh_at": when,
                "failure_count": 0,
                "is_current": True,
                "created_at": now,
            }
        )
        event_rows.append(
            {
                "at": now,
                "type": str(EventType.CONNECTED),
                "app_id": app_id,
                "account_id": account_id,
                "data": {"kind": kind, "reconnected": False},
            }
        )
        seeded.append(Seeded(account_id, account.username, account.ig_id))
    with vault.engine.begin() as conn:
        for start in range(0, count, 2000):
            conn.execute(sa.insert(Account), account_rows[start : start + 2000])
            conn.execute(sa.insert(Token), token_rows[start : start + 2000])
            conn.execute(sa.insert(Event), event_rows[start : start + 2000])
    if vault.engine.dialect.name == "postgresql":
        # Planner statistics, as autovacuum would gather them soon after a bulk load.
        with vault.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE accounts, tokens, events")
    return seeded


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
