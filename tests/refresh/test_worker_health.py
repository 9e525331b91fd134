"""A standalone worker's ``/healthz`` tells the truth: 200 with the last tick while the loop ticks
and the vault answers; 503 with the reason when the last tick is too old, or the vault is locked
away from it. The worker's real loop runs in-process over a real SQLite vault; the probe is the
same ASGI app ``igtoken worker --metrics-port`` serves."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from igtoken.service.metrics import ServiceMetrics, metrics_app
from igtoken.service.worker_health import WorkerHealth, stale_after
from tests.support.fleet import Rig, seed_fleet


def probe(rig: Rig, ping_timeout: float = 1.0) -> tuple[WorkerHealth, httpx.AsyncClient]:
    worker = rig.worker
    health = WorkerHealth(
        worker.state,
        clock=worker.clock,
        stale_after=stale_after(worker.poll_interval, worker.lease_seconds),
        ping=rig.vault.list_apps,
        ping_timeout=ping_timeout,
    )
    app = metrics_app(ServiceMetrics(), health=health)
    return health, httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://worker.test")


@asynccontextmanager
async def looping(rig: Rig) -> AsyncIterator[asyncio.Event]:
    stop = asyncio.Event()
    loop = asyncio.create_task(rig.worker.run_forever(stop))
    try:
        yield stop
    finally:
        stop.set()
        await loop


async def wait_for(check: Callable[[], Any], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.02)


@contextmanager
def locked_away(rig: Rig) -> Iterator[None]:
    """Another process holds the file in exclusive locking mode: nobody else may even read it.

    WAL mode grants that only while no other connection has the file open, so the vault's pooled
    connections are closed first (the next use reopens them, and finds the file locked).
    """
    path = Path(str(rig.vault.engine.url.database))
    conn = sqlite3.connect(path, isolation_level=None, timeout=0.5)
    try:
        conn.execute("PRAGMA locking_mode=EXCLUSIVE")
        for attempt in range(50):
            rig.vault.engine.dispose()
            try:
                conn.execute("BEGIN EXCLUSIVE")
                conn.execute("CREATE TABLE IF NOT EXISTS _lock_probe (x)")
                break
            except sqlite3.OperationalError:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if attempt == 49:
                    raise
        yield
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        conn.close()


async def test_a_ticking_worker_is_healthy_and_a_stuck_one_is_not(tmp_path) -> None:
    """While the loop ticks: 200 with the last tick's time. With no tick for longer than a few tick
    intervals (the loop stopped, the clock moved on): 503 naming how long ago."""
    rig = Rig(tmp_path, poll_interval=0.05)
    seed_fleet(rig.world, rig.vault, 3, now=rig.clock.now(), ages=(timedelta(days=3),), due_now=True)
    health, client = probe(rig)
    try:
        async with looping(rig):
            await wait_for(lambda: rig.worker.state.counters["refreshed"] == 3)
            answer = await client.get("/healthz")
            assert answer.status_code == 200, answer.text
            body = answer.json()
            assert body["status"] == "ok"
            assert body["last_tick_at"] == rig.clock.now().isoformat().replace("+00:00", "Z")
            assert answer.headers["cache-control"] == "no-store"
        # The loop has stopped; one interval later is still fine, a few later is not.
        rig.advance(timedelta(seconds=health.stale_after - 1))
        assert (await client.get("/healthz")).status_code == 200
        rig.advance(timedelta(seconds=2))
        stuck = await client.get("/healthz")
        assert stuck.status_code == 503
        assert stuck.json()["status"] == "fail"
        assert "the last tick finished" in stuck.json()["reason"] and "stuck" in stuck.json()["reason"]
    finally:
        await client.aclose()
        await rig.close()


async def test_no_tick_since_the_start_is_unhealthy_after_the_grace(tmp_path) -> None:
    """A worker that never finished a tick is healthy only for the first few intervals."""
    rig = Rig(tmp_path, poll_interval=1.0, lease_seconds=10)
    health, client = probe(rig)
    try:
        first = await client.get("/healthz")
        assert first.status_code == 200 and first.json()["last_tick_at"] is None
        rig.advance(timedelta(seconds=health.stale_after + 1))
        late = await client.get("/healthz")
        assert late.status_code == 503
        assert "no tick has finished" in late.json()["reason"]
    finally:
        await client.aclose()
        await rig.close()


async def test_an_unreachable_vault_is_503_with_the_reason(tmp_path) -> None:
    """The vault's file locked away by another process: the probe cannot read it and says so within its
    timeout, although the last tick is recent; once the worker's own loop hits the outage the reason is
    its outage. Released, the probe is healthy again."""
    rig = Rig(tmp_path, poll_interval=0.5)
    rig.vault.set_busy_timeout(0.2)
    database = Path(str(rig.vault.engine.url.database))
    _health, client = probe(rig, ping_timeout=2.0)
    try:
        async with looping(rig):
            await wait_for(lambda: rig.worker.state.runs >= 1)
            assert (await client.get("/healthz")).status_code == 200
            with locked_away(rig):
                down = await client.get("/healthz")
                assert down.status_code == 503, down.text
                # Unreadable, or so slow to answer that the probe gives up: either is the truth.
                assert down.json()["reason"].startswith(
                    ("the vault is unreachable", "the vault did not answer")
                )
                assert str(database) not in down.text
                await wait_for(lambda: rig.worker.state.outage_since is not None)
                outage = await client.get("/healthz")
                assert outage.status_code == 503 and "since" in outage.json()["reason"]
            await wait_for(lambda: rig.worker.state.outage_since is None, timeout=40)
            assert (await client.get("/healthz")).status_code == 200
    finally:
        await client.aclose()
        await rig.close()
