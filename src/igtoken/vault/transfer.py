"""Moving a whole vault: a passphrase-sealed export file, importable under other keys or databases.

An export holds the apps (with their secrets), the accounts, every token row (current and
retired), the audit trail, the API keys (stored hashed, as in the vault) and the data-deletion
requests (so their status pages keep answering). Connect links, OAuth states, seen signed
requests and webhook deliveries are left out: they are short-lived or belong to the running
installation. Everything is sealed at once:

* the file is JSON: a clear header (format, version, KDF and its parameters, a random salt,
  the AES-GCM nonce) and the ciphertext, nothing else, so no token, secret, username or count
  can be read without the passphrase;
* the key is derived from the passphrase with scrypt (``n=2**15, r=8, p=1``, 32 bytes), and
  the payload sealed with AES-256-GCM, the header being the associated data (a header edited
  to weaken the KDF does not authenticate).

On import every secret is sealed again under the *importing* vault's active key, with the
same row ids (the associated data of a ciphertext names its row), so the file moves a vault
to another machine, another key or from SQLite to PostgreSQL. Importing goes into an empty
vault in one transaction: it all lands or nothing does.
"""

from __future__ import annotations

import base64
import json
import os
import zlib
from datetime import datetime
from typing import Any, Final, cast

import sqlalchemy as sa

from igtoken.core.exceptions import ConfigurationError, ConflictError, DecryptionError
from igtoken.core.secret import Secret
from igtoken.vault._db import Database
from igtoken.vault.crypto import KeyRing, Sealed, app_secret_aad, token_aad
from igtoken.vault.models import (
    Account,
    ApiKey,
    App,
    AppSecret,
    DeletionRequest,
    Event,
    Token,
    UTCDateTime,
)

__all__ = ["FORMAT", "export_vault", "import_vault", "seal_export", "unseal_export"]

FORMAT: Final = "igtoken-vault-export"
_VERSION: Final = 1
_SCRYPT: Final = {"n": 2**15, "r": 8, "p": 1}
_SALT_BYTES: Final = 16
_NONCE_BYTES: Final = 12
MIN_PASSPHRASE: Final = 8

#: The tables copied, parents first (the order inserts must follow).
_PLAIN_TABLES: Final = (App, Account, Event, ApiKey, DeletionRequest)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def _table(model: Any) -> sa.Table:
    return cast(sa.Table, model.__table__)


