"""The vault: apps, accounts and their sealed tokens, the refresh leases, the audit trail.

Every method is one short transaction. Time is always an argument. Tokens
are sealed with AES-256-GCM, bound to their row by associated data
(:func:`token_aad`), and never leave this module except as :class:`Secret`.

Concurrency rules, the same on SQLite and PostgreSQL:

* every write that touches an account's tokens first locks the account row
  (``SELECT … FOR UPDATE`` on PostgreSQL; ``BEGIN IMMEDIATE`` on SQLite
  serializes writers anyway), so two writers on one account queue up;
* a new token row is inserted before the old one is retired, and promoted to
  current last, all in one transaction; the partial unique index
  ``uq_tokens_current`` makes a second current token impossible;
* a refresh result is recorded only while its lease is held; otherwise
  :class:`ConflictError` and nothing is written.

The class is a thin facade over one part per aggregate: apps (:mod:`.apps`), accounts
(:mod:`.accounts`), tokens (:mod:`.tokens`), leases (:mod:`.leases`), the account lifecycle
(:mod:`.lifecycle`) and the audit trail with key rotation (:mod:`.events`), on a shared base
(:mod:`._store`).
"""

from __future__ import annotations

import sqlalchemy as sa

from igtoken.vault._db import Database
from igtoken.vault._store import sealed_token_row
from igtoken.vault.accounts import AccountStore
from igtoken.vault.apps import AppStore
from igtoken.vault.crypto import KeyRing, app_secret_aad, token_aad
from igtoken.vault.engine import create_vault_engine
from igtoken.vault.events import EventLog
from igtoken.vault.faults import storage_faults
from igtoken.vault.leases import Leases
from igtoken.vault.lifecycle import Lifecycle
from igtoken.vault.migrate import ensure_current, ensure_upgraded
from igtoken.vault.tokens import TokenStore

__all__ = ["Vault", "app_secret_aad", "sealed_token_row", "token_aad"]


class Vault(AppStore, AccountStore, TokenStore, Leases, Lifecycle, EventLog):
    """The synchronous vault. Thread-safe: each call runs in its own transaction.

    Companion repositories share its database: :attr:`links`,
    :attr:`states`, :attr:`api_keys`, :attr:`deletions`, :attr:`webhooks`,
    :attr:`signed_requests`, :attr:`sessions`, :attr:`throttles`, :attr:`rate_buckets`, :attr:`usage`.
    """

    @classmethod
    def open(
        cls,
        url: str | sa.URL,
        keyring: KeyRing,
        *,
        auto_upgrade: bool = False,
        busy_timeout: float | None = None,
    ) -> Vault:
        """Connect to ``url``; migrate it if ``auto_upgrade``, else insist the schema is current.

        ``busy_timeout``: on SQLite, seconds to wait for a lock another process holds (30 by default).
        A locked, damaged or unreachable database raises a
        :class:`~igtoken.core.exceptions.DatabaseUnavailableError` subclass.
        """
        engine = create_vault_engine(url, busy_timeout=busy_timeout)
        db = Database(engine)
        try:
            with storage_faults(db.where, waited=db.busy_timeout):
                if auto_upgrade:
                    ensure_upgraded(engine)
                else:
                    ensure_current(engine)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, keyring)
