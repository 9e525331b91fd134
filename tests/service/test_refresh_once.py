"""One refresh per token, whoever asks: the API, the dashboard and the worker share one use case.

Five parallel on-demand refreshes of one account (``POST /v1/accounts/{id}/refresh``, or the
dashboard's "refresh now") while a worker runs make exactly one refresh call to Meta (the
emulator's request log says so) and leave the account active, with the old token kept valid or
revoked by Meta (switch ``old_token_after_refresh``), on SQLite and PostgreSQL. A token Meta
refuses gives a needs_reauth event and webhook whose link is absolute and opens the connect page.
The ``igtoken refresh`` counterpart, with real processes: ``tests/refresh/test_refresh_processes.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace

import httpx
import pytest

from igtoken.app.refresh_wiring import build_worker
from igtoken.app.runtime import Runtime, allow_redirect_uris
from igtoken.config.settings import Settings
from igtoken.core.endpoints import Endpoints
from igtoken.core.secret import Secret
from igtoken.emulator import create_app as create_emulator
from igtoken.emulator import demo_world
from igtoken.service.assembly import build_app
from igtoken.vault import upgrade
from igtoken.vault.crypto import generate_key_material
from tests.support.postgres import fresh_pg_database

from .conftest import PUBLIC, REDIRECT, bearer
from .test_wired_service import start

EMULATOR = "http://emulator.test"
HOOK = "https://hooks.example/igtoken"


@dataclass
class Svc:
    """The wired service over one database, the emulator, and a worker wired like the service's."""

    service: httpx.AsyncClient
    meta: httpx.AsyncClient
    runtime: Runtime
    emulator: object
    key: str

    @property
    def world(self):
        return self.emulator.state.world  # type: ignore[attr-defined]

    @property
    def vault(self):
        return self.runtime.vault

    def now(self):
        return self.world.clock.now()

    def refresh_calls(self) -> int:
        return len(self.world.log.entries(endpoint="ig_refresh_token"))


def _settings(backend: str, stack: contextlib.ExitStack) -> Settings:
    hooks = {"webhook_urls": (HOOK,), "webhook_secret": Secret("whsec-" + "x" * 32)}
    if backend == "sqlite":
        return Settings(sandbox=True, **hooks)  # type: ignore[arg-type]
    url = stack.enter_context(fresh_pg_database())
    upgrade(url)
    keys = Secret("k1:" + generate_key_material().reveal())
    return Settings(
        sandbox=True,
        database_url=url,
        keys=keys,
        sources={"IGTOKEN_DATABASE_URL": "environment"},
        **hooks,  # type: ignore[arg-type]
    )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def svc(request, tmp_path, monkeypatch) -> AsyncIterator[Svc]:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    emulator = create_emulator(demo_world())
    allow_redirect_uris(emulator, [REDIRECT])
    world = emulator.state.world
    with contextlib.ExitStack() as stack:
        runtime = Runtime(_settings(request.param, stack))
        runtime.ensure_sandbox_apps(now=world.clock.now(), redirect_uris=[REDIRECT])
        meta = httpx.AsyncClient(transport=httpx.ASGITransport(app=emulator), base_url=EMULATOR)
        app = build_app(
            runtime,
            public_url=PUBLIC,
            endpoints=Endpoints.emulator(EMULATOR),
            sandbox=True,
            worker=False,
            http=meta,
            clock=world.clock.now,
        )
        _, key = runtime.vault.api_keys.create("test", now=world.clock.now())
        service = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=PUBLIC, headers={"accept": "text/html"}
        )
        try:
            yield Svc(service, meta, runtime, emulator, key.reveal())
        finally:
            await service.aclose()
            await meta.aclose()
            runtime.close()