def _row_json(table: sa.Table, row: Any, *, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column in table.columns:
        if column.name in skip:
            continue
        value = getattr(row, column.name)
        out[column.name] = value.isoformat() if isinstance(value, datetime) else value
    return out


def _row_values(table: sa.Table, data: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for column in table.columns:
        if column.name not in data:
            continue
        value = data[column.name]
        if isinstance(column.type, UTCDateTime) and value is not None:
            value = datetime.fromisoformat(value)
        values[column.name] = value
    return values


def export_vault(engine: sa.Engine, keyring: KeyRing) -> dict[str, Any]:
    """Everything worth moving, secrets opened (handle the result as a secret; seal it at once)."""
    db = Database(engine)
    data: dict[str, Any] = {}
    with db.read() as conn:
        for model in _PLAIN_TABLES:
            table = _table(model)
            order = [table.c.id]
            rows = conn.execute(sa.select(table).order_by(*order)).all()
            skip = ("id",) if model is Event else ()
            data[table.name] = [_row_json(table, r, skip=skip) for r in rows]
        secrets = _table(AppSecret)
        data["app_secrets"] = [
            _row_json(secrets, r, skip=("key_id", "nonce", "ciphertext"))
            | {
                "value": keyring.decrypt(
                    Sealed(r.key_id, r.nonce, r.ciphertext), app_secret_aad(r.app_id, r.purpose)
                ).reveal()
            }
            for r in conn.execute(sa.select(secrets).order_by(secrets.c.app_id, secrets.c.purpose))
        ]
        tokens = _table(Token)
        data["tokens"] = [
            _row_json(tokens, r, skip=("key_id", "nonce", "ciphertext", "lease_owner", "lease_expires_at"))
            | {
                "value": keyring.decrypt(
                    Sealed(r.key_id, r.nonce, r.ciphertext), token_aad(r.id, r.account_id, r.kind)
                ).reveal()
            }
            for r in conn.execute(sa.select(tokens).order_by(tokens.c.created_at, tokens.c.id))
        ]
    return data


def import_vault(engine: sa.Engine, keyring: KeyRing, data: dict[str, Any]) -> dict[str, int]:
    """Write an export into an empty vault, sealing every secret under ``keyring``'s active key.

    Returns how many rows of each table were written.

    Raises:
        ConflictError: the vault already holds apps or accounts.
        ConfigurationError: ``data`` is not an igtoken export.
    """
    db = Database(engine)
    counts: dict[str, int] = {}
    try:
        with db.write() as conn:
            for model in (App, Account):
                if conn.scalar(sa.select(sa.func.count()).select_from(_table(model))):
                    raise ConflictError(
                        f"this vault already holds {_table(model).name}; import goes into an empty vault",
                        fix="point IGTOKEN_DATABASE_URL (or XDG_DATA_HOME) at a new database, "
                        "or remove what is there first",
                    )
            counts["apps"] = _insert_plain(conn, _table(App), data["apps"])
            secrets = _table(AppSecret)
            for row in data["app_secrets"]:
                values = _row_values(secrets, row)
                sealed = keyring.encrypt(Secret(row["value"]), app_secret_aad(row["app_id"], row["purpose"]))
                conn.execute(
                    sa.insert(secrets).values(
                        **values, key_id=sealed.key_id, nonce=sealed.nonce, ciphertext=sealed.ciphertext
                    )
                )
            counts["app_secrets"] = len(data["app_secrets"])
            counts["accounts"] = _insert_plain(conn, _table(Account), data["accounts"])
            tokens = _table(Token)
            for row in data["tokens"]:
                values = _row_values(tokens, row)
                sealed = keyring.encrypt(
                    Secret(row["value"]), token_aad(row["id"], row["account_id"], row["kind"])
                )
                conn.execute(
                    sa.insert(tokens).values(
                        **values,
                        key_id=sealed.key_id,
                        nonce=sealed.nonce,
                        ciphertext=sealed.ciphertext,
                        lease_owner=None,
                        lease_expires_at=None,
                    )
                )
            counts["tokens"] = len(data["tokens"])
            for later in (Event, ApiKey, DeletionRequest):
                table = _table(later)
                counts[table.name] = _insert_plain(conn, table, data.get(table.name, []))
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigurationError(
            f"the export's contents are not what igtoken writes ({type(exc).__name__}: {exc})"
        ) from None
    return counts


def _insert_plain(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> int:
    if rows:
        conn.execute(sa.insert(table), [_row_values(table, r) for r in rows])
    return len(rows)


def _kdf(passphrase: Secret, salt: bytes, params: dict[str, int]) -> bytes:
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    return Scrypt(salt=salt, length=32, n=params["n"], r=params["r"], p=params["p"]).derive(
        passphrase.reveal().encode("utf-8")
    )


def _header_bytes(header: dict[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")


def seal_export(data: dict[str, Any], passphrase: Secret, *, created_at: datetime) -> bytes:
    """The export file's bytes: clear header, payload sealed under a key derived from the passphrase."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if len(passphrase.reveal()) < MIN_PASSPHRASE:
        raise ConfigurationError(
            f"the export passphrase must be at least {MIN_PASSPHRASE} characters",
            fix="use a long passphrase (a few random words), and keep it apart from the file",
        )
    salt, nonce = os.urandom(_SALT_BYTES), os.urandom(_NONCE_BYTES)
    header = {
        "format": FORMAT,
        "version": _VERSION,
        "created_at": created_at.isoformat(),
        "kdf": {"name": "scrypt", **_SCRYPT, "salt": _b64(salt)},
        "cipher": {"name": "AES-256-GCM", "nonce": _b64(nonce)},
    }
    plain = zlib.compress(json.dumps({"vault": data}, separators=(",", ":")).encode("utf-8"))
    key = _kdf(passphrase, salt, _SCRYPT)
    ciphertext = AESGCM(key).encrypt(nonce, plain, _header_bytes(header))
    return (json.dumps({"header": header, "ciphertext": _b64(ciphertext)}, indent=1) + "\n").encode("ascii")


def unseal_export(blob: bytes, passphrase: Secret) -> dict[str, Any]:
    """The vault data from an export file's bytes.

    Raises:
        ConfigurationError: not an igtoken export, or one of a version this igtoken cannot read.
        DecryptionError: the passphrase is wrong or the file was altered.
    """
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        outer = json.loads(blob.decode("utf-8"))
        header = outer["header"]
        if header.get("format") != FORMAT:
            raise ValueError("format")
        version = header["version"]
        kdf, cipher = header["kdf"], header["cipher"]
        params = {k: int(kdf[k]) for k in ("n", "r", "p")}
        salt, nonce = _unb64(kdf["salt"]), _unb64(cipher["nonce"])
        ciphertext = _unb64(outer["ciphertext"])
        if kdf.get("name") != "scrypt" or cipher.get("name") != "AES-256-GCM":
            raise ValueError("algorithm")
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError):
        raise ConfigurationError(
            "this file is not an igtoken vault export", fix="give the file `igtoken export` wrote"
        ) from None
    if version != _VERSION:
        raise ConfigurationError(
            f"this export is format version {version}; this igtoken reads version {_VERSION}",
            fix="import it with the igtoken version that wrote it, or a newer one",
        )
    if params["n"] > 2**20 or params["r"] > 32 or params["p"] > 16:
        raise ConfigurationError("the export asks for an unreasonably costly key derivation")
    try:
        plain = AESGCM(_kdf(passphrase, salt, params)).decrypt(nonce, ciphertext, _header_bytes(header))
    except InvalidTag:
        raise DecryptionError(
            "the export did not open: wrong passphrase, or the file was altered",
            fix="give the passphrase used for `igtoken export` (IGTOKEN_EXPORT_PASSPHRASE or the prompt)",
        ) from None
    body = json.loads(zlib.decompress(plain).decode("utf-8"))
    return cast(dict[str, Any], body["vault"])
