"""How every connection to a SQLite vault is set up, shared by the engine and the quick read.

Kept free of SQLAlchemy so :mod:`igtoken.vault.quickread` can use it with ``sqlite3`` alone.
"""

from __future__ import annotations

from typing import Final

__all__ = ["SQLITE_BUSY_TIMEOUT_MS", "SQLITE_CONNECT_PRAGMAS"]

SQLITE_BUSY_TIMEOUT_MS: Final = 30_000
#: Run on every new connection: WAL for concurrent readers, a long busy wait, enforced foreign keys.
SQLITE_CONNECT_PRAGMAS: Final = (
    "PRAGMA journal_mode=WAL",
    f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=NORMAL",
)
