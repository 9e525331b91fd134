"""Vault export and import: a round trip onto either database, under other keys, and what is refused."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from igtoken.core.exceptions import ConfigurationError, ConflictError, DecryptionError
from igtoken.core.models import TokenKind
from igtoken.core.secret import Secret
from igtoken.vault import Vault
from igtoken.vault.engine import create_vault_engine
from igtoken.vault.migrate import upgrade
from igtoken.vault.transfer import export_vault, import_vault, seal_export, unseal_export

from .conftest import BACKENDS, T0, fresh_database, make_keyring, token

PASS = Secret("a long enough passphrase")


@pytest.mark.parametrize("target", BACKENDS)
def test_round_trip_under_another_key(
    vault: Vault, connect: Callable[..., str], target: str, tmp_path: Path
) -> None:
    account_id = connect("IGAAtoken-alice-1")
    vault.store_token(account_id, token("IGAAtoken-alice-2", at=T0), now=T0)  # the first one retires
    vault.api_keys.create("cron", now=T0)
    blob = seal_export(export_vault(vault.engine, vault.keyring), PASS, created_at=T0)
    assert b"IGAAtoken-alice" not in blob and b"app-secret" not in blob and b"alice.shop" not in blob
    with fresh_database(target, tmp_path) as url:
        upgrade(url)
        other = Vault(create_vault_engine(url), make_keyring("other"))
        try:
            counts = import_vault(other.engine, other.keyring, unseal_export(blob, PASS))
            assert counts["accounts"] == 1 and counts["tokens"] == 2 and counts["api_keys"] == 1
            assert other.current_token(account_id).token.value.reveal() == "IGAAtoken-alice-2"
            assert [t.kind for t in other.token_history(account_id)] == [TokenKind.IG_LONG] * 2
            assert other.get_app("shop").app_secret.reveal() == "app-secret-0f9e8d7c6b5a"
            assert [e.type for e in other.events()] == [e.type for e in vault.events()]
            assert {k.key_id: k.rows for k in other.keys_status()} == {"other": 3}
            with pytest.raises(ConflictError):
                import_vault(other.engine, other.keyring, unseal_export(blob, PASS))
        finally:
            other.close()


def test_wrong_passphrase_tampering_and_foreign_files(vault: Vault, connect: Callable[..., str]) -> None:
    connect()
    blob = seal_export(export_vault(vault.engine, vault.keyring), PASS, created_at=T0)
    with pytest.raises(DecryptionError):
        unseal_export(blob, Secret("another passphrase"))
    body = json.loads(blob)
    body["header"]["created_at"] = "2030-01-01T00:00:00+00:00"  # the header is authenticated too
    with pytest.raises(DecryptionError):
        unseal_export(json.dumps(body).encode(), PASS)
    body = json.loads(blob)
    body["header"]["version"] = 99
    with pytest.raises(ConfigurationError, match="version 99"):
        unseal_export(json.dumps(body).encode(), PASS)
    with pytest.raises(ConfigurationError, match="not an igtoken vault export"):
        unseal_export(b"hello", PASS)
    with pytest.raises(ConfigurationError, match="at least"):
        seal_export({}, Secret("short"), created_at=T0)
