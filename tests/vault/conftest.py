"""Vault fixtures: one contract suite over SQLite (a temp file) and PostgreSQL (a private database)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from igtoken.core.models import AccessToken, AccountType, Profile, TokenKind
from igtoken.core.secret import Secret
from igtoken.vault import KeyRing, Vault
from igtoken.vault.crypto import generate_key_material
from igtoken.vault.engine import create_vault_engine
from igtoken.vault.migrate import upgrade
from igtoken.vault.models import Base
from tests.support.postgres import PG_SKIP, PG_URL, fresh_pg_database  # noqa: F401 - the vault tests import them from here

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@contextmanager
def fresh_database(backend: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of either kind, as a URL."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / f'vault-{secrets.token_hex(3)}.db'}"
    else:
        with fresh_pg_database() as url:
            yield url


@pytest.fixture(scope="session")
def _pg_contract_url() -> Iterator[str]:
    """One migrated PostgreSQL database for the whole contract suite; tests truncate it."""
    with fresh_pg_database() as url:
        upgrade(url)
        yield url


def make_keyring(*ids: str) -> KeyRing:
    """A key ring with fresh keys; the first id is active."""
    ids = ids or ("k1",)
    return KeyRing({kid: generate_key_material() for kid in ids}, active=ids[0])


@pytest.fixture
def keyring() -> KeyRing:
    """Two keys, ``k1`` active, ``k2`` spare."""
    return KeyRing({"k1": generate_key_material(), "k2": generate_key_material()}, active="k1")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """``sqlite`` or ``postgres``."""
    return str(request.param)


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A migrated, empty database of the current backend."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'vault.db'}"
        upgrade(url)
        yield url
        return
    url = request.getfixturevalue("_pg_contract_url")
    engine = sa.create_engine(url, poolclass=NullPool)
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    engine.dispose()
    yield url


@pytest.fixture
def vault(db_url: str, keyring: KeyRing) -> Iterator[Vault]:
    """A vault on the current backend."""
    v = Vault(create_vault_engine(db_url), keyring)
    yield v
    v.close()


def token(value: str, *, at: datetime = T0, kind: TokenKind = TokenKind.IG_LONG) -> AccessToken:
    """A long-lived token issued at ``at``."""
    return AccessToken(
        value=Secret(value),
        kind=kind,
        issued_at=at,
        expires_at=at + timedelta(days=60) if kind is not TokenKind.FB_PAGE else None,
        scopes=("instagram_business_basic",),
    )


def profile(user_id: str = "17841400000000001", username: str = "alice.shop") -> Profile:
    """A business account profile."""
    return Profile(
        user_id=user_id, username=username, account_type=AccountType.BUSINESS, app_scoped_id="9" + user_id
    )


@pytest.fixture
def app_name(vault: Vault) -> str:
    """An app registered in the vault."""
    vault.add_app(
        "shop",
        instagram_app_id="1234567890",
        app_secret=Secret("app-secret-0f9e8d7c6b5a"),
        redirect_uris=["https://example.test/callback"],
        default_scopes=["instagram_business_basic"],
        now=T0,
    )
    return "shop"


@pytest.fixture
def connect(vault: Vault, app_name: str) -> Callable[..., str]:
    """Connect an account with a token; returns the account id."""

    def _connect(value: str = "IGAAtoken-alice-1", user_id: str = "17841400000000001", **kw: object) -> str:
        acct = vault.save_login(app_name, profile(user_id), token(value), now=T0, **kw)  # type: ignore[arg-type]
        return acct.id

    return _connect
