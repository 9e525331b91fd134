"""Vault benchmark: current-token read latency and refresh-store throughput at 100,000 accounts.

For SQLite (a temp file) and PostgreSQL (a private database on the server in
IGTOKEN_TEST_DATABASE_URL, default the local test server), it measures

* ``Vault.current_token`` latency (p50, p99), each call paired with a bare
  read of the same account doing the same work by hand: the same joined
  ``SELECT`` through the driver alone (stdlib ``sqlite3`` / ``psycopg``, one
  autocommit statement), the same AES-GCM decryption with the same key and
  associated data, the same date and scope decoding; interleaved, alternating
  which goes first, so both see the same machine and the same cache;
* the throughput of storing refreshed tokens (claim with a lease, then
  ``record_refresh_success``: insert new row, retire old, one transaction);
* an online key rotation of all 100,000 tokens while a reader keeps reading.

Every read is checked against the bare read (same token id and value); a
refresh that cannot be stored, a read that fails during rotation, or a token
left on the old key fails the run: exit 1, no figures line
(``--fail-during-rotation`` proves it).

Last line: a JSON object with the figures and ``p99_ratio`` (our read p99 over
the bare read's, the worse of the two databases). Target (issue 16): ≤ 2.

    python bench/vault/run.py [--accounts 100000] [--samples 5000] [--refreshes 3000] [--no-pg]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import secrets
import sqlite3
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
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
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


class BenchFailure(SystemExit):
    """The run failed: a message on stderr, exit status 1, no figures line."""

    def __init__(self, message: str) -> None:
        super().__init__(f"bench/vault FAILED: {message}")


#: The read ``Vault.current_token`` makes, written by hand: the same join, columns, filter and order.
BARE_SQL = (
    "SELECT t.id, t.account_id, t.kind, t.key_id, t.nonce, t.ciphertext, t.scopes, t.issued_at,"
    " t.expires_at, t.last_refreshed_at, t.next_refresh_at, t.failure_count, t.last_error,"
    " t.lease_owner, t.lease_expires_at, a.app_id, a.status, a.ig_user_id"
    " FROM tokens t JOIN accounts a ON a.id = t.account_id"
    " WHERE t.account_id = {p} AND {current} ORDER BY t.issued_at DESC, t.id LIMIT 1"
)


class BareReader:
    """Current-token reads by hand: the driver alone (stdlib sqlite3 / psycopg), AES-GCM by hand.

    The same work as ``Vault.current_token``: the same joined row, the ciphertext opened with the
    same key and the same associated data, the token decoded, its dates made aware UTC datetimes
    and its scopes parsed; one statement per read (autocommit), as a hand-written reader does.
    """

    def __init__(self, url: str, keys: dict[str, Secret]) -> None:
        self.ciphers = {kid: AESGCM(base64.b64decode(k.reveal())) for kid, k in keys.items()}
        if url.startswith("sqlite"):
            self.conn: Any = sqlite3.connect(url.split("///", 1)[1], check_same_thread=False)
            self.sql = BARE_SQL.format(p="?", current="t.is_current = 1")
        else:
            import psycopg

            dsn = sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
            self.conn = psycopg.connect(dsn, autocommit=True)
            self.sql = BARE_SQL.format(p="%s", current="t.is_current")
        self.cur = self.conn.cursor()

    def read(self, account_id: str) -> tuple[str, str, datetime, datetime | None, list[str]]:
        """(token id, token, issued_at, expires_at, scopes) of an account's current token."""
        self.cur.execute(self.sql, (account_id,))
        row = self.cur.fetchone()
        if row is None:
            raise LookupError(account_id)
        tid, aid, kind, key_id, nonce, ciphertext, scopes, issued, expires = row[:9]
        aad = f"igtoken/token/v1\x00{tid}\x00{aid}\x00{kind}".encode()
        token = self.ciphers[key_id].decrypt(bytes(nonce), bytes(ciphertext), aad).decode()
        return (
            tid,
            token,
            _aware(issued),
            _aware(expires),
            json.loads(scopes) if isinstance(scopes, str) else scopes,
        )

    def close(self) -> None:
        self.cur.close()
        self.conn.close()


