"""`igtoken export` / `igtoken import`: the whole vault, sealed with a passphrase, moved elsewhere."""

from __future__ import annotations

import json
import os
import secrets
from base64 import b64encode
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from igtoken.emulator import demo
from igtoken.testing import RunningEmulator
from igtoken.vault.engine import normalize_url
from tests.support.cli import data_dirs, invoke, seed_account

PASSPHRASE = "correct horse battery staple"
PG_URL = os.environ.get("IGTOKEN_TEST_DATABASE_URL")


@pytest.fixture(autouse=True)
def _passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IGTOKEN_EXPORT_PASSPHRASE", PASSPHRASE)


def move_home(monkeypatch: pytest.MonkeyPatch, where: Path) -> None:
    """From now on igtoken runs as in another user's fresh home (new database, new key file)."""
    for name, value in data_dirs(where).items():
        monkeypatch.setenv(name, value)


def exported(tmp_path: Path, registered: str, emulator: RunningEmulator) -> tuple[Path, str]:
    """A vault with app 'shop' and one account, exported; returns the file and the account's token."""
    seed_account(emulator, age=timedelta(days=2), due=False)
    token = invoke(["token"]).stdout.strip()
    assert token.startswith("IG")
    out = tmp_path / "vault.igtoken"
    result = invoke(["export", "--output", str(out)])
    assert result.exit_code == 0, result.stderr
    assert "Next, on the other side: igtoken import" in result.stdout
    return out, token


def test_export_holds_nothing_in_clear(tmp_path: Path, registered: str, emulator: RunningEmulator) -> None:
    out, token = exported(tmp_path, registered, emulator)
    raw = out.read_bytes()
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    for clear in (token, demo.DEMO_IG_APP_SECRET, demo.DEMO_BUSINESS, "shop", registered):
        assert clear.encode() not in raw, clear
        assert b64encode(clear.encode())[:12] not in raw
    header = json.loads(raw)["header"]
    assert header["kdf"]["name"] == "scrypt" and header["kdf"]["n"] >= 2**15
    assert header["cipher"]["name"] == "AES-256-GCM"
    again = invoke(["export", "--output", str(out)])
    assert again.exit_code == 6 and "--force" in again.stderr


def test_import_into_another_home_gives_the_same_token(
    tmp_path: Path, registered: str, emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, token = exported(tmp_path, registered, emulator)
    events_before = json.loads(invoke(["events", "--json"]).stdout)["events"]
    old_key = json.loads(invoke(["keys", "status", "--json"]).stdout)["active_key_id"]
    move_home(monkeypatch, tmp_path / "elsewhere")
    result = invoke(["import", str(out), "--json"])
    assert result.exit_code == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["counts"]["apps"] == 1 and body["counts"]["accounts"] == 1 and body["key_id"] != old_key
    assert invoke(["token"]).stdout.strip() == token
    assert invoke(["token", "demo_business", "--app", "shop"]).stdout.strip() == token
    shown = json.loads(invoke(["accounts", "show", "--json"]).stdout)
    assert shown["token"]["next_refresh_at"] is not None and shown["app"] == "shop"
    events = json.loads(invoke(["events", "--json"]).stdout)["events"]
    assert [e["type"] for e in events][: len(events_before)] == [e["type"] for e in events_before]
    keys = json.loads(invoke(["keys", "status", "--json"]).stdout)["keys"]
    assert {k["key_id"] for k in keys if k["tokens"]} == {body["key_id"]}
    # A second import into the now full vault is refused; nothing changes.
    twice = invoke(["import", str(out)])
    assert twice.exit_code == 5 and "empty vault" in twice.stderr


def test_wrong_passphrase_tampering_and_other_files(
    tmp_path: Path, registered: str, emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, _ = exported(tmp_path, registered, emulator)
    move_home(monkeypatch, tmp_path / "elsewhere")
    monkeypatch.setenv("IGTOKEN_EXPORT_PASSPHRASE", "not the passphrase")
    wrong = invoke(["import", str(out)])
    assert wrong.exit_code == 5 and "wrong passphrase" in wrong.stderr
    monkeypatch.setenv("IGTOKEN_EXPORT_PASSPHRASE", PASSPHRASE)
    body = json.loads(out.read_text())
    body["header"]["kdf"]["n"] = 2**14  # a weaker KDF than the one sealed: refused
    weakened = tmp_path / "weak.igtoken"
    weakened.write_text(json.dumps(body))
    assert invoke(["import", str(weakened)]).exit_code == 5
    other = tmp_path / "other.json"
    other.write_text('{"hello": 1}')
    refused = invoke(["import", str(other)])
    assert refused.exit_code == 6 and "not an igtoken vault export" in refused.stderr
    monkeypatch.setenv("IGTOKEN_EXPORT_PASSPHRASE", "short")
    short = invoke(["export", "--output", str(tmp_path / "short.igtoken")])
    assert short.exit_code == 6 and "at least 8 characters" in short.stderr
    monkeypatch.delenv("IGTOKEN_EXPORT_PASSPHRASE")
    prompted = invoke(["import", str(out)], input=f"{PASSPHRASE}\n")
    assert prompted.exit_code == 0, prompted.stderr
    assert (
        json.loads(invoke(["accounts", "list", "--json"]).stdout)["accounts"][0]["username"]
        == "demo_business"
    )


@contextmanager
def fresh_pg_database() -> Iterator[str]:
    """A new, randomly named PostgreSQL database, dropped afterwards."""
    if not PG_URL:
        pytest.skip("IGTOKEN_TEST_DATABASE_URL is not set; PostgreSQL tests run where it is (CI sets it)")
    base = normalize_url(PG_URL)
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    name = f"igtoken_test_{secrets.token_hex(6)}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.mark.postgres
def test_import_into_postgresql_under_other_keys(
    tmp_path: Path, registered: str, emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From the embedded SQLite vault to PostgreSQL with IGTOKEN_KEYS: same token, new key."""
    out, token = exported(tmp_path, registered, emulator)
    with fresh_pg_database() as url:
        move_home(monkeypatch, tmp_path / "pg-home")
        monkeypatch.setenv("IGTOKEN_DATABASE_URL", url)
        monkeypatch.setenv("IGTOKEN_KEYS", f"pg1:{b64encode(os.urandom(32)).decode()}")
        assert invoke(["db", "upgrade"]).exit_code == 0
        result = invoke(["import", str(out)])
        assert result.exit_code == 0, result.stderr
        assert "sealed under key pg1" in result.stdout
        assert invoke(["token"]).stdout.strip() == token
        keys = json.loads(invoke(["keys", "status", "--json"]).stdout)["keys"]
        assert [(k["key_id"], k["tokens"], k["app_secrets"]) for k in keys] == [("pg1", 1, 1)]
        engine = sa.create_engine(url, poolclass=NullPool)
        with engine.connect() as conn:
            blob = b"".join(r[0] for r in conn.exec_driver_sql("SELECT ciphertext FROM tokens"))
            assert token.encode() not in blob
        engine.dispose()


def test_import_refuses_the_sandbox(tmp_path: Path, registered: str, emulator: RunningEmulator) -> None:
    out, _ = exported(tmp_path, registered, emulator)
    refused = invoke(["--sandbox", "import", str(out)])
    assert refused.exit_code == 6 and "igtoken import" in refused.stderr
