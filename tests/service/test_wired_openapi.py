"""schemathesis against the wired service's OpenAPI document: no input makes it answer 5xx."""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from igtoken.app.runtime import Runtime, allow_redirect_uris
from igtoken.config.settings import Settings
from igtoken.core.endpoints import Endpoints
from igtoken.emulator import create_app as create_emulator
from igtoken.emulator import demo_world
from igtoken.service.assembly import build_app
from igtoken.service.config import RateLimit, RateLimits

PUBLIC = "http://service.test"
UNLIMITED = RateLimit(per_minute=1_000_000, burst=1_000_000)
KEY: dict[str, str] = {}


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    mp = pytest.MonkeyPatch()
    mp.setenv("XDG_DATA_HOME", str(home / "data"))
    mp.setenv("XDG_CONFIG_HOME", str(home / "config"))
    emulator = create_emulator(demo_world())
    allow_redirect_uris(emulator, [f"{PUBLIC}/oauth/callback"])
    now = emulator.state.world.clock.now()
    runtime = Runtime(Settings(sandbox=True))
    runtime.ensure_sandbox_apps(now=now, redirect_uris=[f"{PUBLIC}/oauth/callback"])
    _, key = runtime.vault.api_keys.create("schemathesis", now=now)
    KEY["value"] = key.reveal()
    app = build_app(
        runtime,
        public_url=PUBLIC,
        endpoints=Endpoints.emulator("http://emulator.test"),
        sandbox=True,
        worker=False,
        http=httpx.AsyncClient(transport=httpx.ASGITransport(app=emulator), base_url="http://emulator.test"),
        rate_limits=RateLimits(signin=UNLIMITED, webhooks=UNLIMITED, public=UNLIMITED, api=UNLIMITED),
    )
    yield schemathesis.openapi.from_asgi("/api/openapi.json", app)
    runtime.vault.close()
    mp.undo()


def test_no_server_errors(api_schema):
    """Any request the schema allows to the /v1 and /meta operations gets a non-5xx answer."""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    tested = [op for op in operations if op.path.startswith(("/v1/", "/meta/"))]
    assert len(tested) >= 8
    for operation in tested:
        _fuzz(operation.as_strategy())


def _fuzz(strategy):
    @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(data=st.data())
    def check(data):
        case = data.draw(strategy)
        case.call_and_validate(
            headers={"Authorization": f"Bearer {KEY['value']}"}, checks=[not_a_server_error]
        )

    check()
