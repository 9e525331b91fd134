"""The encrypted token vault: SQLite or PostgreSQL, AES-256-GCM under named, rotatable keys.

Start with :func:`open_vault` (what the CLI and service call) or
:meth:`Vault.open`; async code wraps the result in :class:`AsyncVault`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from igtoken.core.lazy import lazy_exports
from igtoken.vault.crypto import KeyRing, keyring_from_file, load_or_create_key_file, parse_keys
from igtoken.vault.lock import worker_lock
from igtoken.vault.records import (
    AccountRecord,
    AccountStatus,
    ApiKeyRecord,
    AppRecord,
    Claim,
    ConnectLinkRecord,
    DeletionRequestRecord,
    DeletionStatus,
    EventRecord,
    EventType,
    KeyStatus,
    OAuthStateRecord,
    RotationReport,
    StoredToken,
    TokenInfo,
    WebhookDeliveryRecord,
    WebhookStatus,
)
from igtoken.vault.setup import EmbeddedPaths, OpenedVault, open_vault

if TYPE_CHECKING:
    from igtoken.vault.aio import AsyncVault
    from igtoken.vault.migrate import downgrade, upgrade
    from igtoken.vault.repository import Vault

__all__ = [
    "AccountRecord",
    "AccountStatus",
    "ApiKeyRecord",
    "AppRecord",
    "AsyncVault",
    "Claim",
    "ConnectLinkRecord",
    "DeletionRequestRecord",
    "DeletionStatus",
    "EmbeddedPaths",
    "EventRecord",
    "EventType",
    "KeyRing",
    "KeyStatus",
    "OAuthStateRecord",
    "OpenedVault",
    "RotationReport",
    "StoredToken",
    "TokenInfo",
    "Vault",
    "WebhookDeliveryRecord",
    "WebhookStatus",
    "downgrade",
    "keyring_from_file",
    "load_or_create_key_file",
    "open_vault",
    "parse_keys",
    "upgrade",
    "worker_lock",
]

# Imported on first use: the repository needs SQLAlchemy, the async adapter anyio and migrations
# Alembic; none of them is wanted by ``igtoken token``'s quick read (see igtoken.vault.quickread).
_LAZY: dict[str, str] = {
    "AsyncVault": "igtoken.vault.aio",
    "Vault": "igtoken.vault.repository",
    "downgrade": "igtoken.vault.migrate",
    "upgrade": "igtoken.vault.migrate",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
