"""Helpers for the worker tests: a vault and an emulator seeded alike.

Accounts are created in the emulator's world with its Python API, tokens are minted there, and
the same tokens are stored in the vault as ``save_login`` stores them (in bulk), scheduled as
the worker would.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from igtoken.app.runtime import Runtime
from igtoken.client.clients import AsyncClient
from igtoken.client.retry import NO_RETRY
from igtoken.config.settings import Settings
from igtoken.core.config import ClientConfig
from igtoken.core.endpoints import Endpoints
from igtoken.core.models import AccessToken, AccountType, TokenKind
from igtoken.core.secret import Secret
from igtoken.emulator import EmulatorClock, World, create_app, demo
from igtoken.refresh import RefreshPolicy, next_refresh_at
from igtoken.refresh.worker import RefreshWorker
from igtoken.testing import TEST_CLOCK_START, emulator_async_client
from igtoken.vault import AppRecord, AsyncVault, EventType, KeyRing, Vault
from igtoken.vault.crypto import generate_key_material
from igtoken.vault.engine import create_vault_engine
from igtoken.vault.migrate import upgrade
from igtoken.vault.models import Account, Event, Token
from igtoken.vault.repository import token_aad

APP_NAME = "demo"
#: The public URL the rig's worker puts in front of re-authorization links.
PUBLIC_URL = "https://igtoken.test"


@dataclass(frozen=True)
class Seeded:
    """One account as seeded: its vault id, emulator username and emulator token id."""

    account_id: str
    username: str
    ig_id: str
    token_value: str


def keyring() -> KeyRing:
    """A fresh one-key ring."""
    return KeyRing({"k1": generate_key_material()}, active="k1")


def keys_setting(ring: KeyRing) -> str:
    """The ``IGTOKEN_KEYS`` value for a ring made by :func:`keyring` (for worker subprocesses)."""
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
    """``count`` accounts with long-lived tokens of the given ages (cycled), in emulator and vault.

    ``due_now`` schedules every token for ``now`` (a backlog); otherwise each is scheduled with
    :func:`next_refresh_at`, as after a login.
    """
    policy = policy or RefreshPolicy()
    accounts = world.create_accounts(count, prefix=prefix)
    app_id = vault.get_app(APP_NAME).id
    seeded: list[Seeded] = []
    account_rows: list[dict] = []
    token_rows: list[dict] = []
    event_rows: list[dict] = []
    for i, account in enumerate(accounts):
        issued = now - ages[i % len(ages)]
        minted = world.mint_token(
            demo.DEMO_IG_APP_ID, "ig_long", account.username, issued_at=issued.timestamp()
        )
        assert minted.expires_at is not None
        token = AccessToken(
            value=Secret(minted.value),
            kind=TokenKind.IG_LONG,
            issued_at=_dt(minted.issued_at),
            expires_at=_dt(minted.expires_at),
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
        # Sealed by the vault's own key ring with its associated data, as save_login seals it.
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
        seeded.append(Seeded(account_id, account.username, account.ig_id, minted.value))
    # One transaction of executemany inserts instead of a save_login per account: seeding
    # thousands of accounts one login at a time is what made the fleet tests slow.
    with vault.engine.begin() as conn:
        for start in range(0, count, 2000):
            conn.execute(sa.insert(Account), account_rows[start : start + 2000])
            conn.execute(sa.insert(Token), token_rows[start : start + 2000])
            conn.execute(sa.insert(Event), event_rows[start : start + 2000])
    if vault.engine.dialect.name == "postgresql":
        # Statistics for the planner, as autovacuum gathers them soon after a bulk load: without
        # them it guesses the tables are nearly empty and plans the claim query as a full join.
        with vault.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE accounts, tokens")
    return seeded


def client_factory(http: object, base_url: str = "http://emulator.test"):
    """An app -> AsyncClient factory over one shared httpx client, configured as the Runtime does."""
    runtime = Runtime(Settings())
    endpoints = Endpoints.emulator(base_url)

    def make(app: AppRecord) -> AsyncClient:
        config: ClientConfig = runtime.client_config(app, endpoints=endpoints)
        return AsyncClient(config, http=http, retry=NO_RETRY)  # type: ignore[arg-type]

    return make


class Rig:
    """An emulator and a vault sharing one clock, and a worker wired to both."""

    def __init__(self, tmp_path, **worker_options) -> None:
        self.clock = EmulatorClock(TEST_CLOCK_START, frozen=True)
        self.app = create_app(clock=self.clock)
        self.world = self.app.state.world
        self.vault = open_vault(f"sqlite:///{tmp_path / 'vault.db'}", keyring())
        add_demo_app(self.vault, self.clock.now())
        self.http = emulator_async_client(self.app)
        options: dict = {
            "concurrency": 16,
            "batch_size": 200,
            "lease_seconds": 60,
            "call_timeout": 5,
            "public_url": PUBLIC_URL,
        }
        options.update(worker_options)
        self.worker = RefreshWorker(
            AsyncVault(self.vault), client_factory(self.http), clock=self.clock.now, **options
        )

    def advance(self, delta: timedelta) -> None:
        self.clock.advance(delta.total_seconds())

    async def close(self) -> None:
        await self.worker.aclose()
        await self.http.aclose()
        self.vault.close()
