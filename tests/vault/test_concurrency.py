"""Racing writers, refresh workers and key rotation: nothing lost, never two current tokens."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from igtoken.core.exceptions import ConflictError
from igtoken.core.secret import Secret
from igtoken.vault import Vault
from igtoken.vault.crypto import add_key_to_file, load_or_create_key_file
from igtoken.vault.engine import create_vault_engine
from igtoken.vault.models import Token

from .conftest import T0, profile, token


def _run(workers: list[Callable[[], None]]) -> list[BaseException]:
    errors: list[BaseException] = []

    def wrap(fn: Callable[[], None]) -> None:
        try:
            fn()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=wrap, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return errors


def _current_count(vault: Vault, account_id: str) -> int:
    with vault.engine.connect() as conn:
        return int(
            conn.scalar(
                sa.select(sa.func.count())
                .select_from(Token)
                .where(Token.account_id == account_id, Token.is_current)
            )
            or 0
        )


def test_racing_logins_keep_every_row_and_one_current(vault: Vault, app_name: str, backend: str) -> None:
    """Several threads re-logging one account: every token row is kept, exactly one is current."""
    threads, per_thread = (6, 15) if backend == "postgres" else (3, 10)
    written: list[str] = []
    lock = threading.Lock()

    def writer(n: int) -> Callable[[], None]:
        def go() -> None:
            for i in range(per_thread):
                value = f"t-{n}-{i}"
                vault.save_login(app_name, profile(), token(value), now=T0 + timedelta(seconds=i))
                with lock:
                    written.append(value)

        return go

    assert _run([writer(n) for n in range(threads)]) == []
    (account,) = vault.list_accounts()
    assert len(written) == threads * per_thread
    assert len(vault.token_history(account.id)) == threads * per_thread
    assert _current_count(vault, account.id) == 1
    assert vault.current_token(account.id).token.value.reveal() in written
    assert len(vault.events(types=["connected"], limit=1000)) == threads * per_thread


def test_racing_token_reads_record_every_read(vault: Vault, app_name: str) -> None:
    """Many threads serving one account's token at once: every read succeeds and leaves its own event."""
    account_id = vault.save_login(app_name, profile(), token("t-served"), now=T0).id
    threads, per_thread = 16, 10

    def reader(n: int) -> Callable[[], None]:
        def go() -> None:
            for _ in range(per_thread):
                _, stored = vault.serve_token(account_id, now=T0, reader=f"igt_{n}")
                assert stored.token.value == Secret("t-served")

        return go

    assert _run([reader(n) for n in range(threads)]) == []
    reads = vault.events(types=["token_read"], limit=1000)
    assert len(reads) == threads * per_thread
    assert {r.data["reader"] for r in reads} == {f"igt_{n}" for n in range(threads)}


def test_refresh_racing_relogin(vault: Vault, app_name: str, backend: str) -> None:
    """Refresh workers and re-logins race on one account: each write commits or conflicts, none is lost."""
    rounds = 20 if backend == "postgres" else 10
    account_id = vault.save_login(app_name, profile(), token("t-0"), now=T0, next_refresh_at=T0).id
    committed: list[str] = []
    lock = threading.Lock()

    def relogin() -> None:
        for i in range(rounds):
            vault.save_login(app_name, profile(), token(f"login-{i}"), now=T0, next_refresh_at=T0)
            with lock:
                committed.append(f"login-{i}")

    def refresher(name: str) -> Callable[[], None]:
        def go() -> None:
            for i in range(rounds):
                for claim in vault.claim_due(now=T0, owner=name, lease_seconds=600):
                    try:
                        vault.record_refresh_success(claim, token(f"{name}-{i}"), now=T0, next_refresh_at=T0)
                    except ConflictError:
                        continue
                    with lock:
                        committed.append(f"{name}-{i}")

        return go

    assert _run([relogin, refresher("w1"), refresher("w2")]) == []
    history = vault.token_history(account_id)
    assert len(history) == 1 + len(committed)
    assert _current_count(vault, account_id) == 1
    assert vault.current_token(account_id).token.value.reveal() in committed


def test_rotation_during_reads_and_writes_loses_nothing(db_url: str, tmp_path: Path, backend: str) -> None:
    """Add a key and rotate while readers and writers run: every read succeeds, nothing is lost."""
    key_file = tmp_path / "keys.json"
    ring, _ = load_or_create_key_file(key_file)
    old_key = ring.active_key_id
    vault = Vault(create_vault_engine(db_url), ring)
    vault.add_app(
        "rot",
        instagram_app_id="1",
        app_secret=Secret("rotation-app-secret"),
        redirect_uris=["https://x.test/cb"],
        now=T0,
    )
    accounts = [
        vault.save_login("rot", profile(str(9000 + i)), token(f"v-{i}-0"), now=T0).id for i in range(60)
    ]
    ever: dict[str, set[str]] = {a: {f"v-{i}-0"} for i, a in enumerate(accounts)}
    latest: dict[str, str] = {a: f"v-{i}-0" for i, a in enumerate(accounts)}
    lock = threading.Lock()
    stop = threading.Event()
    reads = [0]

    def reader(seed: int) -> Callable[[], None]:
        def go() -> None:
            rng = random.Random(seed)
            while not stop.is_set():
                account_id = rng.choice(accounts)
                value = vault.current_token(account_id).token.value.reveal()
                with lock:
                    assert value in ever[account_id]
                    reads[0] += 1

        return go

    def writer() -> None:
        rng = random.Random(7)
        n = 0
        while not stop.is_set():
            n += 1
            i = rng.randrange(len(accounts))
            value = f"v-{i}-{n}"
            with lock:
                ever[accounts[i]].add(value)
            vault.save_login("rot", profile(str(9000 + i)), token(value), now=T0)
            with lock:
                latest[accounts[i]] = value

    def rotator() -> None:
        try:
            add_key_to_file(key_file)
            vault.rotate_keys(now=T0, batch_size=10)
        finally:
            stop.set()

    assert _run([reader(1), reader(2), writer, rotator]) == []
    status = {k.key_id: k for k in vault.keys_status()}
    assert status[old_key].rows == 0
    assert reads[0] > 0
    for account_id, value in latest.items():
        assert vault.current_token(account_id).token.value.reveal() == value
        assert _current_count(vault, account_id) == 1
    vault.close()
