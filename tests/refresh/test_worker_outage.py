"""Workers ride out database trouble (issue 22): retry with backoff, re-claim the leases lost in the
outage, give up only after ``max_outage``, and exit at once, naming it, when credentials are refused."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from igtoken.core.exceptions import DatabaseRefusedError, DatabaseUnavailableError
from igtoken.emulator import EmulatorClock
from igtoken.refresh.worker import is_outage
from igtoken.testing import run_emulator_on_loopback
from igtoken.vault.engine import normalize_url
from tests.support.fleet import Rig, add_demo_app, keyring, keys_setting, open_vault, seed_fleet

LOST = DatabaseUnavailableError(
    "the connection to the database db was lost: terminating connection due to administrator command"
)


def flaky(rig: Rig, failures: int, error: Exception = LOST) -> list[int]:
    """Make the worker's next ``failures`` claims fail with ``error``; returns the call counter."""
    real = rig.worker.vault.claim_due
    calls = [0]

    async def claim_due(**kwargs):
        calls[0] += 1
        if calls[0] <= failures:
            raise error
        return await real(**kwargs)

    rig.worker.vault.claim_due = claim_due  # type: ignore[method-assign]
    return calls


async def run_until(rig: Rig, done, timeout: float = 20.0) -> None:
    """Run the worker's loop until ``done()`` holds (checked every 50 ms), then stop it."""
    stop = asyncio.Event()
    loop = asyncio.create_task(rig.worker.run_forever(stop))
    try:
        async with asyncio.timeout(timeout):
            while not done():
                assert not loop.done(), loop.exception()
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        await loop


async def test_an_outage_is_ridden_out_and_the_lost_lease_is_reclaimed(tmp_path):
    rig = Rig(tmp_path, poll_interval=0.1)
    try:
        now = rig.clock.now()
        first, second = seed_fleet(rig.world, rig.vault, 2, now=now, ages=(timedelta(days=3),), due_now=True)
        # A claim this worker took just before the outage and then lost track of: leased to it
        # for ten minutes, which without the recovery would keep the token waiting that long.
        [held] = rig.vault.claim_due(now=now, owner=rig.worker.owner, limit=1, lease_seconds=600)
        calls = flaky(rig, failures=2)

        def refreshed() -> bool:
            return all(
                rig.vault.current_token(a.account_id).token.value.reveal() != a.token_value
                for a in (first, second)
            )

        await run_until(rig, refreshed)
        assert calls[0] >= 3
        state = rig.worker.state
        assert state.outages == 1 and state.outage_since is None and state.outage_cause is None
        assert state.counters["refreshed"] == 2
        assert held.account_id in (first.account_id, second.account_id)
    finally:
        await rig.close()


async def test_a_long_outage_ends_the_worker_naming_the_cause(tmp_path):
    rig = Rig(tmp_path, poll_interval=0.1, max_outage=1.5)
    try:
        flaky(rig, failures=10**6)
        with pytest.raises(DatabaseUnavailableError) as raised:
            await asyncio.wait_for(rig.worker.run_forever(asyncio.Event()), timeout=20)
        message = raised.value.message
        assert "IGTOKEN_WORKER_MAX_OUTAGE=1.5" in message
        assert "connection to the database db was lost" in message
        assert rig.worker.state.outage_since is not None
    finally:
        await rig.close()


async def test_refused_credentials_end_the_worker_at_once(tmp_path):
    rig = Rig(tmp_path, poll_interval=0.1)
    try:
        refused = DatabaseRefusedError("the database server refused igtoken's credentials for db")
        calls = flaky(rig, failures=10**6, error=refused)
        with pytest.raises(DatabaseRefusedError):
            await asyncio.wait_for(rig.worker.run_forever(asyncio.Event()), timeout=5)
        assert calls[0] == 1
    finally:
        await rig.close()


async def test_a_refresh_hit_by_the_outage_does_not_abandon_the_others(tmp_path):
    """One claim's task fails with the outage: the batch finishes the others, then reports the outage."""
    rig = Rig(tmp_path, poll_interval=0.1)
    try:
        now = rig.clock.now()
        accounts = seed_fleet(rig.world, rig.vault, 3, now=now, ages=(timedelta(days=3),), due_now=True)
        real = rig.worker.refresher.handle
        seen: list[str] = []

        async def handle(claim, now=None, **kwargs):
            seen.append(claim.account_id)
            if len(seen) == 1:
                raise LOST
            return await real(claim, now, **kwargs)

        rig.worker.refresher.handle = handle  # type: ignore[method-assign]
        with pytest.raises(DatabaseUnavailableError):
            await rig.worker.run_once(now)
        done = [
            a for a in accounts if rig.vault.current_token(a.account_id).token.value.reveal() != a.token_value
        ]
        assert len(done) == 2  # the two others were refreshed and recorded
    finally:
        await rig.close()


def test_what_counts_as_an_outage():
    from igtoken.core.exceptions import DatabaseCorruptError, DatabaseLockedError, MissingKeyError

    assert is_outage(LOST) and is_outage(DatabaseLockedError("locked"))
    assert not is_outage(DatabaseRefusedError("refused"))
    assert not is_outage(DatabaseCorruptError("damaged"))
    assert not is_outage(MissingKeyError("k9"))


# -- a real worker process on PostgreSQL --------------------------------------------------------

