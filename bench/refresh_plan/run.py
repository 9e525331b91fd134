"""Finding due tokens: the worker's SQL due-index claim against a full scan, at 100,000 accounts.

A refresh worker wakes up (a tick), finds the tokens due now, leases them and opens them. The
vault does the finding with the partial index ``ix_tokens_due`` (current tokens by
``next_refresh_at``): ``Vault.claim_due`` in batches of ``--batch`` until nothing is left. The
baseline is what a cron job without that index does: a **full scan** of every current token of an
active account (``SELECT`` of the planning columns, no filter in SQL), the due ones picked in
Python, then the same work as the claim for those: lease them in batches of ``--batch`` (one write
transaction each), read their rows and open their ciphertexts. Both find the same tokens (checked);
only the finding differs.

Two ticks are timed, each ``--repeat`` times, alternating claim and scan, leases cleared between:

* **idle**: nothing due, the common case (every tick between refreshes);
* **due**: ``--due`` tokens due (default 100: a fleet of 100,000 refreshed about every 45 days
  has about 90 due per hourly tick; ``--due 10000`` is a backlog after downtime).

SQLite (a temporary file) always; PostgreSQL too when ``--pg URL`` or
``IGTOKEN_TEST_DATABASE_URL`` names a server (a private database is created and dropped).
Any mismatch between the two ways fails the run: exit 1, no figures line. Last line: JSON with
median milliseconds per tick and ``idle_speedup`` / ``due_speedup`` (scan time / claim time,
the lower of the databases).

    python bench/refresh_plan/run.py [--accounts 100000] [--due 100] [--repeat 7] [--pg URL]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from igtoken._secret import Secret
from igtoken.vault import KeyRing, Vault, upgrade
from igtoken.vault.crypto import Sealed, generate_key_material
from igtoken.vault.engine import create_vault_engine, normalize_url
from igtoken.vault.models import Account, App, Token
from igtoken.vault.repository import token_aad

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=300)


def fail(message: str) -> NoReturn:
    """Stop the run: a message, exit status 1, no figures line."""
    sys.exit(f"bench/refresh_plan FAILED: {message}")


def seed(vault: Vault, accounts: int, due: int) -> set[str]:
    """``accounts`` active accounts with one sealed current token each; ``due`` of them due at NOW.

    The others are due between one hour and 45 days from NOW, spread evenly. Returns the due ids.
    """
    app_id = str(uuid.uuid4())
    due_ids: set[str] = set()
    with vault.engine.begin() as conn:
        conn.execute(
            sa.insert(App).values(
                id=app_id,
                name="bench",
                flow_kind="instagram_login",
                instagram_app_id="1",
                redirect_uris=["https://bench.test/cb"],
                default_scopes=[],
                created_at=NOW,
                updated_at=NOW,
            )
        )
        chunk = 5000
        for start in range(0, accounts, chunk):
            account_rows, token_rows = [], []
            for i in range(start, min(start + chunk, accounts)):
                aid, tid = str(uuid.uuid4()), str(uuid.uuid4())
                is_due = i % (accounts // due) == 0 and len(due_ids) < due if due else False
                when = NOW if is_due else NOW + timedelta(hours=1) + timedelta(days=45) * (i / accounts)
                if is_due:
                    due_ids.add(tid)
                sealed = vault.keyring.encrypt(
                    Secret(f"IGAA{secrets.token_urlsafe(140)}"), token_aad(tid, aid, "ig_long")
                )
                account_rows.append(
                    {
                        "id": aid,
                        "app_id": app_id,
                        "ig_user_id": str(17841400000000000 + i),
                        "username": f"user{i}",
                        "account_type": "BUSINESS",
                        "scopes": ["instagram_business_basic"],
                        "status": "active",
                        "created_at": NOW,
                        "updated_at": NOW,
                    }
                )
                token_rows.append(
                    {
                        "id": tid,
                        "account_id": aid,
                        "kind": "ig_long",
                        "key_id": sealed.key_id,
                        "nonce": sealed.nonce,
                        "ciphertext": sealed.ciphertext,
                        "scopes": ["instagram_business_basic"],
                        "issued_at": NOW - timedelta(days=3),
                        "expires_at": NOW + timedelta(days=57),
                        "next_refresh_at": when,
                        "failure_count": 0,
                        "is_current": True,
                        "created_at": NOW,
                    }
                )
            conn.execute(sa.insert(Account), account_rows)
            conn.execute(sa.insert(Token), token_rows)
    if len(due_ids) != due:
        fail(f"seeded {len(due_ids)} due tokens, not {due}")
    with vault.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")  # statistics, as autovacuum (PostgreSQL) or a DBA (SQLite) would
    return due_ids


def claim_tick(vault: Vault, batch: int) -> set[str]:
    """The worker's way: ``claim_due`` (the due index) until nothing is left."""
    found: set[str] = set()
    while True:
        claims = vault.claim_due(now=NOW, owner="bench", limit=batch, lease_seconds=LEASE.total_seconds())
        if not claims:
            return found
        found.update(c.token_id for c in claims)


