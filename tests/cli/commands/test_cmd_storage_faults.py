"""A locked or damaged vault file: every command exits 5 (storage) with a fix naming the lock or the damage,
not "unexpected OperationalError" with exit 1."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest

from igtoken.cli._context import AppContext
from tests.support.cli import invoke


def add_app(name: str, *flags: str):
    uri = f"https://{name}.test/cb"
    return invoke(
        [*flags, "apps", "add", name, "--app-id", "99", "--redirect-uri", uri, "--secret-env", "SHOP_SECRET"]
    )


@pytest.fixture
def vault_file(monkeypatch: pytest.MonkeyPatch) -> Path:
    """The embedded vault, created, with one app; commands wait at most 1 s for a lock."""
    monkeypatch.setenv("SHOP_SECRET", "s" * 32)
    added = invoke(
        [
            "apps",
            "add",
            "shop",
            "--app-id",
            "1234",
            "--redirect-uri",
            "https://x.test/cb",
            "--secret-env",
            "SHOP_SECRET",
        ]
    )
    assert added.exit_code == 0, added.output
    context = AppContext()
    path = Path(str(context.vault.engine.url.database))
    context.close()
    monkeypatch.setenv("IGTOKEN_DATABASE_BUSY_TIMEOUT", "1")
    return path


def test_locked_vault_exits_5_naming_the_lock(vault_file: Path) -> None:
    holder = sqlite3.connect(vault_file, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        result = add_app("other")
        elapsed = time.monotonic() - started
        as_json = add_app("third", "--json")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.exit_code == 5, result.output
    assert "locked by another process" in result.stderr
    assert "fix:" in result.stderr and "fuser" in result.stderr
    assert elapsed < 10
    error = json.loads(as_json.stdout)["error"]
    assert error["exit_code"] == 5 and error["type"] == "DatabaseLockedError"
    assert add_app("other").exit_code == 0


def test_damaged_vault_exits_5_naming_the_damage(vault_file: Path) -> None:
    with vault_file.open("r+b") as f:
        f.write(b"garbage, not a database " * 200)
    for suffix in ("-wal", "-shm"):
        Path(f"{vault_file}{suffix}").unlink(missing_ok=True)
    for args in (["apps", "list"], ["accounts", "list"]):
        result = invoke(args)
        assert result.exit_code == 5, (args, result.output)
        assert "damaged or not a SQLite database" in result.stderr
        assert "backup" in result.stderr and "integrity_check" in result.stderr


def test_token_on_a_locked_vault_exits_5_soon(vault_file: Path, tmp_path: Path) -> None:
    """`igtoken token` (quick read, then the full path) on a locked file: exit 5 within seconds."""
    from datetime import timedelta

    from igtoken.testing import run_emulator_on_loopback
    from tests.support.cli import seed_account

    with run_emulator_on_loopback() as emulator:
        seed_account(emulator, age=timedelta(days=2), due=False)
    holder = sqlite3.connect(vault_file, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        result = invoke(["token", "demo_business"])
        elapsed = time.monotonic() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.exit_code == 5, result.output
    assert "locked by another process" in result.stderr
    assert elapsed < 8
