"""Dashboard sessions any replica accepts and that survive a restart (issue 22).

Replicas share the cookie's signing secret: ``IGTOKEN_SESSION_SECRET`` in a fleet, a file made
once beside the embedded (and sandbox) database otherwise.
"""

from __future__ import annotations

import stat

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from igtoken.app.runtime import Runtime
from igtoken.config.settings import Settings, load_settings
from igtoken.core.endpoints import Endpoints
from igtoken.core.exceptions import ConfigurationError
from igtoken.core.secret import Secret
from igtoken.service.assembly import build_app as build_wired_app
from igtoken.vault.crypto import generate_key_material
from igtoken.vault.migrate import upgrade
from tests.support.postgres import fresh_pg_database

from .conftest import ADMIN_PASSWORD, client_for, sign_in

COOKIE = "igtoken_session"
PUBLIC = "http://replica.test"
SHARED = "a shared session secret of more than thirty-two characters"


def terminate_connections(url: str) -> int:
    """``pg_terminate_backend`` on every other connection to ``url``'s database; how many."""
    target = sa.make_url(url)
    admin = sa.create_engine(target, poolclass=NullPool)
    try:
        with admin.connect() as conn:
            return len(
                conn.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE datname = :db AND pid <> pg_backend_pid()"
                    ),
                    {"db": target.database},
                ).all()
            )
    finally:
        admin.dispose()


def replica(runtime: Runtime, *, sandbox: bool = False):
    """One service instance over ``runtime``'s vault; no worker, no Meta calls."""
    return build_wired_app(
        runtime,
        public_url=PUBLIC,
        endpoints=Endpoints.emulator("http://emulator.test"),
        sandbox=sandbox,
        worker=False,
        admin_password=Secret(ADMIN_PASSWORD),
    )


async def signed_in_cookie(app) -> str:
    async with client_for(app, base_url=PUBLIC) as client:
        assert (await sign_in(client)).status_code == 303
        assert (await client.get("/dashboard")).status_code == 200
        cookie = client.cookies.get(COOKIE)
    assert cookie
    return cookie


async def dashboard_status(app, cookie: str) -> int:
    async with client_for(app, base_url=PUBLIC) as client:
        client.cookies.set(COOKIE, cookie)
        return (await client.get("/dashboard")).status_code


@pytest.mark.postgres
async def test_two_replicas_over_postgres_share_sessions_across_a_restart():
    keys = Secret(f"k1:{generate_key_material().reveal()}")
    with fresh_pg_database() as url:
        upgrade(url)
        env = {
            "IGTOKEN_DATABASE_URL": url,
            "IGTOKEN_KEYS": keys.reveal(),
            "IGTOKEN_SESSION_SECRET": SHARED,
            "IGTOKEN_DEV": "1",
        }
        first, second = Runtime(load_settings(env)), Runtime(load_settings(env))
        try:
            a, b = replica(first), replica(second)
            cookie = await signed_in_cookie(a)
            assert await dashboard_status(b, cookie) == 200  # replica B accepts A's session
            # Every connection of both replicas terminated: the pools notice at checkout (pre-ping)
            # and reconnect, so the next request is served, not answered 503.
            assert terminate_connections(url) >= 1
            assert await dashboard_status(a, cookie) == 200
            assert await dashboard_status(b, cookie) == 200
            # Restart both: new processes, new apps, same settings.
            first.close()
            second.close()
            first, second = Runtime(load_settings(env)), Runtime(load_settings(env))
            assert await dashboard_status(replica(first), cookie) == 200
            assert await dashboard_status(replica(second), cookie) == 200
            # A replica with another secret (a misconfigured one) signs the person out, nothing worse.
            other = Runtime(load_settings(env | {"IGTOKEN_SESSION_SECRET": "x" * 40}))
            try:
                assert await dashboard_status(replica(other), cookie) == 303
            finally:
                other.close()
        finally:
            first.close()
            second.close()


async def test_sandbox_keeps_a_generated_secret_in_its_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    first = Runtime(Settings(sandbox=True))
    try:
        cookie = await signed_in_cookie(replica(first, sandbox=True))
    finally:
        first.close()
    secret_file = tmp_path / "data" / "igtoken" / "sandbox" / "session-secret"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    restarted = Runtime(Settings(sandbox=True))
    try:
        assert await dashboard_status(replica(restarted, sandbox=True), cookie) == 200
    finally:
        restarted.close()


def test_the_secret_file_is_made_once(tmp_path):
    from igtoken.app.session_secret import load_or_create_secret

    path = tmp_path / "deep" / "session-secret"
    made = load_or_create_secret(path)
    assert load_or_create_secret(path).reveal() == made.reveal()
    assert len(made.reveal()) >= 32
    path.write_text("short\n")
    with pytest.raises(ConfigurationError, match="fewer than 32"):
        load_or_create_secret(path)


def test_a_sqlite_url_keeps_the_secret_beside_its_file_and_postgres_has_none(tmp_path):
    settings = load_settings({"IGTOKEN_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})
    made = Runtime(settings).session_secret()
    assert made is not None
    assert (tmp_path / "x.db.session-secret").read_text().strip() == made.reveal()
    assert Runtime(settings).session_secret().reveal() == made.reveal()  # type: ignore[union-attr]
    postgres = load_settings({"IGTOKEN_DATABASE_URL": "postgresql://igtoken@db.internal/igtoken"})
    assert Runtime(postgres).session_secret() is None
    with_secret = load_settings({"IGTOKEN_DATABASE_URL": "sqlite:///x.db", "IGTOKEN_SESSION_SECRET": SHARED})
    assert Runtime(with_secret).session_secret().reveal() == SHARED  # type: ignore[union-attr]


def test_a_short_session_secret_is_refused():
    with pytest.raises(ConfigurationError, match="IGTOKEN_SESSION_SECRET is shorter than 32"):
        load_settings({"IGTOKEN_SESSION_SECRET": "too short"})
