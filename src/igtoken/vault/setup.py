"""Opening the vault the way the CLI and the service do: the embedded default or a configured one.

The caller reads the environment and passes what it found; nothing here
looks at ``os.environ``. With no database URL, the embedded default is used:
a SQLite file in the user's data directory, migrated on first use, and a key
file in the user's config directory, created (mode 0600) on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from igtoken.config.paths import default_database_path, default_key_file_path
from igtoken.core.exceptions import ConfigurationError
from igtoken.vault.crypto import KeyRing, keyring_from_file, load_or_create_key_file, parse_keys

if TYPE_CHECKING:
    from igtoken.vault.repository import Vault

__all__ = ["EmbeddedPaths", "OpenedVault", "existing_keyring", "open_vault", "resolve_keyring"]


@dataclass(frozen=True, slots=True)
class EmbeddedPaths:
    """Where the embedded default keeps its database and its key file (deliberately apart)."""

    database: Path
    key_file: Path

    @classmethod
    def default(cls) -> EmbeddedPaths:
        """The user's data directory for the database, the user's config directory for keys."""
        return cls(database=default_database_path(), key_file=default_key_file_path())


@dataclass(frozen=True, slots=True)
class OpenedVault:
    """An open vault and where its keys came from."""

    vault: Vault
    key_file: Path | None
    key_file_created: bool

    def notice(self) -> str | None:
        """What to tell the person when a key file was just created; ``None`` otherwise."""
        if not self.key_file_created:
            return None
        return (
            f"Created a new encryption key file at {self.key_file} (mode 0600). "
            "Back it up and keep it apart from the database: without it no token can be read."
        )


def resolve_keyring(
    *, keys: str | None, key_file: Path | None, create_at: Path | None
) -> tuple[KeyRing, Path | None, bool]:
    """Keys from ``IGTOKEN_KEYS`` text, else a key file, else a key file created at ``create_at``."""
    if keys:
        return parse_keys(keys), None, False
    if key_file is not None:
        return keyring_from_file(key_file), key_file, False
    if create_at is not None:
        ring, created = load_or_create_key_file(create_at)
        return ring, create_at, created
    raise ConfigurationError(
        "no encryption keys are configured for this database",
        fix="set IGTOKEN_KEYS (kid:BASE64KEY,…) or IGTOKEN_KEY_FILE",
    )


def existing_keyring(*, keys: str | None, key_file: Path) -> KeyRing | None:
    """The keys :func:`resolve_keyring` would give the embedded default; ``None`` if it would make a file."""
    if keys:
        return parse_keys(keys)
    if not key_file.is_file():
        return None
    return keyring_from_file(key_file)


def open_vault(
    database_url: str | None = None,
    *,
    keys: str | None = None,
    key_file: Path | None = None,
    embedded: EmbeddedPaths | None = None,
    busy_timeout: float | None = None,
) -> OpenedVault:
    """Open the configured vault, or the embedded default when ``database_url`` is ``None``.

    The embedded default is migrated on first use and gets a key file if it
    has none; a configured database must already be at the current schema
    (``igtoken db upgrade``) and must be given its keys. ``busy_timeout``: on SQLite, seconds
    to wait for a lock another process holds (30 by default).
    """
    # Imported here: the repository brings SQLAlchemy, which a caller that only resolves paths
    # and keys (``igtoken token``'s quick read) should not pay for.
    from igtoken.vault.repository import Vault

    if database_url is None:
        paths = embedded or EmbeddedPaths.default()
        ring, path, created = resolve_keyring(keys=keys, key_file=key_file, create_at=paths.key_file)
        vault = Vault.open(f"sqlite:///{paths.database}", ring, auto_upgrade=True, busy_timeout=busy_timeout)
        return OpenedVault(vault, path, created)
    ring, path, created = resolve_keyring(keys=keys, key_file=key_file, create_at=None)
    return OpenedVault(Vault.open(database_url, ring, busy_timeout=busy_timeout), path, created)
