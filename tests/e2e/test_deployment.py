"""docs/deployment.md is true (issue 22): the shipped systemd units verify, and the restore drill,
run exactly as printed, restores a dump into a new database and reads a token from it; without the
key the rows were sealed with, it fails naming the key."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from igtoken.core.models import AccessToken, AccountType, Profile, TokenKind
from igtoken.core.secret import Secret
from igtoken.vault import open_vault, upgrade
from igtoken.vault.crypto import generate_key_material
from igtoken.vault.engine import normalize_url

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"
DOC = ROOT / "docs" / "deployment.md"
PG_URL = os.environ.get("IGTOKEN_TEST_DATABASE_URL")
BIN = Path(sys.executable).parent


def test_the_doc_names_only_shipped_units():
    text = DOC.read_text()
    shipped = {p.name for p in UNITS.iterdir()}
    named = set(re.findall(r"deploy/systemd/([\w@.-]+\.(?:service|example))", text))
    assert named <= shipped, named - shipped
    assert {"igtoken.service", "igtoken-worker@.service", "igtoken-db-upgrade.service"} <= shipped


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_units_verify(tmp_path):
    """`systemd-analyze verify` on each unit, with ExecStart pointing at this install's igtoken."""
    igtoken = BIN / "igtoken"
    assert igtoken.exists()
    for unit in UNITS.glob("*.service"):
        text = unit.read_text()
        assert "/opt/igtoken/bin/igtoken" in text
        (tmp_path / unit.name).write_text(text.replace("/opt/igtoken/bin/igtoken", str(igtoken)))
    names = [
        tmp_path / "igtoken.service",
        tmp_path / "igtoken-db-upgrade.service",
        tmp_path / "igtoken-worker@1.service",
    ]
    result = subprocess.run(
        ["systemd-analyze", "verify", *map(str, names)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    ours = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if str(tmp_path) in line or "igtoken" in line
    ]
    assert result.returncode == 0 and ours == [], result.stdout + result.stderr


def test_units_give_in_flight_work_time_to_finish():
    service = (UNITS / "igtoken.service").read_text()
    worker = (UNITS / "igtoken-worker@.service").read_text()
    assert "IGTOKEN_WORKER=0" in service and "KillSignal=SIGTERM" in service
    assert int(re.search(r"TimeoutStopSec=(\d+)", service).group(1)) > 30  # calls to Meta take up to 30 s
    assert int(re.search(r"TimeoutStopSec=(\d+)", worker).group(1)) > 30
    assert "Restart=on-failure" in worker  # an outage longer than IGTOKEN_WORKER_MAX_OUTAGE exits 5


def drill_script() -> str:
    match = re.search(
        r"<!-- restore-drill -->\s*```sh\n(.*?)```\s*<!-- /restore-drill -->", DOC.read_text(), re.S
    )
    assert match, "the restore drill block is missing from docs/deployment.md"
    return match.group(1)


@contextmanager
def live_database() -> Iterator[str]:
    """A new PostgreSQL database as a plain postgresql:// URL (what pg_dump and igtoken both take)."""
    if not PG_URL:
        pytest.skip("IGTOKEN_TEST_DATABASE_URL is not set; PostgreSQL tests run where it is (CI sets it)")
    base = normalize_url(PG_URL)
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    name = f"igtoken_test_{secrets.token_hex(6)}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield base.set(drivername="postgresql", database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT datname FROM pg_database WHERE datname = %(n)s OR datname LIKE 'igtoken_restore_%%'",
                {"n": name},
            ).all()
            for (db,) in rows:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        admin.dispose()


def seed(url: str, keys: str) -> str:
    """One app and one connected account whose token is not due (the drill must not call Meta)."""
    upgrade(url)
    vault = open_vault(url, keys=keys).vault
    now = datetime.now(UTC)
    try:
        vault.add_app(
            "shop",
            instagram_app_id="1234567890",
            app_secret=Secret("app-secret-0f9e8d7c6b5a"),
            redirect_uris=["https://tokens.example.com/oauth/callback"],
            now=now,
        )
        token = AccessToken(
            value=Secret("IGAArestoredtoken0123456789"),
            kind=TokenKind.IG_LONG,
            issued_at=now,
            expires_at=now + timedelta(days=60),
            scopes=("instagram_business_basic",),
        )
        profile = Profile(
            user_id="17841400000000001",
            username="alice.shop",
            account_type=AccountType.BUSINESS,
            app_scoped_id="917841400000000001",
        )
        vault.save_login("shop", profile, token, now=now, next_refresh_at=now + timedelta(days=7))
    finally:
        vault.close()
    return "alice.shop"


def run_drill(url: str, keys: str, account: str, work: Path) -> subprocess.CompletedProcess[str]:
    work.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("IGTOKEN_")}
    env.update(
        IGTOKEN_DATABASE_URL=url,
        IGTOKEN_KEYS=keys,
        ACCOUNT=account,
        WORK=str(work),
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        XDG_DATA_HOME=str(work / "data"),
        XDG_CONFIG_HOME=str(work / "config"),
    )
    return subprocess.run(
        ["bash", "-c", drill_script()], env=env, capture_output=True, text=True, timeout=180
    )


@pytest.mark.postgres
@pytest.mark.skipif(shutil.which("pg_dump") is None, reason="pg_dump is not installed")
def test_the_restore_drill_runs_as_documented(tmp_path):
    old = f"k2026:{generate_key_material().reveal()}"
    with live_database() as url:
        account = seed(url, old)
        passed = run_drill(url, old, account, tmp_path)
        assert passed.returncode == 0, passed.stdout + passed.stderr
        assert f"restore drill passed: the token of {account} was read" in passed.stdout
        assert "k2026" in passed.stdout and "not configured" not in passed.stderr
        assert "IGAArestoredtoken0123456789" in (tmp_path / "account.json").read_text()

        # The same backup with only a newer key (a rotation happened, the old key was dropped):
        # the drill stops at the read, naming the missing key.
        new_only = f"k2027:{generate_key_material().reveal()}"
        failed = run_drill(url, new_only, account, tmp_path / "again")
        assert failed.returncode == 5, failed.stdout + failed.stderr
        assert "rows are sealed under key(s) not configured: k2026" in failed.stderr
        # --json: the error is the one JSON document on stdout, which the drill writes to its file.
        assert (
            "no encryption key with id 'k2026' is configured"
            in (tmp_path / "again" / "account.json").read_text()
        )
        assert "restore drill passed" not in failed.stdout
