"""A locked or damaged SQLite file is a storage error everywhere in the service: 503 with Retry-After
within a few seconds (not a 500 after SQLite's 30-second busy wait), and /readyz says so."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from igtoken.service.wiring import SERVICE_BUSY_TIMEOUT
from igtoken.vault import EventType
from tests.support.locks import write_gate_held

from .conftest import Wired, bearer
from .test_wired_service import connect


def database_file(w: Wired) -> Path:
    return Path(str(w.vault.engine.url.database))


@contextmanager
def locked(path: Path, *, exclusive: bool = False) -> Iterator[None]:
    """Another connection (as another process would) holds the file's write lock, or with ``exclusive``
    every lock (``locking_mode=EXCLUSIVE``: nobody else may even read)."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=5)
    try:
        if exclusive:
            conn.execute("PRAGMA locking_mode=EXCLUSIVE")
            conn.execute("BEGIN EXCLUSIVE")
            conn.execute("CREATE TABLE IF NOT EXISTS _lock_probe (x)")
        else:
            conn.execute("BEGIN IMMEDIATE")
        yield
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        conn.close()


def assert_storage_503(answer, started: float) -> None:
    assert answer.status_code == 503, answer.text
    assert 1 <= int(answer.headers["retry-after"]) <= 10
    assert time.monotonic() - started < SERVICE_BUSY_TIMEOUT + 3
    error = answer.json()["error"]
    assert error["type"] == "storage_unavailable"
    assert ".db" not in answer.text  # the file's path is for the operator's log, not for callers


async def test_write_lock_held_by_another_process_is_503_soon(wired):
    """A token read records a token_read event: with another process holding the write lock it is 503 with
    Retry-After after the service's short busy wait; /readyz fails; afterwards everything works again."""
    account_id = await connect(wired)
    with locked(database_file(wired)):
        started = time.monotonic()
        answer = await wired.service.get(f"/v1/accounts/{account_id}/token", headers=bearer(wired))
        assert_storage_503(answer, started)
        assert "locked" in answer.json()["error"]["message"]
        ready = await wired.service.get("/readyz")
        assert ready.status_code == 503 and "DatabaseLockedError" in ready.json()["checks"]["vault"]
    again = await wired.service.get(f"/v1/accounts/{account_id}/token", headers=bearer(wired))
    assert again.status_code == 200
    assert (await wired.service.get("/readyz")).status_code == 200


async def test_concurrent_requests_under_a_lock_do_not_queue_one_wait_each(wired):
    """Five token reads at once against a locked file: all 503, all within one busy wait or so."""
    account_id = await connect(wired)
    with locked(database_file(wired)):
        started = time.monotonic()
        answers = await asyncio.gather(
            *(wired.service.get(f"/v1/accounts/{account_id}/token", headers=bearer(wired)) for _ in range(5))
        )
        for answer in answers:
            assert_storage_503(answer, started)


async def test_exclusive_lock_blocks_reads_too(wired):
    await connect(wired)
    wired.vault.engine.dispose()  # an exclusive lock needs the service's idle connections closed
    with locked(database_file(wired), exclusive=True):
        started = time.monotonic()
        answer = await wired.service.get("/v1/accounts", headers=bearer(wired))
        assert_storage_503(answer, started)


async def test_damaged_file_is_503_not_500(wired):
    """The file overwritten with garbage while the service runs: 503 (damaged), and /readyz fails."""
    await connect(wired)
    path = database_file(wired)
    wired.vault.engine.dispose()  # the next requests open the file afresh
    with path.open("r+b") as f:
        f.write(b"this is not a SQLite database, not any more" * 200)
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    started = time.monotonic()
    answer = await wired.service.get("/v1/accounts", headers=bearer(wired))
    assert_storage_503(answer, started)
    assert "damaged" in answer.json()["error"]["message"]
    ready = await wired.service.get("/readyz")
    assert ready.status_code == 503 and "DatabaseCorruptError" in ready.json()["checks"]["vault"]


def _wiring(w: Wired):
    return w.service._transport.app.state.wiring  # type: ignore[attr-defined]


def _token_reads(w: Wired) -> int:
    return len(w.vault.events(types=[EventType.TOKEN_READ]))


def handovers(w: Wired, monkeypatch) -> list[object]:
    """The calls the service hands over to its vault runner from now on."""
    handed: list[object] = []
    runner = _wiring(w).runner
    run = runner.run

    async def counted(fn):
        handed.append(fn)
        return await run(fn)

    monkeypatch.setattr(runner, "run", counted)
    return handed


async def test_token_read_on_sqlite_runs_on_the_loop_and_is_audited(wired, monkeypatch):
    """Uncontended, the audited read is done without a hand-over to the runner; each read is audited."""
    account_id = await connect(wired)
    # The key's first use is recorded (a write through a transaction): that read is handed over.
    first = await wired.service.get(f"/v1/accounts/{account_id}/token", headers=bearer(wired))
    assert first.status_code == 200
    handed = handovers(wired, monkeypatch)
    before = _token_reads(wired)
    for _ in range(3):
        answer = await wired.service.get(f"/v1/accounts/{account_id}/token", headers=bearer(wired))
        assert answer.status_code == 200, answer.text
    assert handed == []
    assert _token_reads(wired) == before + 3


async def test_token_read_waits_on_the_runner_while_this_process_writes(wired, monkeypatch):
    """Another thread of the service holding the write gate: the read is handed over, waits, answers."""
    account_id = await connect(wired)
    handed = handovers(wired, monkeypatch)
    before = _token_reads(wired)
    with write_gate_held(wired.vault) as release:
        asyncio.get_running_loop().call_later(0.3, release.set)
        answer = await wired.service.get(f"/v1/accounts/{account_id}/token", headers=bearer(wired))
    assert answer.status_code == 200, answer.text
    assert len(handed) == 1
    assert _token_reads(wired) == before + 1


async def test_refused_key_is_answered_by_the_runner(wired, monkeypatch):
    """A key to refuse is reported (anomaly alerts) where that may block: 401 as ever, nothing read."""
    account_id = await connect(wired)
    before = _token_reads(wired)
    answer = await wired.service.get(
        f"/v1/accounts/{account_id}/token", headers=bearer(wired, "igt_00000000_not-a-key")
    )
    assert answer.status_code == 401
    assert _token_reads(wired) == before