_SCAN = (
    sa.select(Token.id, Token.account_id, Token.next_refresh_at, Token.lease_expires_at)
    .join(Account, Account.id == Token.account_id)
    .where(Token.is_current, Account.status == "active")
)
_LEASE = sa.update(Token).where(Token.id.in_(sa.bindparam("ids", expanding=True)))
_ROWS = sa.select(Token.id, Token.account_id, Token.kind, Token.key_id, Token.nonce, Token.ciphertext).where(
    Token.id.in_(sa.bindparam("ids", expanding=True))
)


def scan_tick(vault: Vault, batch: int) -> set[str]:
    """The full-scan way: every current token read, the due ones picked here, then leased and opened."""
    with vault.engine.connect() as conn:
        rows = conn.execute(_SCAN).all()
    due = [
        r.id
        for r in rows
        if r.next_refresh_at <= NOW and (r.lease_expires_at is None or r.lease_expires_at <= NOW)
    ]
    for start in range(0, len(due), batch):
        ids = due[start : start + batch]
        with vault.engine.begin() as conn:
            conn.execute(_LEASE.values(lease_owner="bench", lease_expires_at=NOW + LEASE), {"ids": ids})
            for row in conn.execute(_ROWS, {"ids": ids}):
                sealed = Sealed(row.key_id, row.nonce, row.ciphertext)
                vault.keyring.decrypt(sealed, token_aad(row.id, row.account_id, row.kind))
    return set(due)


def clear_leases(vault: Vault) -> None:
    with vault.engine.begin() as conn:
        conn.execute(
            sa.update(Token)
            .where(Token.lease_owner.is_not(None))
            .values(lease_owner=None, lease_expires_at=None)
        )


def timed(tick: Callable[[Vault, int], set[str]], vault: Vault, batch: int) -> tuple[float, set[str]]:
    clear_leases(vault)
    t = time.perf_counter()
    found = tick(vault, batch)
    return (time.perf_counter() - t) * 1000, found


def run_backend(name: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    upgrade(url)
    vault = Vault(create_vault_engine(url), KeyRing({"k1": generate_key_material()}, active="k1"))
    t = time.perf_counter()
    due_ids = seed(vault, args.accounts, args.due)
    out: dict[str, Any] = {"seed_s": round(time.perf_counter() - t, 1)}
    for tick_name, expected in (("idle", set()), ("due", due_ids)):
        if tick_name == "idle":  # push the due tokens an hour ahead: nothing is due
            with vault.engine.begin() as conn:
                conn.execute(
                    sa.update(Token)
                    .where(Token.id.in_(due_ids))
                    .values(next_refresh_at=NOW + timedelta(hours=1))
                )
        else:
            with vault.engine.begin() as conn:
                conn.execute(sa.update(Token).where(Token.id.in_(due_ids)).values(next_refresh_at=NOW))
        times: dict[str, list[float]] = {"claim": [], "scan": []}
        for i in range(args.repeat + 1):  # the first round warms caches and is not counted
            order = (("claim", claim_tick), ("scan", scan_tick))
            for way, tick in order if i % 2 == 0 else reversed(order):
                ms, found = timed(tick, vault, args.batch)
                if found != expected:
                    fail(
                        f"{name}, {tick_name} tick: {way} found {len(found)} due tokens, not {len(expected)}"
                    )
                if i:
                    times[way].append(ms)
        claim_ms, scan_ms = statistics.median(times["claim"]), statistics.median(times["scan"])
        out[f"claim_{tick_name}_ms"] = round(claim_ms, 2)
        out[f"scan_{tick_name}_ms"] = round(scan_ms, 2)
        out[f"{tick_name}_speedup"] = round(scan_ms / claim_ms, 1)
    vault.close()
    print(f"{name}: {json.dumps(out)}", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=100)
    parser.add_argument(
        "--batch", type=int, default=100, help="tokens claimed per transaction (the worker's)"
    )
    parser.add_argument("--repeat", type=int, default=7, help="timed ticks per way (median reported)")
    parser.add_argument(
        "--pg", default=None, help="PostgreSQL server URL (default IGTOKEN_TEST_DATABASE_URL)"
    )
    args = parser.parse_args()
    if not 1 <= args.due <= args.accounts or args.repeat < 1:
        fail("--due must be between 1 and --accounts, --repeat at least 1")
    figures: dict[str, Any] = {"accounts": args.accounts, "due": args.due, "batch": args.batch}
    with tempfile.TemporaryDirectory() as tmp:
        figures["sqlite"] = run_backend("sqlite", f"sqlite:///{Path(tmp) / 'plan.db'}", args)
    server = args.pg or os.environ.get("IGTOKEN_TEST_DATABASE_URL")
    if server:
        base = normalize_url(server)
        admin = sa.create_engine(base, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        db = f"igtoken_bench_plan_{secrets.token_hex(4)}"
        try:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{db}"')
        except sa.exc.OperationalError as exc:
            fail(f"postgresql: cannot create a database: {exc.orig}")
        try:
            url = base.set(database=db).render_as_string(hide_password=False)
            figures["postgresql"] = run_backend("postgresql", url, args)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            admin.dispose()
    backends = [v for v in figures.values() if isinstance(v, dict)]
    figures["idle_speedup"] = min(b["idle_speedup"] for b in backends)
    figures["due_speedup"] = min(b["due_speedup"] for b in backends)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