def _aware(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def measure_reads(vault: Vault, url: str, account_ids: list[str], samples: int) -> dict[str, float]:
    """Interleave library and bare reads of the same account, alternating which goes first."""
    bare_reader = BareReader(url, vault.keyring.material())
    rng = random.Random(1)
    picks = [rng.choice(account_ids) for _ in range(samples + 500)]
    ours: list[float] = []
    bare: list[float] = []
    for i, aid in enumerate(picks):
        if i % 2:
            t = time.perf_counter_ns()
            stored = vault.current_token(aid)
            t1 = time.perf_counter_ns()
            row = bare_reader.read(aid)
            t2 = time.perf_counter_ns()
            ours_ns, bare_ns = t1 - t, t2 - t1
        else:
            t = time.perf_counter_ns()
            row = bare_reader.read(aid)
            t1 = time.perf_counter_ns()
            stored = vault.current_token(aid)
            t2 = time.perf_counter_ns()
            bare_ns, ours_ns = t1 - t, t2 - t1
        if row[0] != stored.token_id or row[1] != stored.token.value.reveal():
            raise BenchFailure(f"the bare read and current_token disagree for account {aid}")
        if i >= 500:  # warm-up: pool, statement caches, page cache
            ours.append(ours_ns / 1000)
            bare.append(bare_ns / 1000)
    bare_reader.close()
    return {
        "read_p50_us": round(percentile(ours, 0.50), 1),
        "read_p99_us": round(percentile(ours, 0.99), 1),
        "bare_p50_us": round(percentile(bare, 0.50), 1),
        "bare_p99_us": round(percentile(bare, 0.99), 1),
        "read_mean_us": round(statistics.fmean(ours), 1),
        "bare_mean_us": round(statistics.fmean(bare), 1),
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
    if done != count:
        raise BenchFailure(f"stored {done} refreshed tokens of {count}")
    return {"refreshes": done, "refresh_per_s": round(done / elapsed, 1)}


def measure_rotation(vault: Vault, account_ids: list[str], fail: bool = False) -> dict[str, float]:
    """Rotate every token to a new key while one thread keeps reading; count what is left behind."""
    old = vault.keyring.active_key_id
    with vault.engine.connect() as conn:
        rows = conn.execute(sa.select(sa.func.count()).select_from(Token)).scalar_one()
    vault.keyring = KeyRing({**vault.keyring.material(), "k2": generate_key_material()}, active="k2")
    stop = threading.Event()
    reads = [0, 0]  # successes, failures
    first_error: list[str] = []

    def reader() -> None:
        rng = random.Random(2)
        missing = ["no-such-account"] if fail else []
        while not stop.is_set():
            try:
                vault.current_token(missing.pop() if missing else rng.choice(account_ids))
                reads[0] += 1
            except Exception as exc:  # any read error during rotation fails the run, below
                reads[1] += 1
                first_error[:] = first_error or [f"{type(exc).__name__}: {exc}"]

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
    if reads[1]:
        raise BenchFailure(f"{reads[1]} reads failed during rotation; first: {first_error[0]}")
    if left:
        raise BenchFailure(f"{left} tokens left on the old key after rotation")
    if report.tokens != rows:
        raise BenchFailure(f"rotation re-encrypted {report.tokens} tokens of {rows}")
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
    result.update(measure_reads(vault, url, ids, args.samples))
    result.update(measure_refreshes(vault, ids, args.refreshes))
    if not args.no_rotation:
        result.update(measure_rotation(vault, ids, args.fail_during_rotation))
    vault.close()
    print(f"{name}: {json.dumps(result)}", flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--refreshes", type=int, default=3000)
    parser.add_argument("--no-rotation", action="store_true")
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    parser.add_argument(
        "--fail-during-rotation", action="store_true", help="self-check: one read fails (the run must fail)"
    )
    args = parser.parse_args()
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        out["sqlite"] = run_backend("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", args)
    if args.no_pg:
        out["p99_ratio"] = out["sqlite"]["p99_ratio"]
        print(json.dumps(out))
        return 0
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
