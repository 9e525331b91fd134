"""``igtoken refresh ACCOUNT`` as five parallel processes beside a running ``igtoken worker``.

They all go through the one refresh use case under the token's lease: exactly one refresh call
reaches Meta (the emulator's request log), the account stays active whether Meta keeps the old
token valid or revokes it (switch ``old_token_after_refresh``), on SQLite and PostgreSQL. The
service's counterpart (API and dashboard): ``tests/service/test_refresh_once.py``.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from igtoken.emulator import EmulatorClock
from igtoken.testing import run_emulator_on_loopback
from tests.support.fleet import add_demo_app, keyring, keys_setting, open_vault, seed_fleet

PG_URL = os.environ.get("IGTOKEN_TEST_DATABASE_URL")
IGTOKEN = [sys.executable, "-c", "from igtoken.cli import main; main()"]


@contextlib.contextmanager
def database(backend: str, tmp_path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'v.db'}"
        return
    if not PG_URL:
        pytest.skip("IGTOKEN_TEST_DATABASE_URL is not set; PostgreSQL tests run where it is (CI sets it)")
    from tests.support.postgres import fresh_pg_database

    with fresh_pg_database() as url:
        yield url


@pytest.mark.parametrize("old_token", ["valid", "revoked"])
@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_five_parallel_cli_refreshes_beside_a_worker_call_meta_once(tmp_path, backend: str, old_token: str):
    """5 × `igtoken refresh ACCOUNT --force` at once, with `igtoken worker` running: one refresh
    call to Meta, every command exits 0, the account is active and its new token works."""
    ring = keyring()
    with database(backend, tmp_path) as url, run_emulator_on_loopback(clock=EmulatorClock()) as emu:
        vault = open_vault(url, ring)
        now = datetime.now(UTC)
        add_demo_app(vault, now)
        try:
            (acct,) = seed_fleet(emu.world, vault, 1, now=now, ages=(timedelta(days=8),), due_now=True)
            emu.world.switches.set("old_token_after_refresh", old_token)
            # The first refresh to reach Meta is slow: the others arrive while it holds the lease.
            emu.world.faults.add("ig_refresh_token", "slow", delay_seconds=1.0, times=1)
            env = {k: v for k, v in os.environ.items() if not k.startswith("IGTOKEN_")}
            env.update(IGTOKEN_DATABASE_URL=url, IGTOKEN_KEYS=keys_setting(ring), IGTOKEN_META_BASE_URL=emu)
            outputs, codes = _run(env, acct.username)
            assert codes == [0] * 6, outputs
            assert len(emu.world.log.entries(endpoint="ig_refresh_token")) == 1, outputs
            assert vault.get_account(acct.account_id).status == "active"
            assert vault.events(account_id=acct.account_id, types=["needs_reauth"]) == []
            assert len(vault.events(account_id=acct.account_id, types=["refreshed"])) == 1
            stored = vault.current_token(acct.account_id)
            assert stored.token.value.reveal() != acct.token_value and stored.failure_count == 0
            me = httpx.get(
                f"{emu}/graph.instagram.com/me",
                params={"fields": "username", "access_token": stored.token.value.reveal()},
            )
            assert me.status_code == 200, me.text  # Meta takes the new token
            outcomes = [json.loads(out)["results"][0]["outcome"] for out, _ in outputs[1:]]
            assert set(outcomes) <= {"refreshed", "rescheduled"}, outputs
        finally:
            vault.close()


def _run(env: dict[str, str], username: str) -> tuple[list[tuple[bytes, bytes]], list[int | None]]:
    """Start a worker, then five refreshes of ``username`` at once; stop the worker when they end."""
    with contextlib.ExitStack() as stack:
        files = [
            (stack.enter_context(tempfile.TemporaryFile()), stack.enter_context(tempfile.TemporaryFile()))
            for _ in range(6)
        ]
        worker = subprocess.Popen(
            [*IGTOKEN, "worker", "--poll-interval", "0.2"], env=env, stdout=files[0][0], stderr=files[0][1]
        )
        procs = [
            subprocess.Popen(
                [*IGTOKEN, "--json", "refresh", username, "--force"], env=env, stdout=out, stderr=err
            )
            for out, err in files[1:]
        ]
        try:
            for p in procs:
                p.wait(timeout=120)
            time.sleep(0.5)  # let the worker take one more look: nothing is due any more
            worker.terminate()
            worker.wait(timeout=60)
        finally:
            for p in [worker, *procs]:  # a timeout must not leave processes running
                if p.poll() is None:
                    p.kill()
                    p.wait()
        outputs = []
        for out, err in files:
            out.seek(0)
            err.seek(0)
            outputs.append((out.read(), err.read()))
    return outputs, [p.returncode for p in [worker, *procs]]
