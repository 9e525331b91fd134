"""Fixtures for the service tests: an app over ASGI, signed-in clients, an in-memory dashboard,
and the wired service (vault on SQLite, emulator and service over ASGI)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from igtoken.app.runtime import Runtime, allow_redirect_uris
from igtoken.config.settings import Settings
from igtoken.core.endpoints import Endpoints
from igtoken.core.exceptions import NotFoundError
from igtoken.core.secret import Secret
from igtoken.emulator import create_app as create_emulator
from igtoken.emulator import demo_world
from igtoken.service import ServiceConfig, ServiceDeps, create_app
from igtoken.service.assembly import build_app as build_wired_app
from igtoken.service.views import (
    AccountDetail,
    AccountRow,
    AppChoice,
    DeletionRequestRow,
    EventRow,
    ExpiryBucket,
    LinkRow,
    NewLink,
)

ADMIN_PASSWORD = "correct horse battery staple"
SESSION_SECRET = "s" * 40
VERIFY_TOKEN = "verify-me-please"
APP_SECRET = "app-secret-0123456789abcdef"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@dataclass
class InMemoryDashboard:
    """A test double of the dashboard seams (DashboardData + DashboardActions), kept in dicts."""

    now: datetime = NOW
    accounts: dict[str, AccountDetail] = field(default_factory=dict)
    events_by_account: dict[str, list[EventRow]] = field(default_factory=dict)
    link_rows: list[LinkRow] = field(default_factory=list)
    deletions: list[DeletionRequestRow] = field(default_factory=list)
    calls: list[tuple[str, str]] = field(default_factory=list)
    refresh_error: Exception | None = None

    @classmethod
    def seeded(cls) -> InMemoryDashboard:
        board = cls()
        for n, (name, status, days) in enumerate(
            [("alice_shop", "active", 40), ("bob.creates", "needs_reauth", 3), ("carol", "active", 12)]
        ):
            board.accounts[f"acc{n}"] = AccountDetail(
                id=f"acc{n}",
                username=name,
                account_type="BUSINESS" if n != 1 else "MEDIA_CREATOR",
                status=status,
                app_name="Shop app",
                ig_user_id=f"1784{n}000",
                scopes=("instagram_business_basic",),
                token_kind="ig_long",
                issued_at=NOW - timedelta(days=60 - days),
                expires_at=NOW + timedelta(days=days),
                next_refresh_at=NOW + timedelta(days=max(days - 30, 0)),
                last_error="code 190: session invalidated" if status == "needs_reauth" else None,
            )
            board.events_by_account[f"acc{n}"] = [
                EventRow(at=NOW - timedelta(days=1), kind="refreshed", detail="new token valid 60 days"),
                EventRow(at=NOW - timedelta(days=20), kind="connected"),
            ]
        board.deletions.append(
            DeletionRequestRow(
                confirmation_code="DEL123", status="pending", requested_at=NOW, account_id="acc2"
            )
        )
        return board

    async def list_accounts(self) -> list[AccountRow]:
        return [
            AccountRow(
                id=a.id,
                username=a.username,
                account_type=a.account_type,
                status=a.status,
                app_name=a.app_name,
                expires_at=a.expires_at,
                next_refresh_at=a.next_refresh_at,
                last_error=a.last_error,
            )
            for a in self.accounts.values()
        ]

    async def account(self, account_id: str) -> AccountDetail:
        try:
            return self.accounts[account_id]
        except KeyError:
            raise NotFoundError(f"no account with id {account_id!r}") from None

    async def events(self, account_id: str) -> list[EventRow]:
        await self.account(account_id)
        return self.events_by_account.get(account_id, [])

    async def apps(self) -> list[AppChoice]:
        return [AppChoice(id="app1", name="Shop app")]

    async def links(self) -> list[LinkRow]:
        return list(self.link_rows)

    async def deletion_requests(self) -> list[DeletionRequestRow]:
        return list(self.deletions)

    async def expiry_histogram(self) -> list[ExpiryBucket]:
        counts: dict[date, int] = {}
        for a in self.accounts.values():
            if a.expires_at:
                counts[a.expires_at.date()] = counts.get(a.expires_at.date(), 0) + 1
        return [ExpiryBucket(day=d, count=c) for d, c in sorted(counts.items())]

    async def refresh_now(self, account_id: str) -> str:
        await self.account(account_id)
        self.calls.append(("refresh_now", account_id))
        if self.refresh_error is not None:
            raise self.refresh_error
        return "Token refreshed."

    async def create_reauth_link(self, account_id: str) -> LinkRow:
        await self.account(account_id)
        self.calls.append(("create_reauth_link", account_id))
        return LinkRow(
            id="reauth1",
            app_name="Shop app",
            label="reauth",
            status="active",
            created_at=self.now,
            url="https://tokens.example/connect/reauth-xyz",
            account_id=account_id,
        )

    async def disconnect(self, account_id: str) -> str:
        account = await self.account(account_id)
        self.calls.append(("disconnect", account_id))
        self.accounts[account_id] = replace(account, status="deauthorized")
        return f"@{account.username} is disconnected."

    async def create_link(self, new: NewLink) -> LinkRow:
        self.calls.append(("create_link", f"{new.app_id}:{new.label}:{new.expires_in_hours}"))
        row = LinkRow(
            id=f"link{len(self.link_rows)}",
            app_name="Shop app",
            label=new.label,
            status="active",
            created_at=self.now,
            expires_at=self.now + timedelta(hours=new.expires_in_hours),
            url=f"https://tokens.example/connect/tok{len(self.link_rows)}",
            url_hint="…tok",
        )
        self.link_rows.insert(0, row)
        return row

    async def revoke_link(self, link_id: str) -> str:
        for i, row in enumerate(self.link_rows):
            if row.id == link_id:
                self.link_rows[i] = replace(row, status="revoked")
                self.calls.append(("revoke_link", link_id))
                return "Link revoked."
        raise NotFoundError(f"no link with id {link_id!r}")


class FakeMonotonic:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_config(**overrides: object) -> ServiceConfig:
    values: dict[str, object] = {
        "public_url": "http://127.0.0.1:8000",
        "dev": True,
        "admin_password": Secret(ADMIN_PASSWORD),
        "session_secret": Secret(SESSION_SECRET),
        "webhook_verify_token": Secret(VERIFY_TOKEN),
        "meta_app_secrets": {"app1": Secret(APP_SECRET)},
    }
    values.update(overrides)
    return ServiceConfig(**values)  # type: ignore[arg-type]


@pytest.fixture
def board() -> InMemoryDashboard:
    return InMemoryDashboard.seeded()


@pytest.fixture
def monotonic() -> FakeMonotonic:
    return FakeMonotonic()


@pytest.fixture
def build_app(board: InMemoryDashboard, monotonic: FakeMonotonic) -> Callable[..., FastAPI]:
    def build(config: ServiceConfig | None = None, **deps: object) -> FastAPI:
        values: dict[str, object] = {
            "dashboard_data": board,
            "dashboard_actions": board,
            "clock": lambda: NOW,
            "monotonic": monotonic,
        }
        values.update(deps)
        return create_app(config or make_config(), deps=ServiceDeps(**values))  # type: ignore[arg-type]

    return build


def client_for(app: FastAPI, base_url: str = "http://127.0.0.1:8000", **kwargs: object) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, **kwargs)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url=base_url)


@pytest.fixture
async def app(build_app: Callable[..., FastAPI]) -> FastAPI:
    return build_app()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as c:
        yield c


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "page has no CSRF field"
    return match.group(1)


async def sign_in(client: httpx.AsyncClient, password: str = ADMIN_PASSWORD) -> httpx.Response:
    page = await client.get("/signin")
    token = csrf_from(page.text)
    return await client.post(
        "/signin", data={"password": password, "csrf_token": token, "next": "/dashboard"}
    )


@pytest.fixture
async def admin(client: httpx.AsyncClient) -> httpx.AsyncClient:
    response = await sign_in(client)
    assert response.status_code == 303
    return client


# -- the wired service: vault on SQLite, the emulator over ASGI, the service over ASGI ---------

PUBLIC = "http://service.test"
REDIRECT = f"{PUBLIC}/oauth/callback"


@dataclass
class Wired:
    service: httpx.AsyncClient
    meta: httpx.AsyncClient
    runtime: Runtime
    emulator: object
    key: str

    @property
    def vault(self):
        return self.runtime.vault

    @property
    def world(self):
        return self.emulator.state.world  # type: ignore[attr-defined]

    def now(self):
        return self.world.clock.now()


@pytest.fixture
async def wired(tmp_path, monkeypatch):
    """The whole service over a sandbox vault, talking to the in-process emulator's demo world."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    emulator = create_emulator(demo_world())
    allow_redirect_uris(emulator, [REDIRECT])
    world = emulator.state.world
    runtime = Runtime(Settings(sandbox=True))
    runtime.ensure_sandbox_apps(now=world.clock.now(), redirect_uris=[REDIRECT])
    meta = httpx.AsyncClient(transport=httpx.ASGITransport(app=emulator), base_url="http://emulator.test")
    app = build_wired_app(
        runtime,
        public_url=PUBLIC,
        endpoints=Endpoints.emulator("http://emulator.test"),
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
        yield Wired(service, meta, runtime, emulator, key.reveal())
    finally:
        await service.aclose()
        await meta.aclose()
        runtime.vault.close()


async def sign_in_wired(w: Wired) -> str:
    """Sign the wired service's client in with the generated admin password; the session's CSRF
    token for the dashboard's forms."""
    signin = await w.service.get("/signin")
    state = w.service._transport.app.state.igtoken  # type: ignore[attr-defined]
    done = await w.service.post(
        "/signin", data={"csrf_token": csrf_from(signin.text), "password": state.admin_password.reveal()}
    )
    assert done.status_code == 303
    return csrf_from((await w.service.get("/dashboard")).text)


def bearer(w: Wired, key: str | None = None) -> dict[str, str]:
    return {"authorization": f"Bearer {key or w.key}", "accept": "application/json"}


def sign(payload: dict, secret: str) -> str:
    encoded = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    signature = hmac.new(secret.encode(), encoded.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(signature).rstrip(b"=").decode() + "." + encoded
