"""Two service instances sharing one vault refuse each other's replayed signed_requests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import SimpleNamespace

import httpx
import pytest

from igtoken.app.runtime import Runtime, allow_redirect_uris
from igtoken.config.settings import Settings
from igtoken.core.endpoints import Endpoints
from igtoken.core.secret import Secret
from igtoken.emulator import create_app as create_emulator
from igtoken.emulator import demo, demo_world
from igtoken.service.assembly import build_app
from igtoken.vault import upgrade
from igtoken.vault.crypto import generate_key_material
from tests.support.postgres import fresh_pg_database

from .test_wired_service import PUBLIC, REDIRECT, sign, start


@dataclass
class Pair:
    """Two services over one database (each with its own runtime, pool and app), one emulator."""

    one: httpx.AsyncClient
    two: httpx.AsyncClient
    meta: httpx.AsyncClient
    runtime: Runtime
    emulator: object

    @property
    def world(self):
        return self.emulator.state.world  # type: ignore[attr-defined]


def _runtimes(backend: str, stack: list) -> tuple[Runtime, Runtime]:
    if backend == "sqlite":
        # The sandbox's embedded database and key file, found by both runtimes through XDG_*.
        return Runtime(Settings(sandbox=True)), Runtime(Settings(sandbox=True))
    context = fresh_pg_database()
    url = context.__enter__()
    stack.append(context)
    upgrade(url)
    keys = Secret("k1:" + generate_key_material().reveal())
    settings = Settings(
        sandbox=True, database_url=url, keys=keys, sources={"IGTOKEN_DATABASE_URL": "environment"}
    )
    return Runtime(settings), Runtime(settings)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def pair(request, tmp_path, monkeypatch) -> AsyncIterator[Pair]:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    emulator = create_emulator(demo_world())
    allow_redirect_uris(emulator, [REDIRECT])
    world = emulator.state.world
    stack: list = []
    first, second = _runtimes(request.param, stack)
    first.ensure_sandbox_apps(now=world.clock.now(), redirect_uris=[REDIRECT])
    meta = httpx.AsyncClient(transport=httpx.ASGITransport(app=emulator), base_url="http://emulator.test")
    clients = []
    for runtime in (first, second):
        app = build_app(
            runtime,
            public_url=PUBLIC,
            endpoints=Endpoints.emulator("http://emulator.test"),
            sandbox=True,
            worker=False,
            http=meta,
            clock=world.clock.now,
        )
        clients.append(
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url=PUBLIC, headers={"accept": "text/html"}
            )
        )
    try:
        yield Pair(clients[0], clients[1], meta, first, emulator)
    finally:
        for client in clients:
            await client.aclose()
        await meta.aclose()
        first.close()
        second.close()
        for context in stack:
            context.__exit__(None, None, None)


async def _connected(p: Pair) -> str:
    """Connect demo_business through instance one; the account id."""
    now = p.world.clock.now()
    _, code = p.runtime.vault.links.create("demo", now=now, expires_at=now.replace(year=2099))
    callback = await start(SimpleNamespace(service=p.one, meta=p.meta), code.reveal())  # type: ignore[arg-type]
    assert (await p.one.get(callback)).status_code == 200
    return p.runtime.vault.list_accounts()[-1].id


def _signed(p: Pair, account_id: str) -> str:
    account = p.runtime.vault.get_account(account_id)
    payload = {
        "algorithm": "HMAC-SHA256",
        "issued_at": int(p.world.clock.now().timestamp()),
        "user_id": account.app_scoped_id,
    }
    return sign(payload, demo.DEMO_IG_APP_SECRET)


async def test_replay_on_the_other_instance_is_refused(pair):
    """A deauthorize handled by one instance is refused (409) by the other; nothing more is written."""
    account_id = await _connected(pair)
    signed = _signed(pair, account_id)
    first = await pair.one.post("/meta/deauthorize", data={"signed_request": signed})
    assert first.status_code == 200 and first.json()["account"] == account_id
    events = len(pair.runtime.vault.events(limit=100_000))
    replay = await pair.two.post("/meta/deauthorize", data={"signed_request": signed})
    assert replay.status_code == 409 and replay.json()["error"]["type"] == "conflict"
    assert len(pair.runtime.vault.events(limit=100_000)) == events
    assert pair.runtime.vault.signed_requests.count() == 1


async def test_same_deletion_request_to_both_instances_at_once_is_handled_once(pair):
    """The same data-deletion request sent to both instances at once: one 200, one 409, one deletion."""
    account_id = await _connected(pair)
    signed = _signed(pair, account_id)
    answers = await asyncio.gather(
        pair.one.post("/meta/data-deletion", data={"signed_request": signed}),
        pair.two.post("/meta/data-deletion", data={"signed_request": signed}),
    )
    assert sorted(a.status_code for a in answers) == [200, 409]
    assert len(pair.runtime.vault.deletions.list_all()) == 1
    assert pair.runtime.vault.get_account(account_id).status == "deleted"
