"""Online key rotation: re-encrypt sealed rows under one key, in short batches, while reads go on.

Each batch is its own transaction, re-encrypts rows in place (same row, same
associated data, new key id and nonce) and only if the row still holds the
ciphertext it read (compare-and-set on ``nonce``), so a concurrent writer is
never overwritten. Writers only insert new rows or flip flags, never rewrite
a ciphertext, so rotation and refreshes do not fight. On PostgreSQL rows are
picked with ``SKIP LOCKED``, so rotation never waits behind a worker.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, cast

import sqlalchemy as sa

from igtoken.core.exceptions import ConfigurationError
from igtoken.vault._db import Database
from igtoken.vault.crypto import KeyRing, Sealed
from igtoken.vault.models import AppSecret, Token
from igtoken.vault.records import KeyStatus, RotationReport

__all__ = ["keys_status", "rotate"]

_TOKENS = cast(sa.Table, Token.__table__)
_SECRETS = cast(sa.Table, AppSecret.__table__)
#: How long to wait before looking again at rows another transaction held locked.
_LOCKED_RETRY_SECONDS = 0.05


def keys_status(db: Database, keyring: KeyRing) -> list[KeyStatus]:
    """How many tokens and app secrets each key id holds, configured keys included (even at 0)."""
    with db.read() as conn:
        tokens = {
            k: n for k, n in conn.execute(sa.select(Token.key_id, sa.func.count()).group_by(Token.key_id))
        }
        secrets = {
            k: n
            for k, n in conn.execute(sa.select(AppSecret.key_id, sa.func.count()).group_by(AppSecret.key_id))
        }
    active = keyring.active_key_id
    ids = sorted(set(tokens) | set(secrets) | keyring.key_ids)
    return [
        KeyStatus(
            key_id=kid,
            tokens=int(tokens.get(kid, 0)),
            app_secrets=int(secrets.get(kid, 0)),
            configured=kid in keyring.key_ids,
            active=kid == active,
        )
        for kid in ids
    ]


def rotate(
    db: Database,
    keyring: KeyRing,
    *,
    token_aad: Callable[[str, str, str], bytes],
    secret_aad: Callable[[str, str], bytes],
    target_key_id: str | None = None,
    batch_size: int = 500,
    on_batch: Callable[[int, int], None] | None = None,
) -> RotationReport:
    """Re-encrypt every token and app secret not under ``target_key_id`` (default: the active key).

    ``on_batch(tokens_done, secrets_done)`` is called after each committed
    batch. A row under a key the ring lacks stops the rotation with
    :class:`MissingKeyError` naming that key; batches already committed stay.
    """
    target = keyring.active_key_id if target_key_id is None else target_key_id
    if target not in keyring.key_ids:
        raise ConfigurationError(f"cannot rotate to key {target!r}: it is not configured")
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    done_tokens = done_secrets = batches = 0

    # Keyset pagination over the primary key: each batch starts where the last one ended, so a
    # pass is linear in the table size instead of rescanning rows already rotated.
    cursor = [""]

    def token_batch(conn: sa.Connection) -> int:
        pick = (
            sa.select(Token.id, Token.account_id, Token.kind, Token.key_id, Token.nonce, Token.ciphertext)
            .where(Token.id > cursor[0], Token.key_id != target)
            .order_by(Token.id)
            .limit(batch_size)
        )
        if db.is_postgres:
            pick = pick.with_for_update(skip_locked=True)
        rows = conn.execute(pick).all()
        if rows:
            cursor[0] = rows[-1].id
        params = []
        for r in rows:
            aad = token_aad(r.id, r.account_id, r.kind)
            plain = keyring.decrypt(Sealed(r.key_id, r.nonce, r.ciphertext), aad)
            fresh = keyring.encrypt(plain, aad, key_id=target)
            params.append(_params(r.id, r.nonce, fresh))
        if params:
            conn.execute(
                sa.update(_TOKENS)
                .where(_TOKENS.c.id == sa.bindparam("b_id"), _TOKENS.c.nonce == sa.bindparam("b_old_nonce"))
                .values(
                    key_id=sa.bindparam("b_key_id"),
                    nonce=sa.bindparam("b_nonce"),
                    ciphertext=sa.bindparam("b_ciphertext"),
                ),
                params,
            )
        return len(params)

    def secret_batch(conn: sa.Connection) -> int:
        pick = (
            sa.select(
                AppSecret.app_id, AppSecret.purpose, AppSecret.key_id, AppSecret.nonce, AppSecret.ciphertext
            )
            .where(AppSecret.key_id != target)
            .order_by(AppSecret.app_id, AppSecret.purpose)
            .limit(batch_size)
        )
        if db.is_postgres:
            pick = pick.with_for_update(skip_locked=True)
        rows = conn.execute(pick).all()
        for r in rows:
            aad = secret_aad(r.app_id, r.purpose)
            plain = keyring.decrypt(Sealed(r.key_id, r.nonce, r.ciphertext), aad)
            fresh = keyring.encrypt(plain, aad, key_id=target)
            conn.execute(
                sa.update(_SECRETS)
                .where(
                    _SECRETS.c.app_id == r.app_id,
                    _SECRETS.c.purpose == r.purpose,
                    _SECRETS.c.nonce == r.nonce,
                )
                .values(key_id=fresh.key_id, nonce=fresh.nonce, ciphertext=fresh.ciphertext)
            )
        return len(rows)

    for table, batch in ((Token, token_batch), (AppSecret, secret_batch)):
        while True:
            with db.write() as conn:
                n = batch(conn)
            if n:
                batches += 1
                if table is Token:
                    done_tokens += n
                else:
                    done_secrets += n
                if on_batch is not None:
                    on_batch(done_tokens, done_secrets)
                continue
            with db.read() as conn:
                left = conn.scalar(
                    sa.select(sa.func.count()).select_from(table).where(table.key_id != target)
                )
            if not left:
                break
            cursor[0] = ""  # rows written or skipped meanwhile: one more pass from the start
            # Rows exist but were locked by a refresh in flight: let it finish, then look again.
            time.sleep(_LOCKED_RETRY_SECONDS)
    return RotationReport(target_key_id=target, tokens=done_tokens, app_secrets=done_secrets, batches=batches)


def _params(row_id: str, old_nonce: bytes, fresh: Sealed) -> dict[str, Any]:
    return {
        "b_id": row_id,
        "b_old_nonce": old_nonce,
        "b_key_id": fresh.key_id,
        "b_nonce": fresh.nonce,
        "b_ciphertext": fresh.ciphertext,
    }
