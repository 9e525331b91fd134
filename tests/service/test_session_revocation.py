"""Sign-out ends the session server-side: a copy of the cookie taken before is refused afterwards, on this
instance and on every other sharing the vault; a password change ends every session too."""

from __future__ import annotations

import httpx

from igtoken.core.endpoints import Endpoints
from igtoken.core.secret import Secret
from igtoken.service.assembly import build_app as build_wired_app

from .conftest import (
    ADMIN_PASSWORD,
    PUBLIC,
    SESSION_SECRET,
    Wired,
    client_for,
    csrf_from,
    make_config,
    sign_in,
)

COOKIE = "igtoken_session"


async def signed_in_cookie(client: httpx.AsyncClient, password: str = ADMIN_PASSWORD) -> str:
    assert (await sign_in(client, password)).status_code == 303
    assert (await client.get("/dashboard")).status_code == 200
    cookie = client.cookies.get(COOKIE)
    assert cookie
    return cookie


async def dashboard_with(app, cookie: str, base_url: str = "http://127.0.0.1:8000") -> int:
    async with client_for(app, base_url=base_url) as other:
        other.cookies.set(COOKIE, cookie)
        return (await other.get("/dashboard")).status_code


async def sign_out(client: httpx.AsyncClient) -> None:
    token = csrf_from((await client.get("/dashboard")).text)
    assert (await client.post("/signout", data={"csrf_token": token})).status_code == 303


async def test_copied_cookie_is_refused_after_sign_out(app):
    async with client_for(app) as client:
        copied = await signed_in_cookie(client)
        assert await dashboard_with(app, copied) == 200  # the copy works while signed in
        await sign_out(client)
    assert await dashboard_with(app, copied) == 303


async def test_signing_out_one_session_leaves_another_signed_in(app):
    async with client_for(app) as first, client_for(app) as second:
        await signed_in_cookie(first)
        other = await signed_in_cookie(second)
        await sign_out(first)
    assert await dashboard_with(app, other) == 200


def wired_instance(w: Wired, password: str = ADMIN_PASSWORD):
    return build_wired_app(
        w.runtime,
        public_url=PUBLIC,
        endpoints=Endpoints.emulator("http://emulator.test"),
        sandbox=True,
        worker=False,
        http=w.meta,
        clock=w.world.clock.now,
        admin_password=Secret(password),
        session_secret=Secret(SESSION_SECRET),
    )


async def test_sign_out_on_one_instance_ends_the_session_on_another(wired):
    """Two instances over one vault and one session secret: the sign-out is recorded in the vault."""
    one, two = wired_instance(wired), wired_instance(wired)
    async with client_for(one, base_url=PUBLIC) as client:
        copied = await signed_in_cookie(client)
        assert await dashboard_with(two, copied, PUBLIC) == 200
        await sign_out(client)
    assert await dashboard_with(two, copied, PUBLIC) == 303
    assert await dashboard_with(one, copied, PUBLIC) == 303


async def test_password_change_ends_every_session(wired):
    """A restart with a new admin password (same session secret) refuses cookies signed in with the old."""
    before = wired_instance(wired, password="the first admin password")
    async with client_for(before, base_url=PUBLIC) as client:
        cookie = await signed_in_cookie(client, "the first admin password")
    after = wired_instance(wired, password="a brand new admin password")
    assert await dashboard_with(after, cookie, PUBLIC) == 303
    assert (
        await dashboard_with(wired_instance(wired, password="the first admin password"), cookie, PUBLIC)
        == 200
    )


async def test_password_change_without_vault(build_app):
    """The same without a vault: the password fingerprint is in the cookie itself."""
    first = build_app(make_config())
    async with client_for(first) as client:
        cookie = await signed_in_cookie(client)
    changed = build_app(make_config(admin_password=Secret("another long admin password")))
    assert await dashboard_with(changed, cookie) == 303


async def test_sign_in_limit_is_shared_by_instances_over_one_vault(wired):
    """Two instances, one vault: wrong passwords sent to either count against one bucket per address."""
    from igtoken.service.config import RateLimit, RateLimits

    limits = RateLimits(signin=RateLimit(per_minute=1, burst=3))
    apps = [
        build_wired_app(
            wired.runtime,
            public_url=PUBLIC,
            endpoints=Endpoints.emulator("http://emulator.test"),
            sandbox=True,
            worker=False,
            http=wired.meta,
            clock=wired.world.clock.now,
            session_secret=Secret(SESSION_SECRET),
            rate_limits=limits,
        )
        for _ in range(2)
    ]
    statuses = []
    async with client_for(apps[0], base_url=PUBLIC) as one, client_for(apps[1], base_url=PUBLIC) as two:
        for n in range(5):
            client = (one, two)[n % 2]
            statuses.append((await sign_in(client, "not the password at all")).status_code)
    assert statuses == [401, 401, 401, 429, 429]