PG_URL = os.environ.get("IGTOKEN_TEST_DATABASE_URL")
WORKER = [sys.executable, "-c", "from igtoken.cli import main; main()", "worker", "--poll-interval", "1"]


@contextmanager
def fresh_pg_database() -> Iterator[tuple[str, sa.Engine]]:
    """A new PostgreSQL database (its URL) and an engine on the server's admin database; dropped after."""
    if not PG_URL:
        pytest.skip("IGTOKEN_TEST_DATABASE_URL is not set; PostgreSQL tests run where it is (CI sets it)")
    base = normalize_url(PG_URL)
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    name = f"igtoken_test_{secrets.token_hex(6)}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield base.set(database=name).render_as_string(hide_password=False), admin
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def terminate_connections(admin: sa.Engine, database: str) -> int:
    """``pg_terminate_backend`` on every connection to ``database``; how many there were."""
    with admin.connect() as conn:
        return len(
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = :db AND pid <> pg_backend_pid()"
                ),
                {"db": database},
            ).all()
        )


@pytest.mark.postgres
@pytest.mark.slow
def test_worker_process_survives_terminated_connections_and_refreshes_within_a_minute():
    """Every igtoken connection terminated, then the database closed to connections for a while:
    the worker keeps running, says what happened, and refreshes a token that became due."""
    ring = keyring()
    with fresh_pg_database() as (url, admin), run_emulator_on_loopback(clock=EmulatorClock()) as emu:
        database = str(sa.make_url(url).database)
        vault = open_vault(url, ring)
        now = datetime.now(UTC)
        add_demo_app(vault, now)
        [acct] = seed_fleet(emu.world, vault, 1, now=now, ages=(timedelta(days=3),))
        env = {k: v for k, v in os.environ.items() if not k.startswith("IGTOKEN_")}
        env.update(IGTOKEN_DATABASE_URL=url, IGTOKEN_KEYS=keys_setting(ring), IGTOKEN_META_BASE_URL=str(emu))
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            worker = subprocess.Popen(WORKER, env=env, stdout=out, stderr=err)
            try:
                time.sleep(3)  # connected and polling
                assert worker.poll() is None
                assert terminate_connections(admin, database) >= 1
                # An outage the pool cannot hide: nobody may connect for a few seconds.
                with admin.connect() as conn:
                    conn.exec_driver_sql(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
                terminate_connections(admin, database)
                time.sleep(4)
                assert worker.poll() is None, "the worker exited during the outage"
                with admin.connect() as conn:
                    conn.exec_driver_sql(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
                vault.engine.dispose()
                vault.set_next_refresh(acct.account_id, datetime.now(UTC))
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    if vault.current_token(acct.account_id).token.value.reveal() != acct.token_value:
                        break
                    time.sleep(0.5)
                else:
                    pytest.fail("the due token was not refreshed within a minute of the outage")
                assert worker.poll() is None
            finally:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait()
                vault.close()
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read().decode(), err.read().decode()
        assert worker.returncode == 0, stderr
        assert "refreshed=1" in stdout
        assert "the database is unavailable" in stderr and "available again" in stderr, stderr
        assert "refused" not in stderr and "encryption keys" not in stderr


@pytest.mark.postgres
def test_refused_credentials_and_missing_databases_are_named():
    """Not an outage: the error says the server refused the role, or that the database does not exist."""
    from igtoken.vault.faults import storage_faults

    if not PG_URL:
        pytest.skip("IGTOKEN_TEST_DATABASE_URL is not set; PostgreSQL tests run where it is (CI sets it)")
    base = normalize_url(PG_URL)
    cases = [
        (base.set(username="no_such_role_igtoken"), "refused igtoken's credentials"),
        (base.set(database=f"igtoken_missing_{secrets.token_hex(4)}"), "does not exist"),
    ]
    for url, said in cases:
        engine = sa.create_engine(url, poolclass=NullPool)
        with pytest.raises(DatabaseRefusedError, match=said), storage_faults("db"), engine.connect():
            pass
        engine.dispose()


@pytest.mark.postgres
def test_worker_started_before_its_database_waits_for_it():
    """`igtoken worker` started while the database refuses connections waits, then works; past
    --max-outage it exits 5 naming the cause."""
    ring = keyring()
    with fresh_pg_database() as (url, admin):
        database = str(sa.make_url(url).database)
        open_vault(url, ring).close()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
        env = {k: v for k, v in os.environ.items() if not k.startswith("IGTOKEN_")}
        env.update(IGTOKEN_DATABASE_URL=url, IGTOKEN_KEYS=keys_setting(ring), IGTOKEN_WORKER_MAX_OUTAGE="2")
        gave_up = subprocess.run([*WORKER, "--until-idle"], env=env, capture_output=True, timeout=60)
        assert gave_up.returncode == 5, gave_up.stderr
        assert b"waiting for the database" in gave_up.stderr
        assert b"not currently accepting connections" in gave_up.stderr
        waiting = subprocess.Popen(
            [*WORKER, "--until-idle", "--max-outage", "60"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        time.sleep(3)
        assert waiting.poll() is None
        with admin.connect() as conn:
            conn.exec_driver_sql(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
        out, err = waiting.communicate(timeout=60)
        assert waiting.returncode == 0, err
        assert b"nothing to do" in out