async def connect_due(s: Svc) -> str:
    """Connect demo_business through a link, then age its token eight days and make it due now."""
    now = s.now()
    _, code = s.vault.links.create("demo", now=now, expires_at=now.replace(year=2099))
    callback = await start(SimpleNamespace(service=s.service, meta=s.meta), code.reveal())  # type: ignore[arg-type]
    assert (await s.service.get(callback)).status_code == 200
    account_id = s.vault.list_accounts()[-1].id
    s.world.clock.advance(timedelta(days=8).total_seconds())
    s.vault.set_next_refresh(account_id, s.now())
    return account_id


@contextlib.asynccontextmanager
async def running_worker(s: Svc) -> AsyncIterator[object]:
    """A refresh worker over the same vault and emulator, wired as the service wires its own."""
    parts = build_worker(
        s.runtime,
        endpoints=Endpoints.emulator(EMULATOR),
        http=s.meta,
        clock=s.world.clock.now,
        public_url=PUBLIC,
    )
    try:
        yield parts.worker
    finally:
        await parts.aclose()


async def sign_in(s: Svc) -> str:
    """Sign the admin in; a CSRF token for the dashboard's forms."""
    page = await s.service.get("/signin")
    csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    state = s.service._transport.app.state.igtoken  # type: ignore[attr-defined]
    answer = await s.service.post(
        "/signin", data={"csrf_token": csrf, "password": state.admin_password.reveal()}
    )
    assert answer.status_code == 303
    page = await s.service.get("/dashboard")
    return page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


async def assert_one_refresh_and_healthy(s: Svc, account_id: str, old: str) -> None:
    """Exactly one refresh reached Meta; the account is active; the stored token is new and Meta takes it."""
    assert s.refresh_calls() == 1
    assert s.vault.get_account(account_id).status == "active"
    assert len(s.vault.events(account_id=account_id, types=["refreshed"])) == 1
    assert s.vault.events(account_id=account_id, types=["needs_reauth"]) == []
    stored = s.vault.current_token(account_id)
    assert stored.token.value.reveal() != old and stored.failure_count == 0
    me = await s.service.get(
        f"/v1/accounts/{account_id}/graph/me",
        params={"fields": "username"},
        headers=bearer(s),  # type: ignore[arg-type]
    )
    assert me.status_code == 200, me.text


async def race(
    s: Svc, first: str, requests: Callable[[], Awaitable[list[httpx.Response]]]
) -> list[httpx.Response]:
    """Run the five requests and a worker run; ``first`` says which reaches Meta first.

    The first refresh to reach Meta is slow (0.3 s), and the other side starts once it is in
    flight: with ``first="api"`` one request holds the lease and the other four and the worker
    find it held; with ``first="worker"`` the worker holds it and the five requests find it held.
    """
    slow = s.world.faults.add("ig_refresh_token", "slow", delay_seconds=0.3, times=1)

    async def in_flight() -> None:
        while slow.hits == 0:
            await asyncio.sleep(0.005)

    async with running_worker(s) as worker:

        async def work() -> object:
            if first == "api":
                await in_flight()
            return await worker.run_once()  # type: ignore[attr-defined]

        async def ask() -> list[httpx.Response]:
            if first == "worker":
                await in_flight()
            return await requests()

        answers, _report = await asyncio.gather(ask(), work())
    return answers


@pytest.mark.parametrize("first", ["api", "worker"])
@pytest.mark.parametrize("old_token", ["valid", "revoked"])
async def test_five_parallel_api_refreshes_while_a_worker_runs_call_meta_once(
    svc: Svc, old_token: str, first: str
):
    """5 parallel POST /v1/accounts/{id}/refresh with a worker run: one refresh call, all answered 200
    with the one new token, the account active (with the old token revoked by Meta too)."""
    account_id = await connect_due(svc)
    old = svc.vault.current_token(account_id).token.value.reveal()
    svc.world.switches.set("old_token_after_refresh", old_token)
    url = f"/v1/accounts/{account_id}/refresh"

    async def five() -> list[httpx.Response]:
        return list(await asyncio.gather(*(svc.service.post(url, headers=bearer(svc)) for _ in range(5))))  # type: ignore[arg-type]

    answers = await race(svc, first, five)
    assert [a.status_code for a in answers] == [200] * 5, [a.text for a in answers]
    assert len({a.json()["issued_at"] for a in answers}) == 1
    await assert_one_refresh_and_healthy(svc, account_id, old)


