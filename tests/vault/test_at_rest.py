"""Nothing readable at rest: the raw SQLite file and a PostgreSQL dump hold no token or app secret."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa

from igtoken.core.exceptions import DecryptionError, MissingKeyError
from igtoken.core.secret import Secret
from igtoken.vault import Vault
from igtoken.vault.engine import create_vault_engine, normalize_url
from igtoken.vault.models import Base

from .conftest import T0, fresh_pg_database, make_keyring, profile, token

KNOWN_TOKEN = "IGAAKnownPlaintextToken-4f1c9b2e7d6a5c3b"
KNOWN_SECRET = "KnownAppSecret-9a8b7c6d5e4f3a2b"


def _fill(vault: Vault) -> str:
    vault.add_app(
        "rest",
        instagram_app_id="42",
        app_secret=Secret(KNOWN_SECRET),
        redirect_uris=["https://x.test/cb"],
        now=T0,
    )
    acct = vault.save_login("rest", profile(), token(KNOWN_TOKEN), now=T0, next_refresh_at=T0)
    (claim,) = vault.claim_due(now=T0, owner="w")
    vault.record_refresh_success(claim, token(KNOWN_TOKEN + "-refreshed"), now=T0, next_refresh_at=None)
    vault.rotate_keys(now=T0, target_key_id="k2")
    return acct.id


def _assert_absent(blob: bytes) -> None:
    for needle in (KNOWN_TOKEN, KNOWN_SECRET):
        assert needle.encode() not in blob
        assert needle.encode("utf-16-le") not in blob


def test_sqlite_file_holds_no_plaintext(tmp_path: Path) -> None:
    """Every byte of the SQLite database, WAL included, is searched for the token: not found."""
    url = f"sqlite:///{tmp_path / 'rest.db'}"
    vault = Vault.open(url, make_keyring("k1", "k2"), auto_upgrade=True)
    _fill(vault)
    blob = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("rest.db"))
    assert len(blob) > 10_000
    vault.close()
    _assert_absent(blob)
    _assert_absent(b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("rest.db")))


def test_copied_database_without_key_file_reveals_nothing(tmp_path: Path) -> None:
    """A copy of the database opened without its key gets MissingKeyError, never a token."""
    url = f"sqlite:///{tmp_path / 'rest.db'}"
    vault = Vault.open(url, make_keyring("k1", "k2"), auto_upgrade=True)
    account_id = _fill(vault)
    vault.close()
    stolen = tmp_path / "stolen"
    stolen.mkdir()
    shutil.copy(tmp_path / "rest.db", stolen / "rest.db")
    thief = Vault.open(f"sqlite:///{stolen / 'rest.db'}", make_keyring("guess"))
    with pytest.raises(MissingKeyError, match="'k2'"):
        thief.current_token(account_id)
    with pytest.raises(MissingKeyError):
        thief.get_app("rest")
    thief.close()
    # Same key ids, other key material: the ciphertext does not authenticate.
    guesser = Vault.open(f"sqlite:///{stolen / 'rest.db'}", make_keyring("k2", "k1"))
    with pytest.raises(DecryptionError):
        guesser.current_token(account_id)
    guesser.close()


@pytest.mark.postgres
def test_postgres_dump_holds_no_plaintext() -> None:
    """A full pg_dump of the vault database does not contain the token or the app secret."""
    with fresh_pg_database() as db_url:
        vault = Vault.open(db_url, make_keyring("k1", "k2"), auto_upgrade=True)
        try:
            _fill(vault)
            blob = _dump(vault)
        finally:
            vault.close()
    _assert_absent(blob)


def _dump(vault: Vault) -> bytes:
    url = normalize_url(vault.engine.url).set(drivername="postgresql")
    pg_dump = shutil.which("pg_dump")
    if pg_dump is not None:
        result = subprocess.run(
            [pg_dump, "--no-owner", "--data-only", f"--dbname={url.render_as_string(hide_password=False)}"],
            capture_output=True,
            check=True,
            timeout=60,
        )
        blob = result.stdout
        assert b"COPY public.tokens" in blob
    else:
        engine = create_vault_engine(vault.engine.url)
        with engine.connect() as conn:
            blob = b"".join(
                repr(conn.execute(sa.select(t)).all()).encode() for t in Base.metadata.sorted_tables
            )
        engine.dispose()
    return blob
