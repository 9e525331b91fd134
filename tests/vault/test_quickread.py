"""The sqlite3 quick read answers exactly as Vault.current_token does, or steps aside writing nothing."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from igtoken.core.secret import Secret
from igtoken.vault import KeyRing, Vault
from igtoken.vault.engine import create_vault_engine
from igtoken.vault.migrate import HEAD_REVISION, head_revision, upgrade
from igtoken.vault.models import Base
from igtoken.vault.quickread import SCHEMA_COLUMNS, SCHEMA_REVISION, QuickRead, read_current_token
from igtoken.vault.records import AccountRecord, StoredToken

from .conftest import T0, make_keyring, profile, token

T1 = T0 + timedelta(days=2, microseconds=123456)


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    """A migrated SQLite vault file."""
    path = tmp_path / "vault.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def sqlite_vault(db_file: Path, keyring: KeyRing) -> Iterator[Vault]:
    """The full vault on that file, with app 'shop' and account alice.shop connected."""
    v = Vault(create_vault_engine(f"sqlite:///{db_file}"), keyring)
    v.add_app(
        "shop",
        instagram_app_id="1234567890",
        app_secret=Secret("app-secret-0f9e8d7c6b5a"),
        redirect_uris=["https://example.test/callback"],
        now=T0,
        meta_app_secret=Secret("meta-secret-1a2b3c"),
    )
    v.save_login(
        "shop", profile(), token("IGAAtoken-alice-1"), now=T0, next_refresh_at=T0 + timedelta(days=5)
    )
    yield v
    v.close()


def _only(accounts: list[AccountRecord]) -> AccountRecord | None:
    return accounts[0] if len(accounts) == 1 else None


def _quick(db_file: Path, keyring: KeyRing, **overrides: object) -> QuickRead | None:
    args: dict[str, object] = {"pick": _only, "accept": lambda _stored: True, "now": T1, "reader": "cli"}
    args.update(overrides)
    return read_current_token(db_file, keyring, **args)  # type: ignore[arg-type]


def _event_rows(db_file: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(db_file) as conn:
        return conn.execute("SELECT at, type, app_id, account_id, data FROM events ORDER BY id").fetchall()


def test_same_token_and_account_as_the_full_vault(
    sqlite_vault: Vault, db_file: Path, keyring: KeyRing
) -> None:
    """The StoredToken and AccountRecord equal what Vault.current_token and list_accounts return."""
    found = _quick(db_file, keyring)
    assert found is not None
    [account] = sqlite_vault.list_accounts()
    expected = sqlite_vault.current_token(account.id)
    assert found.account == account
    assert found.stored == expected
    assert found.stored.token.value.reveal() == "IGAAtoken-alice-1"
    assert found.stored.token.expires_at == expected.token.expires_at
    assert found.stored.next_refresh_at == T0 + timedelta(days=5)


def test_writes_the_same_token_read_event(sqlite_vault: Vault, db_file: Path, keyring: KeyRing) -> None:
    """The token_read event is stored byte for byte as Vault.current_token(record_read=True) stores it."""
    [account] = sqlite_vault.list_accounts()
    before = len(_event_rows(db_file))
    assert _quick(db_file, keyring) is not None
    sqlite_vault.current_token(account.id, record_read=True, now=T1, reader="cli")
    quick_row, full_row = _event_rows(db_file)[before:]
    assert quick_row == full_row
    quick_event, full_event = sqlite_vault.events(account_id=account.id, types=["token_read"])[-2:]
    assert (quick_event.at, quick_event.data) == (full_event.at, full_event.data)
    assert quick_event.at == T1


@pytest.mark.parametrize(
    "case",
    ["other_revision", "not_accepted", "no_pick", "wrong_keys", "missing_app", "no_token", "deleted_only"],
)
def test_steps_aside_without_writing(case: str, sqlite_vault: Vault, db_file: Path, keyring: KeyRing) -> None:
    """Anything unusual returns None (the full path answers) and leaves the database as it was."""
    overrides: dict[str, object] = {}
    ring = keyring
    [account] = sqlite_vault.list_accounts()
    if case == "other_revision":
        with sqlite3.connect(db_file) as conn:
            conn.execute("UPDATE alembic_version SET version_num = '9999'")
    elif case == "not_accepted":
        overrides["accept"] = lambda _stored: False
    elif case == "no_pick":
        overrides["pick"] = lambda _accounts: None
    elif case == "wrong_keys":
        ring = make_keyring("other")
    elif case == "missing_app":
        overrides["required_apps"] = ("demo",)
    elif case == "no_token":
        with sqlite3.connect(db_file) as conn:
            conn.execute("UPDATE tokens SET is_current = 0")
    elif case == "deleted_only":
        with sqlite3.connect(db_file) as conn:
            conn.execute("UPDATE accounts SET status = 'deleted' WHERE id = ?", (account.id,))
    events = _event_rows(db_file)
    assert _quick(db_file, ring, **overrides) is None
    assert _event_rows(db_file) == events


def test_missing_database_is_never_created(tmp_path: Path) -> None:
    """A database file that does not exist gives None and is not created."""
    path = tmp_path / "absent.db"
    assert _quick(path, make_keyring()) is None
    assert not path.exists()


def test_accept_sees_the_stored_token(sqlite_vault: Vault, db_file: Path, keyring: KeyRing) -> None:
    """The accept callback is handed the decrypted StoredToken before anything is written."""
    seen: list[StoredToken] = []
    _quick(db_file, keyring, accept=lambda stored: seen.append(stored) or False)
    assert [s.token.value.reveal() for s in seen] == ["IGAAtoken-alice-1"]


def test_schema_columns_exist_in_the_models() -> None:
    """Every table and column the quick read names is in the vault's models (alembic's own table aside)."""
    for table, columns in SCHEMA_COLUMNS.items():
        if table == "alembic_version":
            continue
        assert table in Base.metadata.tables, table
        assert set(columns) <= set(Base.metadata.tables[table].columns.keys()), table


def test_schema_revision_is_the_head() -> None:
    """The quick read was written for the newest schema; a new migration makes this fail until reviewed."""
    assert SCHEMA_REVISION == HEAD_REVISION == head_revision()
