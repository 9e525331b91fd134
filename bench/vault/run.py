"""Vault benchmark: current-token read latency and refresh-store throughput at 100,000 accounts.

For SQLite (a temp file) and PostgreSQL (a private database on the server in
IGTOKEN_TEST_DATABASE_URL, default the local test server), it measures

* ``Vault.current_token`` latency (p50, p99), each call paired with a bare
  ``SELECT`` of the same row through the same driver (sqlite3 / psycopg) in
  the same run, interleaved so both see the same machine;
* the throughput of storing refreshed tokens (claim with a lease, then
  ``record_refresh_success``: insert new row, retire old, one transaction);
* an online key rotation of all 100,000 tokens while a reader keeps reading.

Last line: a JSON object with the figures and ``p99_ratio`` (our read p99 over
the bare SELECT's, the worse of the two databases).

    python bench/vault/run.py [--accounts 100000] [--samples 5000] [--refreshes 3000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from igtoken._models import AccessToken, TokenKind
from igtoken._secret import Secret
from igtoken.vault import KeyRing, Vault, upgrade
from igtoken.vault.crypto import generate_key_material
from igtoken.vault.engine import create_vault_engine, normalize_url
from igtoken.vault.models import Account, App, Token
from igtoken.vault.repository import token_aad

T0 = datetime(2026, 1, 1, tzinfo=UTC)
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def seed(vault: Vault, n: int) -> list[str]:
    """Bulk-insert one app, n accounts and n sealed tokens, in chunks, in one transaction."""
    app_id = str(uuid.uuid4())
    account_ids = [str(uuid.uuid4()) for _ in range(n)]
    with vault.engine.begin() as conn:
        conn.execute(
            sa.insert(App).values(
                id=app_id,
                name="bench",
                flow_kind="instagram_login",
                instagram_app_id="1",
                redirect_uris=["https://bench.test/cb"],
                default_scopes=[],
                created_at=T0,
                updated_at=T0,
            )
        )
        chunk = 5000
        for start in range(0, n, chunk):
            ids = account_ids[start : start + chunk]
            conn.execute(
                sa.insert(Account),
                [
                    {
                        "id": aid,
                        "app_id": app_id,
                        "ig_user_id": str(17841400000000000 + start + i),
                        "username": f"user{start + i}",
                        "account_type": "BUSINESS",
                        "scopes": ["instagram_business_basic"],
                        "status": "active",
                        "created_at": T0,
                        "updated_at": T0,
                    }
                    for i, aid in enumerate(ids)
                ],
            )
            rows = []
            for i, aid in enumerate(ids):
                tid = str(uuid.uuid4())
                sealed = vault.keyring.encrypt(
                    Secret(f"IGAA{secrets.token_urlsafe(140)}"), token_aad(tid, aid, "ig_long")
                )
                rows.append(
                    {
                        "id": tid,
                        "account_id": aid,
                        "kind": "ig_long",
                        "key_id": sealed.key_id,
                        "nonce": sealed.nonce,
                        "ciphertext": sealed.ciphertext,
                        "scopes": ["instagram_business_basic"],
                        "issued_at": T0,
                        "expires_at": T0 + timedelta(days=60),
                        "next_refresh_at": T0 + timedelta(days=45, seconds=start + i),
                        "failure_count": 0,
                        "is_current": True,
                        "created_at": T0,
                    }
                )
            conn.execute(sa.insert(Token), rows)
    return account_ids


def bare_select(vault: Vault) -> tuple[Any, str]:
    """A raw DB-API connection and the bare SELECT of the row current_token reads."""
    raw = vault.engine.raw_connection()
    columns = "SELECT id, key_id, nonce, ciphertext, issued_at, expires_at FROM tokens"
    if vault.engine.dialect.name == "sqlite":
        return raw, columns + " WHERE account_id = ? AND is_current = 1"
    return raw, columns + " WHERE account_id = %s AND is_current"


def measure_reads(vault: Vault, account_ids: list[str], samples: int) -> dict[str, float]:
    raw, sql = bare_select(vault)
    rng = random.Random(1)
    picks = [rng.choice(account_ids) for _ in range(samples + 500)]
    ours: list[float] = []
    bare: list[float] = []
    cur = raw.cursor()
    for i, aid in enumerate(picks):
        t = time.perf_counter_ns()
        stored = vault.current_token(aid)
        t1 = time.perf_counter_ns()
        cur.execute(sql, (aid,))
        row = cur.fetchone()
        if vault.engine.dialect.name == "postgresql":
            raw.commit()  # same per-call transaction shape as ours: begin, select, end
        t2 = time.perf_counter_ns()
        assert row is not None and row[0] == stored.token_id
        if i >= 500:  # warm-up: pool, statement caches, page cache
            ours.append((t1 - t) / 1000)
            bare.append((t2 - t1) / 1000)
    cur.close()
    raw.close()
    return {
        "read_p50_us": round(percentile(ours, 0.50), 1),
        "read_p99_us": round(percentile(ours, 0.99), 1),
        "bare_p50_us": round(percentile(bare, 0.50), 1),
        "bare_p99_us": round(percentile(bare, 0.99), 1),
        "read_mean_us": round(statistics.fmean(ours), 1),
        "p99_ratio": round(percentile(ours, 0.99) / percentile(bare, 0.99), 2),
    }


def measure_refreshes(vault: Vault, account_ids: list[str], count: int) -> dict[str, float]:
    """Make `count` tokens due, then claim them in batches of 100 and store a refreshed token for each."""
    due = account_ids[:count]
    with vault.engine.begin() as conn:
        for start in range(0, len(due), 1000):
            conn.execute(
                sa.update(Token)
                .where(Token.account_id.in_(due[start : start + 1000]), Token.is_current)
                .values(next_refresh_at=T0)
            )
    now = T0 + timedelta(days=1)
    done = 0
    t = time.perf_counter()
    while done < count:
        claims = vault.claim_due(now=now, owner="bench", limit=100, lease_seconds=300)
        if not claims:
            break
        for claim in claims:
            new = AccessToken(
                value=Secret(f"IGAA{secrets.token_urlsafe(140)}"),
                kind=TokenKind.IG_LONG,
                issued_at=now,
                expires_at=now + timedelta(days=60),
            )
            vault.record_refresh_success(claim, new, now=now, next_refresh_at=now + timedelta(days=45))
            done += 1
    elapsed = time.perf_counter() - t
    return {"refreshes": done, "refresh_per_s": round(done / elapsed, 1)}


def measure_rotation(vault: Vault, account_ids: list[str]) -> dict[str, float]:
    """Rotate every token to a new key while one thread keeps reading; count what is left behind."""
    old = vault.keyring.active_key_id
    vault.keyring = KeyRing({**vault.keyring.material(), "k2": generate_key_material()}, active="k2")
    stop = threading.Event()
    reads = [0, 0]  # successes, failures

    def reader() -> None:
        rng = random.Random(2)
        while not stop.is_set():
            try:
                vault.current_token(rng.choice(account_ids))
                reads[0] += 1
            except Exception:
                reads[1] += 1

    th = threading.Thread(target=reader)
    th.start()
    t = time.perf_counter()
    try:
        report = vault.rotate_keys(now=T0, batch_size=1000)
    finally:
        stop.set()
        th.join()
    elapsed = time.perf_counter() - t
    left = {k.key_id: k.rows for k in vault.keys_status()}.get(old, 0)
    return {
        "rotated_tokens": report.tokens,
        "rotate_s": round(elapsed, 1),
        "reads_during_rotation": reads[0],
        "read_errors_during_rotation": reads[1],
        "rows_left_on_old_key": left,
    }


def run_backend(name: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    upgrade(url)
    vault = Vault(create_vault_engine(url), KeyRing({"k1": generate_key_material()}, active="k1"))
    t = time.perf_counter()
    ids = seed(vault, args.accounts)
    seeded = time.perf_counter() - t
    if vault.engine.dialect.name == "postgresql":
        with vault.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    result: dict[str, Any] = {"accounts": args.accounts, "seed_s": round(seeded, 1)}
    result.update(measure_reads(vault, ids, args.samples))
    result.update(measure_refreshes(vault, ids, args.refreshes))
    if not args.no_rotation:
        result.update(measure_rotation(vault, ids))
    vault.close()
    print(f"{name}: {json.dumps(result)}", flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--refreshes", type=int, default=3000)
    parser.add_argument("--no-rotation", action="store_true")
    args = parser.parse_args()
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        out["sqlite"] = run_backend("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", args)
    base = normalize_url(os.environ.get("IGTOKEN_TEST_DATABASE_URL", PG_DEFAULT))
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    db = f"igtoken_bench_{secrets.token_hex(4)}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{db}"')
    except sa.exc.OperationalError as exc:
        print(f"postgresql: skipped ({type(exc.orig).__name__}: server unreachable)", file=sys.stderr)
    else:
        try:
            pg_url = base.set(database=db).render_as_string(hide_password=False)
            out["postgresql"] = run_backend("postgresql", pg_url, args)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    admin.dispose()
    out["p99_ratio"] = max(v["p99_ratio"] for k, v in out.items() if isinstance(v, dict))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
