"""The worker's engine: finished refreshes stored together (group commit), claims taken in bounded batches."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from igtoken.core.exceptions import ConflictError
from igtoken.core.models import AccessToken, TokenKind
from igtoken.core.secret import Secret
from igtoken.emulator import EmulatorClock, create_app
from igtoken.refresh.batching import BatchedStore
from igtoken.refresh.outcomes import Outcome
from igtoken.testing import TEST_CLOCK_START
from igtoken.vault import AsyncVault, Claim, EventType, FinishedRefresh, Vault
from tests.support.fleet import Rig, add_demo_app, keyring, open_vault, seed_fleet

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def vault(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Vault]:
    if request.param == "sqlite":
        v = open_vault(f"sqlite:///{tmp_path / 'vault.db'}", keyring())
        yield v
        v.close()
        return
    from tests.support.postgres import fresh_pg_database

    with fresh_pg_database() as url:
        v = open_vault(url, keyring())
        yield v
        v.close()


def claims_for(vault: Vault, count: int) -> list[Claim]:
    clock = EmulatorClock(TEST_CLOCK_START, frozen=True)
    world = create_app(clock=clock).state.world
    add_demo_app(vault, clock.now())
    seed_fleet(world, vault, count, now=clock.now(), due_now=True)
    claims = vault.claim_due(now=clock.now(), owner="w1", limit=count, lease_seconds=60)
    assert len(claims) == count
    return claims


def new_token(claim: Claim) -> AccessToken:
    now = claim.lease_expires_at - timedelta(seconds=59)
    return AccessToken(Secret(f"new-{claim.token_id}"), TokenKind.IG_LONG, now, now + timedelta(days=60))


async def store_all(store: BatchedStore, claims: list[Claim]) -> list[str | BaseException]:
    async def one(claim: Claim) -> str:
        now = claim.lease_expires_at - timedelta(seconds=59)
        return await store(FinishedRefresh(claim, new_token(claim), now, None, {"trigger": "t"}))

    return await asyncio.gather(*(one(c) for c in claims), return_exceptions=True)


async def test_refreshes_finishing_together_go_in_one_transaction(vault: Vault) -> None:
    """Five refreshes handed over at once: one commit stores them all, each caller gets its own row id."""
    claims = claims_for(vault, 5)
    commits: list[int] = []
    sa.event.listen(vault.engine, "commit", lambda conn: commits.append(1))
    store = BatchedStore(AsyncVault(vault))
    ids = await store_all(store, claims)
    assert len(commits) == 1 and (store.batches, store.items) == (1, 5)
    for claim, token_id in zip(claims, ids, strict=True):
        stored = vault.current_token(claim.account_id)
        assert stored.token_id == token_id and stored.token.value == Secret(f"new-{claim.token_id}")


async def test_max_batch_bounds_each_transaction(vault: Vault) -> None:
    claims = claims_for(vault, 5)
    store = BatchedStore(AsyncVault(vault), max_batch=2)
    assert all(isinstance(i, str) for i in await store_all(store, claims))
    assert (store.batches, store.items) == (3, 5)


async def test_a_lost_lease_fails_only_its_own_caller(vault: Vault) -> None:
    """The caller whose lease was taken over gets ConflictError (the use case reports a lost lease);
    the others' tokens are stored in the same batch."""
    claims = claims_for(vault, 3)
    taken_at = claims[1].lease_expires_at + timedelta(seconds=1)
    vault.claim_account(claims[1].account_id, now=taken_at, owner="w2")
    results = await store_all(BatchedStore(AsyncVault(vault)), claims)
    assert isinstance(results[1], ConflictError) and "not stored" in str(results[1])
    assert isinstance(results[0], str) and isinstance(results[2], str)
    assert vault.current_token(claims[1].account_id).token_id == claims[1].token_id


async def test_a_batch_that_fails_is_stored_item_by_item(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch refused for another reason than an outage does not fail its neighbours: stored one by one."""
    claims = claims_for(vault, 3)

    def broken(batch: object) -> list[str | None]:
        raise RuntimeError("a bad row")

    monkeypatch.setattr(vault, "record_refresh_successes", broken)
    results = await store_all(BatchedStore(AsyncVault(vault)), claims)
    assert all(isinstance(r, str) for r in results)
    for claim in claims:
        assert vault.current_token(claim.account_id).token.value == Secret(f"new-{claim.token_id}")


async def test_the_worker_claims_in_bounded_batches_and_stores_in_batches(tmp_path: Path) -> None:
    """40 due tokens, 8 call slots: no claim asks for (or loads) more rows than there are free slots,
    never more than 8 claims are held at once, every token is refreshed once with its event."""
    rig = Rig(tmp_path, concurrency=8, batch_size=5)
    try:
        seeded = seed_fleet(rig.world, rig.vault, 40, now=rig.clock.now(), due_now=True)
        sizes: list[tuple[int, int]] = []
        held = [0, 0]  # now, most at once

        def done(result: object) -> None:
            held[0] -= 1

        rig.worker.on_result = done  # type: ignore[assignment]
        real_claim = rig.worker.vault.claim_due

        async def claim_due(**kwargs: object) -> list[Claim]:
            claims = await real_claim(**kwargs)  # type: ignore[arg-type]
            sizes.append((int(kwargs["limit"]), len(claims)))  # type: ignore[call-overload]
            held[0] += len(claims)
            held[1] = max(held)
            return claims

        rig.worker.vault.claim_due = claim_due  # type: ignore[method-assign]
        report = await rig.worker.run_once(rig.clock.now())
        assert report.counts == {Outcome.REFRESHED.value: 40}
        assert all(loaded <= limit <= 5 for limit, loaded in sizes)
        assert sum(loaded for _limit, loaded in sizes) == 40
        assert held[0] == 0 and 1 <= held[1] <= 8
        assert rig.worker.store.items == 40 and rig.worker.store.batches <= 40
        refreshed = rig.vault.events(types=[EventType.REFRESHED], limit=1000)
        assert len(refreshed) == 40
        assert len(rig.world.log.entries(endpoint="ig_refresh_token")) == 40
        assert {a.account_id for a in seeded} == {e.account_id for e in refreshed}
    finally:
        await rig.close()
