"""Connect links with use counts and revocation, derived re-auth links, and the signed_request registry."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from igtoken.core.exceptions import ConflictError, NotFoundError
from igtoken.core.secret import Secret
from igtoken.vault import KeyRing, Vault, downgrade, upgrade
from igtoken.vault.engine import create_vault_engine

from .conftest import BACKENDS, T0, fresh_database, make_keyring, profile, token


def _race(workers: list[Callable[[], object]]) -> tuple[list[object], list[BaseException]]:
    results: list[object] = []
    errors: list[BaseException] = []
    start = threading.Barrier(len(workers))
    lock = threading.Lock()

    def wrap(fn: Callable[[], object]) -> None:
        start.wait()
        try:
            out = fn()
        except BaseException as exc:
            with lock:
                errors.append(exc)
        else:
            with lock:
                results.append(out)

    threads = [threading.Thread(target=wrap, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results, errors


def test_multiple_use_link_counts_down_and_unlimited_never_runs_out(vault: Vault, app_name: str) -> None:
    """A 3-use link allows three uses then says so; an unlimited one keeps going; 0 uses is refused."""
    link, _ = vault.links.create(app_name, now=T0, expires_at=T0 + timedelta(days=1), max_uses=3)
    for n in range(3):
        assert vault.links.get_by_id(link.id).status(T0) == "active"
        used = vault.links.use(link.id, now=T0 + timedelta(minutes=n))
        assert used.uses == n + 1
    assert used.status(T0) == "used" and not used.is_usable(T0)
    with pytest.raises(ConflictError, match="as often as allowed"):
        vault.links.use(link.id, now=T0 + timedelta(minutes=5))
    assert vault.links.get_by_id(link.id).uses == 3
    unlimited, _ = vault.links.create(app_name, now=T0, expires_at=T0 + timedelta(days=1), max_uses=None)
    for _n in range(25):
        vault.links.use(unlimited.id, now=T0)
    assert vault.links.get_by_id(unlimited.id).uses == 25
    assert vault.links.get_by_id(unlimited.id).status(T0) == "active"
    assert vault.links.get_by_id(unlimited.id).status(T0 + timedelta(days=1)) == "expired"
    with pytest.raises(ValueError, match="at least one use"):
        vault.links.create(app_name, now=T0, expires_at=T0 + timedelta(days=1), max_uses=0)


def test_revoked_link_is_distinct_and_completes_nothing(
    vault: Vault, app_name: str, connect: Callable[..., str]
) -> None:
    """Revoking sets revoked_at (not a fake use); a revoked link cannot be used or revoked again."""
    link, code = vault.links.create(app_name, now=T0, expires_at=T0 + timedelta(days=1), max_uses=2)
    vault.links.use(link.id, now=T0)
    revoked = vault.links.revoke(link.id, now=T0 + timedelta(minutes=1))
    assert revoked.revoked_at == T0 + timedelta(minutes=1) and revoked.uses == 1
    assert revoked.status(T0) == "revoked" and vault.links.get(code).status(T0) == "revoked"
    with pytest.raises(ConflictError, match="revoked"):
        vault.links.use(link.id, now=T0 + timedelta(minutes=2))
    with pytest.raises(ConflictError, match="nothing to revoke"):
        vault.links.revoke(link.id, now=T0 + timedelta(minutes=2))
    with pytest.raises(ConflictError, match="revoked"):
        vault.save_login(app_name, profile(), token("IGAA-x"), now=T0, use_link=link.id)
    assert vault.list_accounts() == []
    used, _ = vault.links.create(app_name, now=T0, expires_at=T0 + timedelta(days=1))
    vault.links.use(used.id, now=T0, account_id=connect())
    assert vault.links.get_by_id(used.id).status(T0) == "used"
    with pytest.raises(ConflictError, match="already used"):
        vault.links.revoke(used.id, now=T0)
    with pytest.raises(NotFoundError):
        vault.links.revoke("no-such-link", now=T0)


def test_single_use_link_raced_by_two_logins_stores_exactly_one(vault: Vault, app_name: str) -> None:
    """Several people finishing one single-use link at once: one account stored, the rest refused."""
    link, _ = vault.links.create(app_name, now=T0, expires_at=T0 + timedelta(days=1))

    def login(n: int) -> Callable[[], object]:
        def go() -> object:
            user = f"1784140000000{n:04d}"
            return vault.save_login(
                app_name, profile(user, f"user{n}"), token(f"IGAA-{n}"), now=T0, use_link=link.id
            )

        return go

    results, errors = _race([login(n) for n in range(4)])
    assert len(results) == 1, errors
    assert len(errors) == 3 and all(isinstance(e, ConflictError) for e in errors), errors
    [account] = vault.list_accounts()
    assert account.id == results[0].id  # type: ignore[attr-defined]
    stored = vault.links.get_by_id(link.id)
    assert stored.uses == 1 and stored.used_by_account_id == account.id
    assert len(vault.events(types=["connected"])) == 1


def test_reauthorization_link_is_reused_until_spent_revoked_or_old(
    vault: Vault, connect: Callable[..., str]
) -> None:
    """The same open re-auth link (and code) comes back; a used, revoked or aging one is replaced."""
    account_id = connect()
    first, code, created = vault.links.reauthorization(account_id, now=T0, ttl=timedelta(days=7))
    assert created and first.account_id == account_id and first.max_uses == 1
    assert vault.links.get(code).id == first.id
    again, code2, created2 = vault.links.reauthorization(
        account_id, now=T0 + timedelta(days=1), ttl=timedelta(days=7)
    )
    assert (again.id, code2.reveal(), created2) == (first.id, code.reveal(), False)
    aging, _, created3 = vault.links.reauthorization(
        account_id, now=T0 + timedelta(days=4), ttl=timedelta(days=7)
    )
    assert created3 and aging.id != first.id
    vault.links.revoke(aging.id, now=T0 + timedelta(days=4))
    fresh, _code, created4 = vault.links.reauthorization(
        account_id, now=T0 + timedelta(days=4), ttl=timedelta(days=7)
    )
    assert created4 and fresh.id not in (first.id, aging.id)
    vault.links.use(fresh.id, now=T0 + timedelta(days=4), account_id=account_id)
    after_use, _, created5 = vault.links.reauthorization(
        account_id, now=T0 + timedelta(days=4), ttl=timedelta(days=7)
    )
    assert created5 and after_use.id != fresh.id
    assert len([x for x in vault.links.list_all() if x.account_id == account_id]) == 4
    with pytest.raises(NotFoundError):
        vault.links.reauthorization("no-such-account", now=T0, ttl=timedelta(days=7))


def test_reauthorization_codes_follow_the_key_ring(
    db_url: str, vault: Vault, connect: Callable[..., str]
) -> None:
    """Another instance with the same keys finds the same code; without the key it makes a new link."""
    account_id = connect()
    shared = Vault(create_vault_engine(db_url), vault.keyring)
    try:
        link, code, _ = shared.links.reauthorization(account_id, now=T0, ttl=timedelta(days=7))
        other = Vault(create_vault_engine(db_url), vault.keyring)
        try:
            same, same_code, created = other.links.reauthorization(account_id, now=T0, ttl=timedelta(days=7))
            assert (same.id, same_code.reveal(), created) == (link.id, code.reveal(), False)
        finally:
            other.close()
        stranger = Vault(create_vault_engine(db_url), make_keyring("k9"))
        try:
            new, new_code, created = stranger.links.reauthorization(account_id, now=T0, ttl=timedelta(days=7))
            assert created and new.id != link.id and new_code.reveal() != code.reveal()
        finally:
            stranger.close()
    finally:
        shared.close()


def test_concurrent_reauthorization_requests_share_one_link(
    vault: Vault, connect: Callable[..., str]
) -> None:
    """Many 409 answers at once for one account all get the same link."""
    account_id = connect()
    results, errors = _race(
        [lambda: vault.links.reauthorization(account_id, now=T0, ttl=timedelta(days=7)) for _ in range(4)]
    )
    assert errors == []
    assert len({r[0].id for r in results}) == 1  # type: ignore[index]
    assert len(vault.links.list_all()) == 1


def test_signed_request_is_seen_once_until_it_expires(vault: Vault) -> None:
    """First sight wins, a repeat is refused while remembered, and expired entries are dropped."""
    seen = vault.signed_requests
    assert seen.first_sight("sig.payload", now=T0, expires_at=T0 + timedelta(hours=1))
    assert not seen.first_sight(
        "sig.payload", now=T0 + timedelta(minutes=5), expires_at=T0 + timedelta(hours=2)
    )
    assert not seen.first_sight(" sig.payload\n", now=T0, expires_at=T0 + timedelta(hours=1))
    assert seen.first_sight("other.payload", now=T0, expires_at=T0 + timedelta(hours=1))
    later = T0 + timedelta(hours=1, seconds=1)
    assert seen.first_sight("sig.payload", now=later, expires_at=later + timedelta(hours=1))
    assert seen.count() == 1  # the expired "other" went on that write
    with pytest.raises(ValueError, match="past now"):
        seen.first_sight("x", now=T0, expires_at=T0)


def test_signed_request_race_between_instances_has_one_winner(db_url: str, keyring: KeyRing) -> None:
    """Two vault instances on one database, several threads each: exactly one first sight."""
    vaults = [Vault(create_vault_engine(db_url), keyring) for _ in range(2)]
    try:
        workers: list[Callable[[], object]] = [
            functools.partial(
                v.signed_requests.first_sight, "same", now=T0, expires_at=T0 + timedelta(hours=1)
            )
            for v in vaults
            for _ in range(3)
        ]
        results, errors = _race(workers)
        assert errors == [] and sorted(results) == [False] * 5 + [True]  # type: ignore[type-var]
    finally:
        for v in vaults:
            v.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_migration_0002_keeps_what_links_were(backend: str, tmp_path: Path) -> None:
    """Old links become single use; "used by nobody" becomes revoked; downgrading restores both."""
    with fresh_database(backend, tmp_path) as url:
        engine = create_vault_engine(url)
        try:
            upgrade(engine, "0001")
            with engine.begin() as conn:
                conn.execute(
                    sa.text(
                        "INSERT INTO apps (id, name, flow_kind, instagram_app_id, redirect_uris,"
                        " default_scopes, created_at, updated_at)"
                        " VALUES ('a', 'shop', 'instagram_login', '1', '[]', '[]', :t, :t)"
                    ),
                    {"t": T0},
                )
                for link_id, used_at, by in (
                    ("open", None, None),
                    ("used", T0, "acc"),
                    ("revoked", T0, None),
                ):
                    conn.execute(
                        sa.text(
                            "INSERT INTO connect_links (id, code_hash, app_id, scopes, created_at,"
                            " expires_at, used_at, used_by_account_id)"
                            " VALUES (:id, :h, 'a', '[]', :t, :e, :u, :b)"
                        ),
                        {
                            "id": link_id,
                            "h": link_id * 3,
                            "t": T0,
                            "e": T0 + timedelta(days=1),
                            "u": used_at,
                            "b": by,
                        },
                    )
            upgrade(engine)
            vault = Vault(engine, make_keyring())
            links = {x.id: x for x in vault.links.list_all()}
            assert {k: (v.max_uses, v.uses, v.status(T0)) for k, v in links.items()} == {
                "open": (1, 0, "active"),
                "used": (1, 1, "used"),
                "revoked": (1, 0, "revoked"),
            }
            downgrade(engine, "0001")
            with engine.connect() as conn:
                rows: dict[Any, Any] = dict(
                    conn.execute(sa.text("SELECT id, used_at IS NOT NULL FROM connect_links")).all()
                )
            assert rows == {"open": False, "used": True, "revoked": True}
        finally:
            engine.dispose()


def test_secret_codes_never_stored(vault: Vault, connect: Callable[..., str]) -> None:
    """A derived re-auth code is nowhere in the database, only its hash."""
    account_id = connect()
    _, code, _ = vault.links.reauthorization(account_id, now=T0, ttl=timedelta(days=7))
    with vault.engine.connect() as conn:
        dump = repr(conn.execute(sa.text("SELECT * FROM connect_links")).all())
    assert code.reveal() not in dump
    assert isinstance(code, Secret) and code.reveal() not in repr(code)
