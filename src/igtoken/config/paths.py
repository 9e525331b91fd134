"""Where igtoken keeps its files by default: data and keys in different user directories.

One module so the settings (which must stay light to import) and the vault agree on every path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

APP_NAME: Final = "igtoken"


def data_dir() -> Path:
    """The user's data directory for igtoken (databases, sandbox state)."""
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def config_dir() -> Path:
    """The user's config directory for igtoken (key files): never the same as :func:`data_dir`."""
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def default_database_path() -> Path:
    """The embedded SQLite database."""
    return data_dir() / "igtoken.db"


def default_key_file_path() -> Path:
    """The embedded default's key file, apart from the database."""
    return config_dir() / "keys.json"


def sandbox_database_path() -> Path:
    """The sandbox's own database, so demo accounts never mix with real ones."""
    return data_dir() / "sandbox" / "igtoken.db"


def sandbox_key_file_path() -> Path:
    """The sandbox's own key file."""
    return config_dir() / "sandbox-keys.json"


def sandbox_emulator_state_path() -> Path:
    """The sandbox emulator's world, kept between commands."""
    return data_dir() / "sandbox" / "emulator.json"