@pytest.mark.parametrize("first", ["api", "worker"])
@pytest.mark.parametrize("old_token", ["valid", "revoked"])
async def test_five_parallel_dashboard_refreshes_while_a_worker_runs_call_meta_once(
    svc: Svc, old_token: str, first: str
):
    """The dashboard's "refresh now" clicked 5 times at once, with a worker run: one refresh call."""
    account_id = await connect_due(svc)
    old = svc.vault.current_token(account_id).token.value.reveal()
    svc.world.switches.set("old_token_after_refresh", old_token)
    csrf = await sign_in(svc)
    url = f"/dashboard/accounts/{account_id}/refresh"

    async def five() -> list[httpx.Response]:
        return list(
            await asyncio.gather(*(svc.service.post(url, data={"csrf_token": csrf}) for _ in range(5)))
        )

    answers = await race(svc, first, five)
    assert [a.status_code for a in answers] == [303] * 5, [a.text[:300] for a in answers]
    await assert_one_refresh_and_healthy(svc, account_id, old)
    page = await svc.service.get(f"/dashboard/accounts/{account_id}")
    assert "Token refreshed" in page.text


async def test_a_refresh_under_way_elsewhere_is_waited_for_not_repeated(svc: Svc):
    """While another holder has the lease (a worker mid-call), an API refresh waits and takes its result."""
    account_id = await connect_due(svc)
    slow = svc.world.faults.add("ig_refresh_token", "slow", delay_seconds=0.5, times=1)
    url = f"/v1/accounts/{account_id}/refresh"
    async with running_worker(svc) as worker:
        run = asyncio.ensure_future(worker.run_once())  # type: ignore[attr-defined]
        while slow.hits == 0 and not run.done():
            await asyncio.sleep(0.01)
        assert not run.done()  # the worker's call has reached Meta and is in flight: it holds the lease
        answer = await svc.service.post(url, headers=bearer(svc))  # type: ignore[arg-type]
        report = await run
    assert report.counts == {"refreshed": 1}
    assert answer.status_code == 200
    issued = datetime.fromisoformat(answer.json()["issued_at"])
    assert issued == svc.vault.current_token(account_id).token.issued_at  # the worker's new token
    assert svc.refresh_calls() == 1


@pytest.mark.parametrize("via", ["worker", "api"])
async def test_needs_reauth_event_and_webhook_carry_an_absolute_link_that_opens_the_connect_page(
    svc: Svc, via: str
):
    """Meta refusing the token (190): the event and the account.needs_reauth webhook carry the same
    absolute URL on the service's public URL; opening it shows the connect landing page."""
    account_id = await connect_due(svc)
    svc.world.revoke_token(svc.vault.current_token(account_id).token.value.reveal())
    if via == "worker":
        async with running_worker(svc) as worker:
            report = await worker.run_once()  # type: ignore[attr-defined]
        assert report.counts == {"needs_reauth": 1}
    else:
        answer = await svc.service.post(f"/v1/accounts/{account_id}/refresh", headers=bearer(svc))  # type: ignore[arg-type]
        assert answer.status_code == 409
        assert answer.json()["error"]["type"] == "needs_reauthorization"
    assert svc.vault.get_account(account_id).status == "needs_reauth"
    (event,) = svc.vault.events(account_id=account_id, types=["needs_reauth"])
    url = event.data["reauthorize_url"]
    assert url.startswith(f"{PUBLIC}/connect/")
    (hook,) = [d for d in svc.vault.webhooks.list_all() if d.event_type == "account.needs_reauth"]
    assert url in json.dumps(hook.payload)
    landing = await svc.service.get(url)
    assert landing.status_code == 200 and "Continue to Instagram" in landing.text
    if via == "api":  # the 409 hands out the same link
        assert answer.json()["error"]["reauthorize_url"] == url
