"""The encrypted token vault: SQLite or PostgreSQL, AES-256-GCM under named, rotatable keys.

Start with :func:`open_vault` (what the CLI and service call) or
:meth:`Vault.open`; async code wraps the result in :class:`AsyncVault`.
"""

from __future__ import annotations

from igtoken.vault.aio import AsyncVault
from igtoken.vault.crypto import KeyRing, keyring_from_file, load_or_create_key_file, parse_keys
from igtoken.vault.lock import worker_lock
from igtoken.vault.migrate import downgrade, upgrade
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
from igtoken.vault.repository import Vault
from igtoken.vault.setup import EmbeddedPaths, OpenedVault, open_vault

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
