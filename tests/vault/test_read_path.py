"""The read path (igtoken.vault.direct): token reads and key lookups straight through the driver.

What it must keep from the SQLAlchemy path it replaced: reads during an online key rotation
never fail, a token on an old key still opens, every recorded read is one ``token_read`` event,
a revoked API key is refused on the very next lookup, and its own connections follow the
engine (a new busy timeout, a disposed engine, a connection the server dropped).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
import sqlalchemy as sa

from igtoken.core.exceptions import DatabaseUnavailableError, NotFoundError
from igtoken.core.secret import Secret
from igtoken.vault import EventType, KeyRing, Vault
from igtoken.vault.crypto import generate_key_material
from igtoken.vault.direct import CHECKPOINT_EVERY, WouldBlock
from tests.support.locks import write_gate_held
from tests.vault.conftest import T0, token


def _reads(vault: Vault) -> list[dict[str, object]]:
    return [e.data for e in vault.events(types=[EventType.TOKEN_READ])]


def test_read_matches_what_was_stored(vault: Vault, connect: Callable[..., str]) -> None:
    account_id = connect("IGAAalice-1")
    stored = vault.current_token(account_id)
    assert stored.token.value.reveal() == "IGAAalice-1"
    assert stored.token.issued_at == T0 and stored.token.issued_at.tzinfo is not None
    assert stored.token.expires_at == T0 + timedelta(days=60)
    assert stored.token.scopes == ("instagram_business_basic",)
    assert stored.account_id == account_id and stored.key_id == "k1"
    with pytest.raises(NotFoundError):
        vault.current_token("no-such-account")


def test_reads_during_online_rotation_never_fail(vault: Vault, connect: Callable[..., str]) -> None:
    ids = [connect(f"IGAAtok-{i}", user_id=f"1784140000000{i:04d}") for i in range(60)]
    vault.keyring = KeyRing({**vault.keyring.material(), "k3": generate_key_material()}, active="k3")
    errors: list[BaseException] = []
    reads = [0]
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            for i, account_id in enumerate(ids):
                try:
                    assert vault.current_token(account_id).token.value.reveal() == f"IGAAtok-{i}"
                    reads[0] += 1
                except BaseException as exc:  # any failure is the test's failure
                    errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        report = vault.rotate_keys(now=T0, batch_size=7)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert errors == []
    assert reads[0] > 0
    assert report.tokens == len(ids)
    assert all(vault.current_token(a).key_id == "k3" for a in ids)


def test_token_on_an_old_key_still_opens(vault: Vault, connect: Callable[..., str]) -> None:
    account_id = connect("IGAAold-key")
    vault.keyring = KeyRing({**vault.keyring.material(), "k9": generate_key_material()}, active="k9")
    stored = vault.current_token(account_id)
    assert stored.key_id == "k1"
    assert stored.token.value.reveal() == "IGAAold-key"


def test_every_recorded_read_is_one_event(vault: Vault, connect: Callable[..., str]) -> None:
    account_id = connect()
    for i in range(3):
        vault.current_token(account_id, record_read=True, now=T0, reader=f"r{i}")
    _account, stored = vault.serve_token(account_id, now=T0, reader="api")
    vault.current_token(account_id)  # not recorded
    events = _reads(vault)
    assert sorted(str(e["reader"]) for e in events) == ["api", "r0", "r1", "r2"]
    assert {e["token_id"] for e in events} == {stored.token_id}
    rows = vault.events(types=[EventType.TOKEN_READ])
    assert all(e.at == T0 and e.account_id == account_id for e in rows)


def test_serve_refused_by_check_records_nothing(vault: Vault, connect: Callable[..., str]) -> None:
    account_id = connect()

    def refuse(_account: object) -> None:
        raise PermissionError("no")

    with pytest.raises(PermissionError):
        vault.serve_token(account_id, now=T0, reader="api", check=refuse)
    with pytest.raises(NotFoundError):
        vault.serve_token("no-such-account", now=T0, reader="api")
    assert _reads(vault) == []


def test_a_new_token_is_read_at_once(vault: Vault, connect: Callable[..., str]) -> None:
    account_id = connect("IGAAfirst")
    assert vault.current_token(account_id).token.value.reveal() == "IGAAfirst"
    vault.store_token(account_id, token("IGAAsecond", at=T0 + timedelta(days=2)), now=T0 + timedelta(days=2))
    assert vault.current_token(account_id).token.value.reveal() == "IGAAsecond"


def test_revoked_key_is_refused_on_the_next_lookup(vault: Vault) -> None:
    record, key = vault.api_keys.create("ci", now=T0)
    assert vault.api_keys.verify(key, now=T0).id == record.id
    assert vault.api_keys.verify(key, now=T0).id == record.id  # looked up again: nothing cached
    vault.api_keys.revoke(record.prefix, now=T0)
    with pytest.raises(NotFoundError):
        vault.api_keys.verify(key, now=T0)
    assert vault.api_keys.revoked_prefix(key) == record.prefix
    with pytest.raises(NotFoundError):
        vault.api_keys.verify(Secret("igt_00000000_unknown"), now=T0)


def test_key_revoked_by_another_vault_is_refused(vault: Vault, db_url: str) -> None:
    """Another process (``igtoken apikeys revoke``) revoking a key: refused from the next lookup on."""
    record, key = vault.api_keys.create("ci", now=T0)
    vault.api_keys.verify(key, now=T0)
    other = Vault(sa.create_engine(db_url), vault.keyring)
    try:
        other.api_keys.revoke(record.id, now=T0)
    finally:
        other.close()
    with pytest.raises(NotFoundError):
        vault.api_keys.verify(key, now=T0)


def test_read_path_follows_the_engine(vault: Vault, connect: Callable[..., str], backend: str) -> None:
    account_id = connect()
    vault.current_token(account_id)
    direct = vault._db.direct
    assert direct._idle, "the read path keeps its connection for the next read"
    vault.set_busy_timeout(1.5)  # disposes the engine: the read path's connections go too
    if backend == "sqlite":
        assert direct._idle == []
        vault.current_token(account_id)
        (conn,) = direct._idle
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 1500
    vault.close()
    assert direct._idle == []
    assert vault.current_token(account_id).account_id == account_id  # reconnects on demand


@pytest.mark.postgres
def test_read_survives_a_connection_the_server_dropped(
    db_url: str, keyring: KeyRing, connect: Callable[..., str], vault: Vault, backend: str
) -> None:
    if backend != "postgres":
        pytest.skip("a server that drops connections")
    account_id = connect()
    vault.current_token(account_id)
    pids = [conn.info.backend_pid for conn in vault._db.direct._idle]
    assert pids
    admin = sa.create_engine(db_url)
    with admin.begin() as conn:
        for pid in pids:
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()
    # The stale connection fails, is thrown away, and the read is made again on a fresh one.
    assert vault.current_token(account_id).account_id == account_id
    assert all(conn.info.backend_pid not in pids for conn in vault._db.direct._idle)


def test_a_damaged_file_is_a_storage_error(tmp_path: object, keyring: KeyRing) -> None:
    from igtoken.vault.engine import create_vault_engine

    missing = f"sqlite:///{tmp_path}/nothing-here/vault.db"
    engine = create_vault_engine(missing)
    # A file that exists but is not a database: every read is a storage fault, never a driver error.
    path = str(engine.url.database)
    with open(path, "wb") as fh:
        fh.write(b"this is not a database" * 100)
    vault = Vault(engine, keyring)
    try:
        with pytest.raises(DatabaseUnavailableError):
            vault.current_token("any")
    finally:
        vault.close()


# -- non-blocking mode (igtoken.vault.direct.nonblocking): the token route's read on the event loop --


def test_nonblocking_serve_is_audited_like_any_other(
    vault: Vault, connect: Callable[..., str], backend: str
) -> None:
    account_id = connect()
    if backend != "sqlite":
        assert not vault.serves_nonblocking
        with pytest.raises(WouldBlock), vault.nonblocking():
            vault.serve_token(account_id, now=T0, reader="api")
        assert _reads(vault) == []
        return
    assert vault.serves_nonblocking
    with pytest.raises(WouldBlock), vault.nonblocking():  # opening its connection may wait: not here
        vault.serve_token(account_id, now=T0, reader="api")
    vault.prepare_nonblocking()
    with vault.nonblocking():
        _account, stored = vault.serve_token(account_id, now=T0, reader="api")
    assert stored.token.value.reveal() == "IGAAtoken-alice-1"
    assert [e["reader"] for e in _reads(vault)] == ["api"]  # committed: another connection sees it


def test_nonblocking_write_under_a_foreign_lock_would_block_and_writes_nothing(
    vault: Vault, connect: Callable[..., str], backend: str
) -> None:
    if backend != "sqlite":
        pytest.skip("SQLite's file lock")
    account_id = connect()
    vault.prepare_nonblocking()
    other = sqlite3.connect(str(vault.engine.url.database), isolation_level=None, timeout=5)
    other.execute("BEGIN IMMEDIATE")  # another process's write lock
    try:
        started = time.monotonic()
        with pytest.raises(WouldBlock), vault.nonblocking():
            vault.serve_token(account_id, now=T0, reader="api")
        assert time.monotonic() - started < 0.5, "no busy wait in non-blocking mode"
        with vault.nonblocking():  # reads do not wait for a writer (WAL)
            assert vault.api_keys._by_hash(Secret("igt_00000000_nothing")) is None
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert _reads(vault) == []
    with vault.nonblocking():  # the quick connection survives the refusal
        vault.serve_token(account_id, now=T0, reader="api")
    assert len(_reads(vault)) == 1


def test_nonblocking_never_waits_for_a_writer_of_this_process(
    vault: Vault, connect: Callable[..., str], backend: str
) -> None:
    if backend != "sqlite":
        pytest.skip("SQLite's one writer")
    account_id = connect()
    vault.prepare_nonblocking()
    with write_gate_held(vault):
        with pytest.raises(WouldBlock), vault.nonblocking():
            vault.serve_token(account_id, now=T0, reader="api")
        # A write through a transaction (an API key's last-used touch) is never tried there.
        with pytest.raises(WouldBlock), vault.nonblocking():
            vault.api_keys.create("x", now=T0)
    assert _reads(vault) == []


def test_nonblocking_writes_ask_for_a_checkpoint(
    vault: Vault, connect: Callable[..., str], backend: str
) -> None:
    if backend != "sqlite":
        pytest.skip("SQLite's WAL")
    account_id = connect()
    vault.prepare_nonblocking()
    for _ in range(CHECKPOINT_EVERY - 1):
        with vault.nonblocking():
            vault.serve_token(account_id, now=T0, reader="api")
    assert not vault.claim_checkpoint()
    with vault.nonblocking():
        vault.serve_token(account_id, now=T0, reader="api")
    assert vault.claim_checkpoint()
    assert not vault.claim_checkpoint(), "claimed once"
    vault.checkpoint()
    with vault.engine.connect() as conn:
        count = conn.execute(sa.text("SELECT count(*) FROM events WHERE type = 'token_read'")).scalar()
    assert count == CHECKPOINT_EVERY
    vault.close()  # the quick connection is closed with the others
    assert vault._db.direct._quick is None
