"""Refresh benchmark: 10,000 due tokens refreshed by ``igtoken worker`` against the loopback emulator.

One vault (a temp SQLite file, or PostgreSQL with ``--database-url``) holds ``--accounts``
accounts (100,000 by default); ``--due`` of them (10,000) are due now. In the same run:

* the baseline: a naive sequential loop, the blog-post way, over another ``--due`` accounts:
  read the token, ``GET /refresh_access_token``, store the answer, one after another;
* ours: one ``igtoken worker --until-idle`` process (a real subprocess, default settings)
  refreshing the due tokens, timed from start to exit; its peak memory (max RSS) is the
  figure for "100,000 accounts in the vault".

The emulator's request log checks both did every refresh exactly once. Last line: a JSON
object with the figures and ``ratio`` (our refreshes per second over the naive loop's).

    python bench/refresh/run.py [--accounts 100000] [--due 10000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))

from igtoken._models import AccessToken, TokenKind
from igtoken._secret import Secret
from igtoken.emulator import EmulatorClock
from igtoken.testing import run_emulator_on_loopback
from refresh.fleet import add_demo_app, keyring, keys_setting, open_vault, seed_fleet

WORKER = [sys.executable, "-c", "from igtoken.cli import main; main()", "worker", "--until-idle"]


def naive_loop(vault, emulator_url: str, accounts) -> float:
    """Refresh each account's token one after another, as a blog post would; wall seconds."""
    started = time.perf_counter()
    with httpx.Client(base_url=emulator_url, trust_env=False) as http:
        for account in accounts:
            token = vault.current_token(account.account_id).token
            resp = http.get(
                "/refresh_access_token",
                params={"grant_type": "ig_refresh_token", "access_token": token.value.reveal()},
            )
            resp.raise_for_status()
            body = resp.json()
            now = datetime.now(UTC)
            vault.store_token(
                account.account_id,
                AccessToken(
                    value=Secret(body["access_token"]),
                    kind=TokenKind.IG_LONG,
                    issued_at=now,
                    expires_at=now + timedelta(seconds=int(body["expires_in"])),
                    user_id=account.ig_id,
                ),
                now=now,
                next_refresh_at=now + timedelta(days=50),
            )
    return time.perf_counter() - started


def main() -> None:
    """Seed, run the baseline and the worker, print figures and the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    ring = keyring()
    with tempfile.TemporaryDirectory() as tmp, run_emulator_on_loopback(clock=EmulatorClock()) as emu:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'vault.db'}"
        vault = open_vault(url, ring)
        now = datetime.now(UTC)
        add_demo_app(vault, now)
        t0 = time.perf_counter()
        seed_fleet(
            emu.world, vault, args.due, now=now, prefix="due_", ages=(timedelta(days=3),), due_now=True
        )
        naive = seed_fleet(emu.world, vault, args.due, now=now, prefix="naive_", ages=(timedelta(days=3),))
        rest = max(0, args.accounts - 2 * args.due)
        seed_fleet(emu.world, vault, rest, now=now, prefix="idle_", ages=(timedelta(days=3),))
        seeded = time.perf_counter() - t0
        print(f"seeded {2 * args.due + rest} accounts in {seeded:.1f} s ({args.due} due)")

        naive_s = naive_loop(vault, str(emu), naive)
        naive_rate = args.due / naive_s
        print(f"naive loop: {args.due} refreshes in {naive_s:.1f} s = {naive_rate:.0f}/s")

        env = {k: v for k, v in os.environ.items() if not k.startswith("IGTOKEN_")}
        env.update(IGTOKEN_DATABASE_URL=url, IGTOKEN_KEYS=keys_setting(ring), IGTOKEN_META_BASE_URL=str(emu))
        t1 = time.perf_counter()
        with tempfile.TemporaryFile() as out:
            proc = subprocess.run(WORKER, env=env, stdout=out, stderr=subprocess.DEVNULL, timeout=300)
            ours_s = time.perf_counter() - t1
            out.seek(0)
            tail = out.read().decode()[-300:]
        peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        if proc.returncode != 0:
            raise SystemExit(f"worker failed: {tail}")
        ours_rate = args.due / ours_s
        print(f"igtoken worker: {args.due} refreshes in {ours_s:.1f} s = {ours_rate:.0f}/s; {tail.strip()}")
        print(f"worker peak memory (max RSS) with {2 * args.due + rest} accounts: {peak_kib / 1024:.0f} MiB")

        per_token = Counter(e.token_id for e in emu.world.log.entries(endpoint="ig_refresh_token"))
        assert len(per_token) == 2 * args.due and set(per_token.values()) == {1}, "not exactly once"
        assert f"refreshed={args.due}" in tail, tail
        vault.close()
    print(
        json.dumps(
            {
                "accounts": 2 * args.due + rest,
                "due": args.due,
                "seed_seconds": round(seeded, 1),
                "naive_seconds": round(naive_s, 2),
                "naive_per_second": round(naive_rate, 1),
                "worker_seconds": round(ours_s, 2),
                "worker_per_second": round(ours_rate, 1),
                "worker_peak_rss_mib": round(peak_kib / 1024, 1),
                "ratio": round(ours_rate / naive_rate, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
