"""Opening the embedded default and a configured vault."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from igtoken.core.exceptions import ConfigurationError
from igtoken.vault import EmbeddedPaths, open_vault
from igtoken.vault.crypto import generate_key_material
from igtoken.vault.engine import normalize_url


def test_embedded_first_run_creates_key_file_apart(tmp_path: Path) -> None:
    """The first embedded run migrates the database and creates a 0600 key file elsewhere, and says where."""
    paths = EmbeddedPaths(
        database=tmp_path / "data" / "igtoken.db", key_file=tmp_path / "config" / "keys.json"
    )
    first = open_vault(embedded=paths)
    try:
        assert paths.database.exists()
        assert paths.key_file.parent != paths.database.parent
        assert stat.S_IMODE(os.stat(paths.key_file).st_mode) == 0o600
        assert first.key_file_created
        notice = first.notice()
        assert notice is not None and str(paths.key_file) in notice
        assert first.vault.list_accounts() == []
    finally:
        first.vault.close()
    second = open_vault(embedded=paths)
    assert not second.key_file_created and second.notice() is None
    second.vault.close()


def test_embedded_with_explicit_keys_creates_no_file(tmp_path: Path) -> None:
    """IGTOKEN_KEYS given: no key file is created."""
    paths = EmbeddedPaths(database=tmp_path / "d.db", key_file=tmp_path / "keys.json")
    opened = open_vault(keys=f"k1:{generate_key_material().reveal()}", embedded=paths)
    opened.vault.close()
    assert not paths.key_file.exists()
    assert opened.vault.keyring.active_key_id == "k1"


def test_configured_database_needs_keys(tmp_path: Path) -> None:
    """A configured database with no keys is a configuration error naming the settings."""
    with pytest.raises(ConfigurationError, match="IGTOKEN_KEYS"):
        open_vault(f"sqlite:///{tmp_path / 'x.db'}")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg"),
        ("postgres://u@h/db", "postgresql+psycopg"),
        ("sqlite:////tmp/x.db", "sqlite"),
    ],
)
def test_url_normalization(url: str, expected: str) -> None:
    """PostgreSQL URLs always use psycopg 3."""
    assert normalize_url(url).drivername == expected


@pytest.mark.parametrize("url", ["mysql://u@h/db", "sqlite://", "postgresql+psycopg2://u@h/db", "::"])
def test_url_rejected(url: str) -> None:
    """Unsupported databases, drivers and in-memory SQLite are refused clearly."""
    with pytest.raises(ConfigurationError):
        normalize_url(url)
